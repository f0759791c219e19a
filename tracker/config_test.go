package tracker

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"swarmcast/internal/jsonconf"
)

// sectionsOf splits a config.json text into its top-level sections, as main does.
func sectionsOf(t *testing.T, text string) map[string]json.RawMessage {
	t.Helper()
	var s map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("bad test JSON %s: %v", text, err)
	}
	return s
}

func TestDecodeConfigDefaults(t *testing.T) {
	for _, text := range []string{`{}`, `{"servers":null,"tracker":null,"websocketsAccess":null}`, `{"servers":[{}],"tracker":{},"websocketsAccess":{}}`} {
		t.Run(text, func(t *testing.T) {
			var unknown []string
			got, err := DecodeConfig(sectionsOf(t, text), func(k string) { unknown = append(unknown, k) })
			if err != nil {
				t.Fatal(err)
			}
			if len(unknown) > 0 {
				t.Errorf("unknown keys reported: %v", unknown)
			}
			want := DefaultConfig()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			// wt-tracker's documented defaults, spelled out.
			l := got.Servers[0]
			checks := []struct {
				key       string
				got, want any
			}{
				{"servers", len(got.Servers), 1},
				{"server.port", l.Server.Port, 8000},
				{"server.host", l.Server.Host, "0.0.0.0"},
				{"websockets.path", l.WebSockets.Path, "/*"},
				{"websockets.maxPayloadLength", l.WebSockets.MaxPayloadLength, 65536},
				{"websockets.idleTimeout", l.WebSockets.IdleTimeout, 240},
				{"websockets.compression", l.WebSockets.Compression, 1},
				{"websockets.maxConnections", l.WebSockets.MaxConnections, 0},
				{"tracker.maxOffers", got.Hub.MaxOffers, 20},
				{"tracker.announceInterval", got.Hub.AnnounceInterval, 20},
				{"websocketsAccess.denyEmptyOrigin", got.Access.DenyEmptyOrigin, false},
				{"websocketsAccess.allowOrigins", got.Access.AllowOrigins == nil, true},
				{"stats.perInfoHash", got.Stats.PerInfoHash, true},
				{"metrics.enabled", got.Metrics.Enabled, true},
				{"shutdownTimeout", got.ShutdownTimeout, 10},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
				}
			}
		})
	}
}

