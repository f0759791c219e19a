// Package loadtest is a load generator for WebTorrent (wt-tracker compatible) trackers.
//
// It opens many WebSocket connections to a tracker on the loopback interface and drives
// them with one of two kinds of profile:
//
//   - open loop (presets light, mid, heavy): every connection announces every Interval with
//     Offers offers carrying a realistic ~1.3 KB SDP and numwant Offers, and answers every
//     offer the tracker relays to it; idle: every connection announces once, then stays
//     silent (for memory per idle connection);
//   - closed loop (preset closed), in the style of aquatic_ws_load_test: each connection
//     sends one message and reads one (plus whatever arrived in the same read), forever;
//     it answers when the message it read was an offer and otherwise announces to a random
//     swarm with 10 offers and null answer/to_peer_id/offer_id fields.
//
// Over a steady window (after the ramp and a warm-up) it measures messages per second in
// both directions, the announce→reply round-trip time, offers relayed versus answers
// delivered, errors and closes, its own CPU, and, given the tracker's process id, the
// tracker's CPU per message and RSS growth per connection read from /proc.
//
// The client is deliberately lean so that it costs less than the tracker it measures: a
// hand-written RFC 6455 client, one epoll event loop for all plain connections (a
// goroutine per connection for TLS and the closed loop), frames pre-built once with only
// the 20-byte ids copied in, answers batched into one write per read, and client frames
// masked with the all-zero key (valid, and free to apply). With permessage-deflate
// the constant parts of each frame are compressed once and the ids travel in stored
// deflate blocks, so the tracker still inflates every message but the generator never
// compresses at run time.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Mode is the kind of traffic a profile produces.
type Mode string

// The traffic modes.
const (
	ModeOpen   Mode = "open"   // announce every Interval, answer every offer
	ModeIdle   Mode = "idle"   // announce once, then silence
	ModeClosed Mode = "closed" // send one, read one (aquatic_ws_load_test style)
)

// Limits enforced by Validate, so that a typo cannot start an unbounded load test.
const (
	MaxConns    = 200_000
	MaxOffers   = 100
	MaxDuration = 15 * time.Minute
)

// Config describes one load test. Start from Preset and override fields.
type Config struct {
	// URL is the tracker's WebSocket URL, ws:// or wss://. Only loopback hosts are accepted
	// unless AllowRemote is set.
	URL string
	// AllowRemote permits a non-loopback target. Off by default: a load generator must not
	// hit someone else's server by accident.
	AllowRemote bool

	Profile  string        // preset name, for the report
	Mode     Mode          // open, idle or closed
	Conns    int           // connections to open
	Swarms   int           // distinct info_hashes
	Interval time.Duration // open mode: time between two announces of one connection
	Offers   int           // offers per announce
	Numwant  int           // numwant sent with each announce
	SmallSDP bool          // use a 47-byte SDP (as aquatic_ws_load_test) instead of ~1.3 KB

	Duration time.Duration // length of the measured steady window
	Warmup   time.Duration // time between the last connection and the window
	RampRate int           // new connections per second

	TLS          bool         // use TLS (implied by wss://); the certificate is not verified
	Deflate      bool         // negotiate permessage-deflate and send compressed frames
	SourceAddrs  []netip.Addr // local addresses to dial from, round robin; empty: the kernel picks
	PID          int          // tracker process to sample in /proc; 0: none
	DialTimeout  time.Duration
	ReadBufBytes int // per-connection read buffer (grows for larger frames)

	// Engine picks the client's I/O: "epoll" (one event loop over raw non-blocking
	// sockets; Linux, plain ws://, open and idle modes), "goroutine" (a goroutine per
	// connection on net.Conn; needed for TLS and the closed mode), or "" for the cheapest
	// that applies.
	Engine string
	// Loops is the number of epoll event loops (each one goroutine, connections spread
	// round robin); 0 means GOMAXPROCS. More than one keeps the generator from being
	// starved on a machine where other processes compete for the cores.
	Loops int
}

func (c *Config) loops() int {
	if c.Loops > 0 {
		return c.Loops
	}
	return runtime.GOMAXPROCS(0)
}

// engine resolves Engine.
func (c *Config) engine() string {
	if c.Engine != "" {
		return c.Engine
	}
	if epollAvailable && !c.tlsOn() && c.Mode != ModeClosed {
		return "epoll"
	}
	return "goroutine"
}

func (c *Config) tlsOn() bool { return c.TLS || strings.HasPrefix(c.URL, "wss:") }

// Presets lists the named profiles.
var Presets = []string{"light", "mid", "heavy", "idle", "closed"}

// Preset returns the configuration of a named profile, with URL ws://127.0.0.1:8000/.
func Preset(name string) (Config, error) {
	c := Config{
		URL:          "ws://127.0.0.1:8000/",
		Profile:      name,
		Mode:         ModeOpen,
		Conns:        2000,
		Swarms:       100,
		Interval:     5 * time.Second,
		Offers:       10,
		Numwant:      10,
		Duration:     20 * time.Second,
		Warmup:       5 * time.Second,
		RampRate:     1000,
		DialTimeout:  5 * time.Second,
		ReadBufBytes: 4096,
	}
	switch name {
	case "light":
	case "mid":
		c.Interval = 2 * time.Second
	case "heavy":
		c.Interval = time.Second
	case "idle":
		c.Mode = ModeIdle
		c.Offers, c.Numwant = 0, 0
		c.Duration = 10 * time.Second
	case "closed":
		c.Mode = ModeClosed
		c.Conns = 256
		c.SmallSDP = true
		c.Interval = 0
		c.ReadBufBytes = 64 << 10 // each cycle drains what one read returns
	default:
		return Config{}, fmt.Errorf("unknown profile %q (want one of %s)", name, strings.Join(Presets, ", "))
	}
	return c, nil
}

