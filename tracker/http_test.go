package tracker

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestHTTPRoutes(t *testing.T) {
	tests := []struct {
		name        string
		indexHTML   string // "" = no ./index.html
		mountRoot   bool
		method      string
		path        string
		wantStatus  int
		wantBody    string // exact, unless wantPrefix
		wantPrefix  bool
		contentType string
	}{
		{name: "404 body", method: "GET", path: "/nope", wantStatus: 404, wantBody: "404 Not Found"},
		{name: "root without index.html", method: "GET", path: "/", wantStatus: 404, wantBody: "404 Not Found"},
		{name: "root with index.html", indexHTML: "<h1>hi</h1>", method: "GET", path: "/", wantStatus: 200, wantBody: "<h1>hi</h1>", contentType: "text/html; charset=utf-8"},
		{name: "root from a mounted handler", mountRoot: true, method: "GET", path: "/", wantStatus: 200, wantBody: "mounted root"},
		{name: "index.html wins over a mounted root", indexHTML: "page", mountRoot: true, method: "GET", path: "/", wantStatus: 200, wantBody: "page"},
		{name: "POST / is 404", indexHTML: "page", method: "POST", path: "/", wantStatus: 404, wantBody: "404 Not Found"},
		{name: "stats.json", method: "GET", path: "/stats.json", wantStatus: 200, wantBody: `{"torrentsCount":0,"peersCount":0,"servers":[{"server":"127.0.0.1:0","webSocketsCount":0}],"memory":{"rss":`, wantPrefix: true, contentType: "application/json"},
		{name: "POST stats.json is 404", method: "POST", path: "/stats.json", wantStatus: 404, wantBody: "404 Not Found"},
		{name: "stats.json query ignored", method: "GET", path: "/stats.json?x=1", wantStatus: 200, wantBody: `{"torrentsCount":0`, wantPrefix: true},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200, wantBody: "# HELP", wantPrefix: true},
		{name: "mounted prefix", method: "GET", path: "/hls/live.m3u8", wantStatus: 200, wantBody: "hls /hls/live.m3u8"},
		{name: "plain GET on the ws path falls through", method: "GET", path: "/announce", wantStatus: 404, wantBody: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.indexHTML != "" {
				if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(tt.indexHTML), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir) // index.html is read from the working directory, like wt-tracker
			cfg := testConfig(nil)
			checkNoLeaks(t)
			srv, err := New(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv.Handle("/hls/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("hls " + r.URL.Path))
			}))
			if tt.mountRoot {
				srv.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write([]byte("mounted root"))
				}))
			}
			ts := runServer(t, srv)
			status, body, ctype := httpGet(t, tt.method, ts.httpURL(tt.path))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if tt.wantPrefix && !strings.HasPrefix(body, tt.wantBody) || !tt.wantPrefix && body != tt.wantBody {
				t.Errorf("body = %.200q, want %q (prefix: %v)", body, tt.wantBody, tt.wantPrefix)
			}
			if tt.contentType != "" && ctype != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ctype, tt.contentType)
			}
		})
	}
}