func TestDecodeConfigFull(t *testing.T) {
	// wt-tracker's sample config with every key set, one unknown key per level, and a
	// second listener that keeps its defaults except the port.
	text := `{
	  "servers": [
	    {"server": {"port": 8443, "host": "::", "key_file_name": "k.pem", "cert_file_name": "c.pem",
	                "passphrase": "1234", "dh_params_file_name": "p.dh", "ca_file_name": "ca.pem",
	                "ssl_ciphers": "ECDHE-RSA-AES128-GCM-SHA256", "ssl_prefer_low_memory_usage": true,
	                "extraServerKey": 1},
	     "websockets": {"path": "/announce", "maxPayloadLength": 1000, "idleTimeout": 30,
	                    "compression": 0, "maxConnections": 5000, "sendQueueLength": 8, "writeTimeout": 3}},
	    {"server": {"port": 8001}, "extraListenerKey": true}
	  ],
	  "tracker": {"maxOffers": 5, "announceInterval": 120, "expiry": "connection", "extraTrackerKey": "x"},
	  "websocketsAccess": {"allowOrigins": ["https://a.example", ""], "denyEmptyOrigin": true},
	  "shutdownTimeout": 3, "tlsReloadInterval": 0,
	  "stats": {"perInfoHash": false}, "metrics": {"enabled": false},
	  "hls": {"left": "for another package"}
	}`
	sections := sectionsOf(t, text)
	var unknown []string
	got, err := DecodeConfig(sections, func(k string) { unknown = append(unknown, k) })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Servers: []ListenerConfig{
			{
				Server: ServerOptions{Port: 8443, Host: "::", KeyFile: "k.pem", CertFile: "c.pem", Passphrase: "1234",
					DHParamsFile: "p.dh", CAFile: "ca.pem", Ciphers: "ECDHE-RSA-AES128-GCM-SHA256", PreferLowMemory: true},
				WebSockets: WebSocketOptions{Path: "/announce", MaxPayloadLength: 1000, IdleTimeout: 30, Compression: 0,
					MaxConnections: 5000, SendQueueLength: 8, WriteTimeout: 3, Transport: TransportAuto},
			},
			func() ListenerConfig { l := DefaultListener(); l.Server.Port = 8001; return l }(),
		},
		Hub:               HubConfig{MaxOffers: 5, AnnounceInterval: 120, Expiry: ExpiryConnection},
		Access:            AccessConfig{AllowOrigins: []string{"https://a.example", ""}, DenyEmptyOrigin: true},
		ShutdownTimeout:   3,
		TLSReloadInterval: 0,
		Stats:             StatsConfig{PerInfoHash: false},
		Metrics:           MetricsConfig{Enabled: false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	wantUnknown := []string{"servers[0].server.extraServerKey", "servers[1].extraListenerKey", "tracker.extraTrackerKey"}
	slices.Sort(unknown)
	if !slices.Equal(unknown, wantUnknown) {
		t.Errorf("unknown keys = %q, want %q (once each)", unknown, wantUnknown)
	}
	var left []string
	for k := range sections {
		left = append(left, k)
	}
	if !slices.Equal(left, []string{"hls"}) {
		t.Errorf("sections left for other packages = %v, want [hls]", left)
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	tests := []struct {
		name, text, key string
	}{
		{"servers not an array", `{"servers":{}}`, "servers"},
		{"servers empty", `{"servers":[]}`, "servers"},
		{"server entry not an object", `{"servers":[1]}`, "servers[0]"},
		{"server entry null", `{"servers":[{},null]}`, "servers[1]"},
		{"port string", `{"servers":[{"server":{"port":"8000"}}]}`, "servers[0].server.port"},
		{"port fraction", `{"servers":[{"server":{"port":80.5}}]}`, "servers[0].server.port"},
		{"port negative", `{"servers":[{"server":{"port":-1}}]}`, "servers[0].server.port"},
		{"port too big", `{"servers":[{"server":{"port":70000}}]}`, "servers[0].server.port"},
		{"host number", `{"servers":[{"server":{"host":1}}]}`, "servers[0].server.host"},
		{"key without cert", `{"servers":[{"server":{"key_file_name":"k.pem"}}]}`, "servers[0].server.cert_file_name"},
		{"cert without key", `{"servers":[{"server":{"cert_file_name":"c.pem"}}]}`, "servers[0].server.key_file_name"},
		{"passphrase number", `{"servers":[{"server":{"passphrase":1234}}]}`, "servers[0].server.passphrase"},
		{"low memory string", `{"servers":[{"server":{"ssl_prefer_low_memory_usage":"yes"}}]}`, "servers[0].server.ssl_prefer_low_memory_usage"},
		{"path relative", `{"servers":[{"websockets":{"path":"announce"}}]}`, "servers[0].websockets.path"},
		{"path inner star", `{"servers":[{"websockets":{"path":"/a*/b"}}]}`, "servers[0].websockets.path"},
		{"path empty segment", `{"servers":[{"websockets":{"path":"//*"}}]}`, "servers[0].websockets.path"},
		{"payload zero", `{"servers":[{"websockets":{"maxPayloadLength":0}}]}`, "servers[0].websockets.maxPayloadLength"},
		{"payload string", `{"servers":[{"websockets":{"maxPayloadLength":"64k"}}]}`, "servers[0].websockets.maxPayloadLength"},
		{"idle negative", `{"servers":[{},{"websockets":{"idleTimeout":-5}}]}`, "servers[1].websockets.idleTimeout"},
		{"compression negative", `{"servers":[{"websockets":{"compression":-1}}]}`, "servers[0].websockets.compression"},
		{"compression bool", `{"servers":[{"websockets":{"compression":true}}]}`, "servers[0].websockets.compression"},
		{"maxConnections negative", `{"servers":[{"websockets":{"maxConnections":-1}}]}`, "servers[0].websockets.maxConnections"},
		{"sendQueueLength zero", `{"servers":[{"websockets":{"sendQueueLength":0}}]}`, "servers[0].websockets.sendQueueLength"},
		{"writeTimeout zero", `{"servers":[{"websockets":{"writeTimeout":0}}]}`, "servers[0].websockets.writeTimeout"},
		{"transport unknown", `{"servers":[{"websockets":{"transport":"uring"}}]}`, "servers[0].websockets.transport"},
		{"transport epoll with TLS", `{"servers":[{"server":{"key_file_name":"k","cert_file_name":"c"},"websockets":{"transport":"epoll"}}]}`, "servers[0].websockets.transport"},
		{"tracker not an object", `{"tracker":[]}`, "tracker"},
		{"maxOffers string", `{"tracker":{"maxOffers":"20"}}`, "tracker.maxOffers"},
		{"maxOffers negative", `{"tracker":{"maxOffers":-1}}`, "tracker.maxOffers"},
		{"expiry unknown", `{"tracker":{"expiry":"never"}}`, "tracker.expiry"},
		{"announceInterval string", `{"tracker":{"announceInterval":"120"}}`, "tracker.announceInterval"},
		{"announceInterval negative", `{"tracker":{"announceInterval":-1}}`, "tracker.announceInterval"},
		{"access not an object", `{"websocketsAccess":true}`, "websocketsAccess"},
		{"allowOrigins string", `{"websocketsAccess":{"allowOrigins":"https://a"}}`, "websocketsAccess.allowOrigins"},
		{"denyOrigins of numbers", `{"websocketsAccess":{"denyOrigins":[1]}}`, "websocketsAccess.denyOrigins[0]"},
		{"allow and deny", `{"websocketsAccess":{"allowOrigins":[],"denyOrigins":[]}}`, "websocketsAccess"},
		{"denyEmptyOrigin string", `{"websocketsAccess":{"denyEmptyOrigin":"true"}}`, "websocketsAccess.denyEmptyOrigin"},
		{"shutdownTimeout negative", `{"shutdownTimeout":-1}`, "shutdownTimeout"},
		{"shutdownTimeout string", `{"shutdownTimeout":"10s"}`, "shutdownTimeout"},
		{"tlsReloadInterval negative", `{"tlsReloadInterval":-1}`, "tlsReloadInterval"},
		{"stats.perInfoHash string", `{"stats":{"perInfoHash":"no"}}`, "stats.perInfoHash"},
		{"metrics not an object", `{"metrics":1}`, "metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeConfig(sectionsOf(t, tt.text), nil)
			var je *jsonconf.Error
			if !errors.As(err, &je) {
				t.Fatalf("err = %v, want a *jsonconf.Error naming %q", err, tt.key)
			}
			if je.Key != tt.key {
				t.Errorf("error %q names key %q, want %q", err, je.Key, tt.key)
			}
			if !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("message %q does not start with the key", err)
			}
		})
	}
}

func TestPathPattern(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		nomatch []string
	}{
		{"/*", []string{"/", "/a", "/a/b/", "/stats.json"}, nil},
		{"/", []string{"/"}, []string{"/a", "//"}},
		{"/announce", []string{"/announce"}, []string{"/", "/announce/", "/announce/x", "/announcer", "/x/announce"}},
		{"/ws/*", []string{"/ws", "/ws/", "/ws/a", "/ws/a/b"}, []string{"/", "/wsa", "/a/ws"}},
		{"/t/:id/ws", []string{"/t/1/ws", "/t/abc/ws"}, []string{"/t//ws", "/t/1/ws/x", "/t/1"}},
		{"/t/:id", []string{"/t/1"}, []string{"/t/", "/t", "/t/1/2"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := compilePath(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.match {
				if !p.match(s) {
					t.Errorf("%q does not match %q", tt.pattern, s)
				}
			}
			for _, s := range tt.nomatch {
				if p.match(s) {
					t.Errorf("%q matches %q", tt.pattern, s)
				}
			}
		})
	}
}