// FieldError is a Validate error naming the offending field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the configuration. Host names in URL are resolved to check that they
// are loopback addresses.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fieldErr("URL", "%v", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	default:
		return fieldErr("URL", "scheme must be ws or wss, got %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return fieldErr("URL", "no host in %q", c.URL)
	}
	if !c.AllowRemote {
		if err := requireLoopback(u.Hostname()); err != nil {
			return fieldErr("URL", "%v", err)
		}
	}
	switch c.Mode {
	case ModeOpen, ModeIdle, ModeClosed:
	default:
		return fieldErr("Mode", "unknown mode %q", c.Mode)
	}
	if c.Conns < 1 || c.Conns > MaxConns {
		return fieldErr("Conns", "must be between 1 and %d, got %d", MaxConns, c.Conns)
	}
	if c.Swarms < 1 {
		return fieldErr("Swarms", "must be at least 1, got %d", c.Swarms)
	}
	if c.Mode == ModeOpen && c.Interval <= 0 {
		return fieldErr("Interval", "must be positive in open mode, got %v", c.Interval)
	}
	if c.Offers < 0 || c.Offers > MaxOffers {
		return fieldErr("Offers", "must be between 0 and %d, got %d", MaxOffers, c.Offers)
	}
	if c.Mode == ModeClosed && c.Offers < 1 {
		return fieldErr("Offers", "closed mode needs at least one offer")
	}
	if c.Numwant < 0 {
		return fieldErr("Numwant", "must not be negative, got %d", c.Numwant)
	}
	if c.Duration <= 0 {
		return fieldErr("Duration", "must be positive, got %v", c.Duration)
	}
	if c.Warmup < 0 {
		return fieldErr("Warmup", "must not be negative, got %v", c.Warmup)
	}
	if c.Duration+c.Warmup > MaxDuration {
		return fieldErr("Duration", "duration plus warm-up must not exceed %v, got %v", MaxDuration, c.Duration+c.Warmup)
	}
	if c.RampRate < 1 {
		return fieldErr("RampRate", "must be at least 1 connection per second, got %d", c.RampRate)
	}
	if c.DialTimeout <= 0 {
		return fieldErr("DialTimeout", "must be positive, got %v", c.DialTimeout)
	}
	if c.ReadBufBytes < 512 {
		return fieldErr("ReadBufBytes", "must be at least 512, got %d", c.ReadBufBytes)
	}
	for _, a := range c.SourceAddrs {
		if !a.IsValid() {
			return fieldErr("SourceAddrs", "invalid address")
		}
		if !c.AllowRemote && !a.IsLoopback() {
			return fieldErr("SourceAddrs", "%v is not a loopback address", a)
		}
	}
	switch c.Engine {
	case "", "goroutine":
	case "epoll":
		if !epollAvailable {
			return fieldErr("Engine", "epoll needs Linux")
		}
		if c.tlsOn() {
			return fieldErr("Engine", "epoll cannot do TLS; use the goroutine engine")
		}
		if c.Mode == ModeClosed {
			return fieldErr("Engine", "the closed mode runs on the goroutine engine only")
		}
	default:
		return fieldErr("Engine", "unknown engine %q (want epoll or goroutine)", c.Engine)
	}
	if c.Loops < 0 || c.Loops > 256 {
		return fieldErr("Loops", "must be between 0 (GOMAXPROCS) and 256, got %d", c.Loops)
	}
	if c.PID < 0 {
		return fieldErr("PID", "must not be negative, got %d", c.PID)
	}
	return nil
}

// requireLoopback resolves host and fails unless every address is a loopback address.
func requireLoopback(host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.IsLoopback() {
			return fmt.Errorf("host %s is not a loopback address (the load generator only targets 127.0.0.0/8 or ::1)", host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return errors.New("host " + host + " has no addresses")
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("host %s resolves to %v, which is not a loopback address", host, a)
		}
	}
	return nil
}

// ParseSourceAddrs parses a comma-separated list of IP addresses; an item may be a range
// of IPv4 addresses that differ in the last byte, "127.0.0.1-127.0.0.8".
func ParseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, fmt.Errorf("source address %q: %w", item, err)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(hi)
		if err != nil {
			return nil, fmt.Errorf("source address range %q: %w", item, err)
		}
		if !a.Is4() || !b.Is4() {
			return nil, fmt.Errorf("source address range %q: ranges are for IPv4 addresses only", item)
		}
		a4, b4 := a.As4(), b.As4()
		if a4[0] != b4[0] || a4[1] != b4[1] || a4[2] != b4[2] || a4[3] > b4[3] {
			return nil, fmt.Errorf("source address range %q: want two IPv4 addresses differing only in the last byte, low to high", item)
		}
		for x := int(a4[3]); x <= int(b4[3]); x++ {
			a4[3] = byte(x)
			out = append(out, netip.AddrFrom4(a4))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no source addresses")
	}
	return out, nil
}
