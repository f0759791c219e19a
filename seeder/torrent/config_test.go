package torrent

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    func(*Config) // applied to DefaultConfig
		wantErr string        // substring; "" means success
		unknown []string
	}{
		{name: "absent", raw: "", want: func(*Config) {}},
		{name: "empty object", raw: `{}`, want: func(*Config) {}},
		{name: "overrides", raw: `{"trackers":["wss://t.example/announce","ws://10.0.0.1:8000"],"pieceLength":65536,"maxTorrents":10,"maxSegmentBytes":1000000,"webSeed":false,"maxPeersPerTorrent":5,"iceServers":["stun:stun.example:3478"]}`,
			want: func(c *Config) {
				c.Trackers = []string{"wss://t.example/announce", "ws://10.0.0.1:8000"}
				c.PieceLength, c.MaxTorrents, c.MaxSegmentBytes, c.WebSeed, c.MaxPeersPerTorrent = 65536, 10, 1000000, false, 5
				c.ICEServers = []string{"stun:stun.example:3478"}
			}},
		{name: "unknown key reported", raw: `{"maxTorrent":3}`, want: func(*Config) {}, unknown: []string{"seeder.webtorrent.maxTorrent"}},
		{name: "http tracker", raw: `{"trackers":["http://t.example/announce"]}`, wantErr: "seeder.webtorrent.trackers[0]: "},
		{name: "tracker without host", raw: `{"trackers":["ws:///x"]}`, wantErr: "seeder.webtorrent.trackers[0]: "},
		{name: "no trackers", raw: `{"trackers":[]}`, wantErr: "seeder.webtorrent.trackers: "},
		{name: "piece length not a power of two", raw: `{"pieceLength":100000}`, wantErr: "seeder.webtorrent.pieceLength: "},
		{name: "piece length too small", raw: `{"pieceLength":8192}`, wantErr: "seeder.webtorrent.pieceLength: "},
		{name: "max torrents zero", raw: `{"maxTorrents":0}`, wantErr: "seeder.webtorrent.maxTorrents: "},
		{name: "max torrents wrong type", raw: `{"maxTorrents":"many"}`, wantErr: "seeder.webtorrent.maxTorrents: want an integer"},
		{name: "max segment bytes negative", raw: `{"maxSegmentBytes":-1}`, wantErr: "seeder.webtorrent.maxSegmentBytes: "},
		{name: "peers zero", raw: `{"maxPeersPerTorrent":0}`, wantErr: "seeder.webtorrent.maxPeersPerTorrent: "},
		{name: "rotation too short", raw: `{"clientRotation":5}`, wantErr: "seeder.webtorrent.clientRotation: "},
		{name: "rotation off", raw: `{"clientRotation":0}`, want: func(c *Config) { c.ClientRotation = 0 }},
		{name: "bad ice server", raw: `{"iceServers":["http://stun.example"]}`, wantErr: "seeder.webtorrent.iceServers[0]: "},
		{name: "not an object", raw: `[1]`, wantErr: "seeder.webtorrent: want an object"},
		{name: "invalid JSON", raw: `{"maxTorrents":`, wantErr: "seeder.webtorrent: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var unknown []string
			got, err := DecodeConfig([]byte(tt.raw), "seeder.webtorrent", func(k string) { unknown = append(unknown, k) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if !reflect.DeepEqual(unknown, tt.unknown) {
				t.Errorf("unknown keys %q, want %q", unknown, tt.unknown)
			}
		})
	}
}

func TestValidateNamesDefaultPrefix(t *testing.T) {
	c := DefaultConfig()
	c.MaxTorrents = -1
	err := c.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "seeder.webtorrent.maxTorrents: ") {
		t.Fatalf("Validate() = %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if _, err := DecodeConfig(nil, "", nil); err != nil {
		t.Fatalf("DecodeConfig(nil) = %v", err)
	}
}
