package seeder

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string // substring; "" = valid
	}{
		{"minimal folder", `{"origin":"hls/master.m3u8","publicUrl":"https://e.x/live/master.m3u8","trackers":["ws://127.0.0.1:8000"]}`, ""},
		{"minimal url", `{"origin":"http://127.0.0.1:8080/master.m3u8","trackers":["wss://t.example"],"iceServers":[{"urls":"stun:s.example:3478"},{"urls":["turn:t.example"],"username":"u","credential":"p"}],"webtorrent":{"anything":1}}`, ""},
		{"no origin", `{"trackers":["ws://a"]}`, "seeder.origin"},
		{"folder without publicUrl", `{"origin":"x/master.m3u8","trackers":["ws://a"]}`, "seeder.publicUrl"},
		{"bad tracker", `{"origin":"http://o/m.m3u8","trackers":["http://a"]}`, "seeder.trackers[0]"},
		{"no trackers", `{"origin":"http://o/m.m3u8"}`, "seeder.trackers"},
		{"maxPeers", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"maxPeers":-1}`, "seeder.maxPeers"},
		{"maxPeers type", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"maxPeers":"x"}`, "seeder.maxPeers"},
		{"udpPort", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"udpPort":70000}`, "seeder.udpPort"},
		{"public ip", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"publicIps":["1.2.3"]}`, "seeder.publicIps[0]"},
		{"ice url", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"iceServers":[{"urls":"http://x"}]}`, "seeder.iceServers[0].urls"},
		{"ice type", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"iceServers":[{"urls":5}]}`, "seeder.iceServers[0].urls"},
		{"all generations off", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"generations":{"pml23":false,"pml22":false,"pml06":false}}`, "seeder.generations"},
		{"upload cap", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"uploadMbps":-1}`, "seeder.uploadMbps"},
		{"idle", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"idleTimeoutSeconds":1}`, "seeder.idleTimeoutSeconds"},
		{"window", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"window":5000}`, "seeder.window"},
		{"httpAddr", `{"origin":"http://o/m.m3u8","trackers":["ws://a"],"httpAddr":"nope"}`, "seeder.httpAddr"},
		{"origin scheme", `{"origin":"ftp://o/m.m3u8","trackers":["ws://a"]}`, "seeder.origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sections := map[string]json.RawMessage{"seeder": json.RawMessage(tc.json)}
			var unknown []string
			c, err := DecodeConfig(sections, func(k string) { unknown = append(unknown, k) })
			if _, left := sections["seeder"]; left {
				t.Error("seeder key not taken out of the sections")
			}
			if tc.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("err = %v", err)
				}
				if c.MaxPeers != DefaultMaxPeers || !*c.Generations.PML06 || c.Window != DefaultWindow {
					t.Errorf("defaults not applied: %+v", c)
				}
				if len(unknown) != 0 {
					t.Errorf("unknown keys %v", unknown)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to start with %q", err, tc.wantErr)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		c, err := DecodeConfig(map[string]json.RawMessage{}, nil)
		if c != nil || err != nil {
			t.Fatalf("got %v, %v", c, err)
		}
	})
	t.Run("unknown key reported", func(t *testing.T) {
		var unknown []string
		_, err := DecodeConfig(map[string]json.RawMessage{"seeder": json.RawMessage(`{"origin":"http://o/m.m3u8","trackers":["ws://a"],"bogus":1}`)},
			func(k string) { unknown = append(unknown, k) })
		if err != nil || len(unknown) != 1 || unknown[0] != "seeder.bogus" {
			t.Fatalf("unknown = %v, err = %v", unknown, err)
		}
	})
	t.Run("webtorrent kept raw", func(t *testing.T) {
		c, err := DecodeConfig(map[string]json.RawMessage{"seeder": json.RawMessage(`{"origin":"http://o/m.m3u8","trackers":["ws://a"],"webtorrent":{"x":[1,2]}}`)}, nil)
		if err != nil || string(c.WebTorrent) != `{"x":[1,2]}` {
			t.Fatalf("webtorrent = %s, %v", c.WebTorrent, err)
		}
	})
}
