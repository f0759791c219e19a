package loadtest

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPresets(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		conns    int
		interval time.Duration
		offers   int
	}{
		{"light", ModeOpen, 2000, 5 * time.Second, 10},
		{"mid", ModeOpen, 2000, 2 * time.Second, 10},
		{"heavy", ModeOpen, 2000, time.Second, 10},
		{"idle", ModeIdle, 2000, 5 * time.Second, 0},
		{"closed", ModeClosed, 256, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Preset(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if c.Mode != tt.mode || c.Conns != tt.conns || c.Interval != tt.interval || c.Offers != tt.offers {
				t.Errorf("got mode %s conns %d interval %v offers %d", c.Mode, c.Conns, c.Interval, c.Offers)
			}
			if c.Swarms != 100 || c.Numwant != c.Offers {
				t.Errorf("swarms %d numwant %d", c.Swarms, c.Numwant)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("preset does not validate: %v", err)
			}
		})
	}
	if _, err := Preset("extreme"); err == nil || !strings.Contains(err.Error(), "light") {
		t.Errorf("unknown preset: err = %v, want a list of presets", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"localhost", func(c *Config) { c.URL = "ws://localhost:8000/" }, ""},
		{"ipv6 loopback", func(c *Config) { c.URL = "wss://[::1]:8443/" }, ""},
		{"other loopback", func(c *Config) { c.URL = "ws://127.3.4.5:1/" }, ""},
		{"remote refused", func(c *Config) { c.URL = "ws://192.0.2.1:8000/" }, "URL"},
		{"remote allowed", func(c *Config) { c.URL = "ws://192.0.2.1:8000/"; c.AllowRemote = true }, ""},
		{"http scheme", func(c *Config) { c.URL = "http://127.0.0.1:8000/" }, "URL"},
		{"no host", func(c *Config) { c.URL = "ws:///x" }, "URL"},
		{"bad url", func(c *Config) { c.URL = "ws://[::1" }, "URL"},
		{"zero conns", func(c *Config) { c.Conns = 0 }, "Conns"},
		{"too many conns", func(c *Config) { c.Conns = MaxConns + 1 }, "Conns"},
		{"zero swarms", func(c *Config) { c.Swarms = 0 }, "Swarms"},
		{"zero interval", func(c *Config) { c.Interval = 0 }, "Interval"},
		{"negative offers", func(c *Config) { c.Offers = -1 }, "Offers"},
		{"too many offers", func(c *Config) { c.Offers = MaxOffers + 1 }, "Offers"},
		{"negative numwant", func(c *Config) { c.Numwant = -1 }, "Numwant"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "Duration"},
		{"too long", func(c *Config) { c.Duration = MaxDuration }, "Duration"},
		{"negative warmup", func(c *Config) { c.Warmup = -time.Second }, "Warmup"},
		{"zero ramp", func(c *Config) { c.RampRate = 0 }, "RampRate"},
		{"remote source", func(c *Config) { c.SourceAddrs = []netip.Addr{netip.MustParseAddr("10.0.0.1")} }, "SourceAddrs"},
		{"loopback sources", func(c *Config) {
			c.SourceAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
		}, ""},
		{"negative pid", func(c *Config) { c.PID = -1 }, "PID"},
		{"unknown engine", func(c *Config) { c.Engine = "uring" }, "Engine"},
		{"epoll with tls", func(c *Config) { c.Engine = "epoll"; c.TLS = true }, "Engine"},
		{"negative loops", func(c *Config) { c.Loops = -1 }, "Loops"},
		{"small buffer", func(c *Config) { c.ReadBufBytes = 100 }, "ReadBufBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Preset("light")
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(&c)
			err = c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError for %s", err, tt.field)
			}
		})
	}
}

func TestClosedNeedsOffersAndGoroutines(t *testing.T) {
	c, _ := Preset("closed")
	c.Offers = 0
	if err := c.Validate(); err == nil {
		t.Error("closed mode without offers validated")
	}
	c, _ = Preset("closed")
	if c.engine() != "goroutine" {
		t.Errorf("closed mode engine %q, want goroutine", c.engine())
	}
	c, _ = Preset("light")
	c.URL = "wss://127.0.0.1:1/"
	if c.engine() != "goroutine" || !c.tlsOn() {
		t.Errorf("wss: engine %q tls %v", c.engine(), c.tlsOn())
	}
}

func TestParseSourceAddrs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"127.0.0.1", []string{"127.0.0.1"}, false},
		{"127.0.0.1, 127.0.0.5", []string{"127.0.0.1", "127.0.0.5"}, false},
		{"127.0.0.2-127.0.0.4,::1", []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "::1"}, false},
		{"127.0.0.9-127.0.0.9", []string{"127.0.0.9"}, false},
		{"127.0.0.4-127.0.0.2", nil, true},
		{"127.0.0.1-127.0.1.2", nil, true},
		{"127.0.0.1-::1", nil, true},
		{"localhost", nil, true},
		{"", nil, true},
		{" , ", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSourceAddrs(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