// runServer runs an already created Server until the test ends.
func runServer(t *testing.T, srv *Server) *testServer {
	t.Helper()
	ctx, cancel := t.Context(), func() {}
	ts := &testServer{Server: srv, cancel: cancel, runErr: make(chan error, 1)}
	go func() { ts.runErr <- srv.Run(ctx) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-ts.runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ts
}

func TestHandleConflictDoesNotPanic(t *testing.T) {
	srv, err := New(testConfig(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	srv.Handle("/x/", h)
	srv.Handle("/x/", h)   // duplicate: logged, ignored
	srv.Handle("bad [", h) // invalid: logged, ignored
	srv.Handle("/y/", nil) // nil handler: logged, ignored
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startServer(t, testConfig(nil))
	c, _ := dial(t, nil, ts.url(0, "/"), nil)
	roundTrip(t, c, announceFrame)
	c.Close()
	eventually(t, "the close to be counted", func() bool { return ts.closes(ReasonClientClosed) == 1 })
	_, body, _ := httpGet(t, "GET", ts.httpURL("/metrics"))
	for _, want := range []string{
		`swarmcast_tracker_ws_connections{listener="127.0.0.1:0"} 0`,
		`swarmcast_tracker_ws_accepted_total{listener="127.0.0.1:0"} 1`,
		`swarmcast_tracker_ws_closes_total{reason="client_closed"} 1`,
		`swarmcast_tracker_ws_closes_total{reason="slow_consumer"} 0`,
		`swarmcast_tracker_ws_received_messages_total 1`,
		`swarmcast_tracker_ws_received_bytes_total ` + strconvItoa(len(announceFrame)),
		`swarmcast_tracker_ws_sent_messages_total 1`,
		`swarmcast_tracker_ws_sent_bytes_total ` + strconvItoa(len(announceReply)),
		`swarmcast_tracker_ws_rejected_total{reason="origin"} 0`,
		`swarmcast_tracker_swarms `, // the hub's metrics share the registry
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	off := startServer(t, testConfig(func(c *Config) { c.Metrics.Enabled = false }))
	if status, _, _ := httpGet(t, "GET", off.httpURL("/metrics")); status != 404 {
		t.Errorf("/metrics with metrics.enabled=false: status %d, want 404", status)
	}
}

func strconvItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestStatsJSON(t *testing.T) {
	for _, perInfoHash := range []bool{true, false} {
		t.Run(map[bool]string{true: "perInfoHash", false: "perInfoHash off"}[perInfoHash], func(t *testing.T) {
			ts := startServer(t, testConfig(func(c *Config) {
				c.Stats.PerInfoHash = perInfoHash
				second := c.Servers[0]
				c.Servers = append(c.Servers, second)
			}))
			ts.AddStats("seeder", func() any { return map[string]int{"uploaded": 7} })
			ts.AddStats("peersCount", func() any { return "must not replace a wt-tracker key" })
			ts.AddStats("broken", func() any { panic("boom") })
			a, _ := dial(t, nil, ts.url(0, "/"), nil)
			b, _ := dial(t, nil, ts.url(1, "/"), nil)
			roundTrip(t, a, announceFrame)
			roundTrip(t, b, strings.Replace(announceFrame, "aaaaaaaaaaaa", "bbbbbbbbbbbb", 1))
			_, body, _ := httpGet(t, "GET", ts.httpURL("/stats.json"))

			// The exact wt-tracker layout, key order included, with memory numbers masked.
			masked := regexp.MustCompile(`"(rss|heapTotal|heapUsed|external)":\d+`).ReplaceAllString(body, `"$1":N`)
			want := `{"torrentsCount":1,"peersCount":2,` +
				`"servers":[{"server":"127.0.0.1:0","webSocketsCount":1},{"server":"127.0.0.1:0","webSocketsCount":1}],` +
				`"memory":{"rss":N,"heapTotal":N,"heapUsed":N,"external":N,"arrayBuffers":0}`
			if perInfoHash {
				// hex of the 20 ASCII bytes "abcdefghij0123456789"
				want += `,"peersCountPerInfoHashPerTracker":[{"totalPeers":2,"6162636465666768696a30313233343536373839":2}]`
			}
			want += `,"seeder":{"uploaded":7},"broken":null}` + "\n"
			if masked != want {
				t.Errorf("stats.json =\n%s\nwant\n%s", masked, want)
			}
			var mem struct {
				Memory map[string]float64 `json:"memory"`
			}
			if err := json.Unmarshal([]byte(body), &mem); err != nil {
				t.Fatal(err)
			}
			if mem.Memory["rss"] < 1<<20 || mem.Memory["heapUsed"] <= 0 || mem.Memory["heapTotal"] < mem.Memory["heapUsed"] {
				t.Errorf("implausible memory numbers: %v", mem.Memory)
			}
		})
	}
}

func TestOriginPolicy(t *testing.T) {
	tests := []struct {
		name   string
		access AccessConfig
		allow  []string
		deny   []string
	}{
		{"no rules", AccessConfig{}, []string{"", "https://a", "null"}, nil},
		{"deny empty", AccessConfig{DenyEmptyOrigin: true}, []string{"https://a"}, []string{""}},
		{"allow list", AccessConfig{AllowOrigins: []string{"https://a"}}, []string{"https://a"}, []string{"", "https://b", "https://a/", "HTTPS://A"}},
		{"allow list admits empty", AccessConfig{AllowOrigins: []string{"https://a", ""}}, []string{"https://a", ""}, []string{"https://b"}},
		{"allow list admits empty but denyEmpty wins", AccessConfig{AllowOrigins: []string{""}, DenyEmptyOrigin: true}, nil, []string{"", "https://a"}},
		{"empty allow list denies all", AccessConfig{AllowOrigins: []string{}}, nil, []string{"", "https://a"}},
		{"deny list", AccessConfig{DenyOrigins: []string{"https://evil"}}, []string{"", "https://a"}, []string{"https://evil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newOriginPolicy(tt.access)
			for _, o := range tt.allow {
				if !p.allowed(o) {
					t.Errorf("origin %q denied, want allowed", o)
				}
			}
			for _, o := range tt.deny {
				if p.allowed(o) {
					t.Errorf("origin %q allowed, want denied", o)
				}
			}
		})
	}
}

func TestOriginCheckedAtUpgrade(t *testing.T) {
	ts := startServer(t, testConfig(func(c *Config) {
		c.Access = AccessConfig{AllowOrigins: []string{"https://good.example"}}
	}))
	if got := dialStatus(t, ts.url(0, "/"), http.Header{"Origin": {"https://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("denied origin: status %d, want 403", got)
	}
	if got := dialStatus(t, ts.url(0, "/"), nil); got != http.StatusForbidden {
		t.Errorf("no origin with an allow list: status %d, want 403", got)
	}
	c, _ := dial(t, nil, ts.url(0, "/"), http.Header{"Origin": {"https://good.example"}})
	if got := roundTrip(t, c, announceFrame); got != announceReply {
		t.Errorf("allowed origin: reply %s", got)
	}
}

// FuzzPathPattern feeds arbitrary patterns and request paths to the websockets.path
// matcher: it must never panic, an exact pattern matches only itself, and "/prefix/*"
// matches exactly the paths equal to or below the prefix.
func FuzzPathPattern(f *testing.F) {
	f.Add("/*", "/announce")
	f.Add("/ws/*", "/ws/x")
	f.Add("/t/:id/ws", "/t/1/ws")
	f.Add("/announce", "/announce/")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := compilePath(pattern)
		if err != nil {
			return
		}
		got := p.match(path)
		if !strings.ContainsAny(pattern, "*:") && got != (path == pattern) {
			t.Errorf("exact pattern %q vs path %q: match = %v", pattern, path, got)
		}
		if prefix, ok := strings.CutSuffix(pattern, "/*"); ok && !strings.ContainsAny(prefix, "*:") {
			want := strings.HasPrefix(path, "/") && (path == prefix || strings.HasPrefix(path, prefix+"/"))
			if got != want {
				t.Errorf("pattern %q vs path %q: match = %v, want %v", pattern, path, got, want)
			}
		}
	})
}
