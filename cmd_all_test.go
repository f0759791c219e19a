package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"swarmcast/hlsgen"
	"swarmcast/internal/testutil"
	"swarmcast/seeder"
	"swarmcast/tracker"
)

// addrCatcher is a slog handler that writes to the test log and remembers the address of
// every "listening …" record, so a test can find the port a listener on port 0 got.
type addrCatcher struct {
	slog.Handler
	mu    *sync.Mutex
	addrs *[]string
}

func newAddrCatcher(t *testing.T) (*slog.Logger, func() []string) {
	mu := &sync.Mutex{}
	addrs := &[]string{}
	h := addrCatcher{Handler: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}), mu: mu, addrs: addrs}
	return slog.New(h), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), *addrs...)
	}
}

func (h addrCatcher) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "listening ") {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h.mu.Lock()
				*h.addrs = append(*h.addrs, a.Value.String())
				h.mu.Unlock()
			}
			return true
		})
	}
	return h.Handler.Handle(ctx, r)
}

func (h addrCatcher) WithAttrs(as []slog.Attr) slog.Handler {
	return addrCatcher{Handler: h.Handler.WithAttrs(as), mu: h.mu, addrs: h.addrs}
}

func (h addrCatcher) WithGroup(name string) slog.Handler {
	return addrCatcher{Handler: h.Handler.WithGroup(name), mu: h.mu, addrs: h.addrs}
}

// allMarkers are stack frames that only goroutines of a running `swarmcast all` have.
var allMarkers = []string{
	"swarmcast/tracker.", "swarmcast/hlsgen.", "swarmcast/seeder.", "swarmcast/seeder/",
	"swarmcast/analytics.", "main.runAll", "main.(*group)", "net/http.(*conn).serve",
}

// checkNoAllLeaks fails the test when goroutines of runAll's parts outlive it.
func checkNoAllLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var leaked []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "checkNoAllLeaks") {
					continue
				}
				for _, m := range allMarkers {
					if strings.Contains(g, m) {
						leaked = append(leaked, g)
						break
					}
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines outlived runAll, e.g.:\n%s", len(leaked), leaked[0])
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// startAll decodes configJSON, runs runAll with it and returns the base URL of its first
// listener and a function that stops it and returns runAll's error.
func startAll(t *testing.T, configJSON string) (base string, stop func() error) {
	t.Helper()
	cfg := &fileConfig{}
	if err := decodeConfig([]byte(configJSON), cfg, func(msg string) { t.Errorf("config warning: %s", msg) }); err != nil {
		t.Fatalf("decodeConfig: %v", err)
	}
	log, addrs := newAddrCatcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runAll(ctx, &cmdEnv{cfg: cfg, log: log, stdout: io.Discard}) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("runAll did not return within 30 s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("runAll returned early: %v", err)
		default:
		}
		if len(addrs()) == 0 {
			return errors.New("no listener yet")
		}
		return nil
	})
	return "http://" + addrs()[0], stop
}

type response struct {
	code   int
	body   string
	header http.Header
}

func get(t *testing.T, url string) response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return response{body: err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{code: res.StatusCode, body: string(b), header: res.Header}
}

const trackerOnlyConfig = `{
  "servers": [{"server": {"port": 0, "host": "127.0.0.1"}, "websockets": {"path": "/*"}}],
  "tracker": {"maxOffers": 20, "announceInterval": 20},
  "websocketsAccess": {"denyEmptyOrigin": false}
}`

// TestRunAllTrackerOnly: a wt-tracker config.json (no hls, seeder or analytics section) gives
// just the tracker: /stats.json in wt-tracker's shape, and no page, stream or API.
func TestRunAllTrackerOnly(t *testing.T) {
	checkNoAllLeaks(t)
	base, stop := startAll(t, trackerOnlyConfig)

	r := get(t, base+"/stats.json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.body), &st); r.code != 200 || err != nil {
		t.Fatalf("/stats.json: %d %q %v", r.code, r.body, err)
	}
	for _, k := range []string{"torrentsCount", "peersCount", "servers", "memory"} {
		if _, ok := st[k]; !ok {
			t.Errorf("/stats.json lacks %q: %s", k, r.body)
		}
	}
	for _, k := range []string{"seeder", "analytics"} {
		if _, ok := st[k]; ok {
			t.Errorf("/stats.json of a tracker-only config has %q", k)
		}
	}
	for _, p := range []string{"/", "/assets/app.js", "/api/demo", "/api/stats", "/hls/master.m3u8"} {
		if r := get(t, base+p); r.code != 404 || r.body != "404 Not Found" {
			t.Errorf("GET %s: %d %q, want wt-tracker's 404", p, r.code, r.body)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("runAll: %v", err)
	}
}

// allConfig is a small, fast full configuration: the tracker on 127.0.0.1:0, the small test
// card in dir, the seeder on loopback, and analytics.
func allConfig(dir string) string {
	return fmt.Sprintf(`{
  "servers": [{"server": {"port": 0, "host": "127.0.0.1"}, "websockets": {"path": "/*"}}],
  "tracker": {"maxOffers": 20, "announceInterval": 20},
  "hls": {"outputDir": %q, "fps": 10, "segmentSeconds": 1, "listSize": 5, "preset": "ultrafast",
          "audioKbps": 32, "renditions": [{"width": 192, "height": 108, "videoKbps": 150}, {"width": 96, "height": 54, "videoKbps": 60}]},
  "seeder": {"origin": "http://127.0.0.1:8000/hls/master.m3u8", "trackers": ["ws://127.0.0.1:8000/"],
             "swarmId": "cmd-all-test", "udpPort": 0, "loopbackOnly": true, "generations": {"pml06": false}},
  "analytics": {"maxViewers": 10}
}`, dir)
}

// ffmpegPIDs returns the pids of running ffmpeg processes working in dir (hlsgen runs
// ffmpeg in its output folder).
func ffmpegPIDs(t *testing.T, dir string) []string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		cwd, _ := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
		if strings.HasSuffix(args[0], "ffmpeg") && (cwd == dir || bytes.Contains(b, []byte(dir))) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// TestRunAllServesEverything runs every part on one listener and checks each route, the
// seeder's membership in the built-in tracker, the stats and metrics of every part, and that
// cancelling stops everything, ffmpeg included.
func TestRunAllServesEverything(t *testing.T) {
	testutil.RequireTools(t, "ffmpeg")
	checkNoAllLeaks(t)
	dir := t.TempDir()
	base, stop := startAll(t, allConfig(dir))

	// The page, its assets and the demo info.
	if r := get(t, base+"/"); r.code != 200 || !strings.Contains(r.body, "<title>swarmcast") ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /: %d %q", r.code, r.header.Get("Content-Type"))
	}
	for _, p := range []string{"/assets/app.js", "/assets/style.css"} {
		if r := get(t, base+p); r.code != 200 || len(r.body) < 100 {
			t.Errorf("GET %s: %d, %d bytes", p, r.code, len(r.body))
		}
	}
	if r := get(t, base+"/nothing-here"); r.code != 404 || r.body != "404 Not Found" {
		t.Errorf("GET /nothing-here: %d %q, want the tracker's 404", r.code, r.body)
	}

	// The stream, from the origin mounted at /hls/.
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if r := get(t, base+"/hls/"+hlsgen.MasterPlaylist); r.code != 200 || !strings.Contains(r.body, "#EXT-X-STREAM-INF") {
			return fmt.Errorf("master playlist: %d %q", r.code, r.body)
		}
		return nil
	})
	if pids := ffmpegPIDs(t, dir); len(pids) == 0 {
		t.Fatalf("no ffmpeg process writes to %s", dir)
	}

	// The seeder reads the stream, joins 2 generations × 2 renditions on the built-in
	// tracker and tells the page its peer ids.
	var info demoInfo
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		r := get(t, base+demoInfoPath)
		if err := json.Unmarshal([]byte(r.body), &info); r.code != 200 || err != nil {
			return fmt.Errorf("%s: %d %q %v", demoInfoPath, r.code, r.body, err)
		}
		if len(info.SeederPeerIDs) != 4 {
			return fmt.Errorf("seeder peer ids: %v", info.SeederPeerIDs)
		}
		return nil
	})
	if info.Stream != "/hls/master.m3u8" || info.SwarmID != "cmd-all-test" || info.LiveSyncDurationCount != 4 ||
		!info.Seeder || !info.Analytics {
		t.Errorf("demo info: %+v", info)
	}
	for _, id := range info.SeederPeerIDs {
		if len(id) != 20 || !(strings.HasPrefix(id, "-PM0203-") || strings.HasPrefix(id, "-PM0202-")) {
			t.Errorf("seeder peer id %q", id)
		}
	}
	var st struct {
		PeersCount int `json:"peersCount"`
		Seeder     struct {
			Swarms []struct {
				PeerID   string `json:"peerId"`
				Trackers []any  `json:"trackers"`
			} `json:"swarms"`
			UDP []string `json:"udp"`
		} `json:"seeder"`
		Analytics *struct {
			Viewers   int   `json:"viewers"`
			HTTPBytes int64 `json:"httpBytes"`
		} `json:"analytics"`
	}
	testutil.Eventually(t, 15*time.Second, 100*time.Millisecond, func() error {
		r := get(t, base+"/stats.json")
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			return fmt.Errorf("/stats.json: %v %q", err, r.body)
		}
		if st.PeersCount != 4 {
			return fmt.Errorf("peersCount %d, want the seeder's 4 swarm memberships", st.PeersCount)
		}
		return nil
	})
	if len(st.Seeder.Swarms) != 4 || st.Analytics == nil {
		t.Errorf("/stats.json seeder/analytics: %+v", st)
	}
	for _, u := range st.Seeder.UDP {
		if host, _, _ := net.SplitHostPort(u); !net.ParseIP(host).IsLoopback() {
			t.Errorf("seeder UDP address %s is not loopback", u)
		}
	}

	// Analytics: a report is accepted and shows in /api/stats, /stats.json and /metrics.
	rep := `{"viewer":"testviewer1","http":3000,"p2p":1000,"seeder":400,"uploaded":700,"peers":2}`
	res, err := http.Post(base+analyticsPath, "application/json", strings.NewReader(rep))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("POST %s: %d", analyticsPath, res.StatusCode)
	}
	if r := get(t, base+analyticsPath); !strings.Contains(r.body, `"viewers":1`) || !strings.Contains(r.body, `"offloadPercent":25`) {
		t.Errorf("GET %s: %d %q", analyticsPath, r.code, r.body)
	}
	if r := get(t, base+"/stats.json"); !strings.Contains(r.body, `"analytics":{"viewers":1,"httpBytes":3000,"p2pBytes":1000,"seederBytes":400`) {
		t.Errorf("/stats.json analytics: %q", r.body)
	}
	m := get(t, base+"/metrics")
	for _, want := range []string{"swarmcast_analytics_viewers 1", "swarmcast_analytics_offload_ratio 0.25", "swarmcast_seeder_", "swarmcast_hlsgen_", "go_goroutines"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Shutdown: runAll returns without error only once ffmpeg has exited.
	if err := stop(); err != nil {
		t.Errorf("runAll: %v", err)
	}
	if pids := ffmpegPIDs(t, dir); len(pids) != 0 {
		t.Errorf("ffmpeg still running after runAll returned: pids %v", pids)
	}
	if r := get(t, base+"/stats.json"); r.code != 0 {
		t.Errorf("the listener still answers after runAll returned: %d", r.code)
	}
}

// TestRunAllPartFailureStopsOthers: when a part cannot start (here the seeder's UDP port is
// taken), runAll stops the parts already running (ffmpeg), releases the tracker's port and
// returns an error naming the key.
func TestRunAllPartFailureStopsOthers(t *testing.T) {
	testutil.RequireTools(t, "ffmpeg")
	checkNoAllLeaks(t)
	busy, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.LocalAddr().(*net.UDPAddr).Port
	dir := t.TempDir()
	conf := strings.Replace(allConfig(dir), `"udpPort": 0`, fmt.Sprintf(`"udpPort": %d`, port), 1)

	cfg := &fileConfig{}
	if err := decodeConfig([]byte(conf), cfg, func(string) {}); err != nil {
		t.Fatal(err)
	}
	log, addrs := newAddrCatcher(t)
	done := make(chan error, 1)
	go func() { done <- runAll(context.Background(), &cmdEnv{cfg: cfg, log: log, stdout: io.Discard}) }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("runAll kept running although the seeder could not start")
	}
	if err == nil || !strings.Contains(err.Error(), "seeder.udpPort") {
		t.Errorf("runAll: %v, want an error naming seeder.udpPort", err)
	}
	if pids := ffmpegPIDs(t, dir); len(pids) != 0 {
		t.Errorf("ffmpeg still running: %v", pids)
	}
	if a := addrs(); len(a) == 1 {
		if c, err := net.DialTimeout("tcp", a[0], time.Second); err == nil {
			c.Close()
			t.Errorf("the tracker still listens on %s", a[0])
		}
	} else {
		t.Errorf("listeners logged: %v", a)
	}
}

// TestGroupStopsOthersWhenOnePartEnds: a part that fails, or returns while the group is
// running, cancels the others, and Wait reports it by name after all have returned.
func TestGroupStopsOthersWhenOnePartEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		ret  error
		want string
	}{
		{"fails", errors.New("boom"), "broken: boom"},
		{"returns nil early", nil, "broken: stopped unexpectedly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroup(context.Background(), slog.New(slog.DiscardHandler))
			stopped := make(chan struct{})
			g.Go("steady", func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(50 * time.Millisecond) // a slow shutdown Wait must wait for
				close(stopped)
				return nil
			})
			g.Go("broken", func(ctx context.Context) error { return tc.ret })
			err := g.Wait()
			select {
			case <-stopped:
			default:
				t.Error("Wait returned before the steady part stopped")
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("Wait: %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("clean shutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		g := newGroup(ctx, slog.New(slog.DiscardHandler))
		g.Go("a", func(ctx context.Context) error { <-ctx.Done(); return nil })
		g.Go("b", func(ctx context.Context) error { <-ctx.Done(); return nil })
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
}

// TestSeederConfigForAll: how the seeder section is adapted to the built-in tracker and
// test card.
func TestSeederConfigForAll(t *testing.T) {
	base := seeder.DefaultConfig()
	base.Origin = "http://127.0.0.1:8000/hls/master.m3u8"
	base.Trackers = []string{"ws://127.0.0.1:8000/", "ws://localhost:9000/", "wss://tracker.example.com/announce"}
	hls := hlsgen.Config{}
	hls.SetDefaults()
	hls.OutputDir = "/srv/hls"
	plain := tracker.DefaultConfig()
	plain.Servers[0].WebSockets.Path = "/*"
	addrs := []net.Addr{&net.TCPAddr{IP: net.IPv4zero, Port: 8123}}

	c, err := seederConfigForAll(base, plain, addrs, &hls)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "/srv/hls/master.m3u8" || c.PublicURL != "http://127.0.0.1:8123/hls/master.m3u8" {
		t.Errorf("origin %q publicUrl %q", c.Origin, c.PublicURL)
	}
	if got, want := strings.Join(c.Trackers, " "), "ws://127.0.0.1:8123/ wss://tracker.example.com/announce"; got != want {
		t.Errorf("trackers %q, want %q", got, want)
	}
	if base.Trackers[0] != "ws://127.0.0.1:8000/" {
		t.Error("the caller's config was modified")
	}

	// A configured publicUrl is kept; a websockets.path prefix is used for announcing.
	withURL := base
	withURL.PublicURL = "https://video.example.com/hls/master.m3u8"
	prefixed := tracker.DefaultConfig()
	prefixed.Servers[0].WebSockets.Path = "/announce/*"
	c, err = seederConfigForAll(withURL, prefixed, []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}}, &hls)
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != withURL.PublicURL || c.Trackers[0] != "ws://127.0.0.1:9/announce/" {
		t.Errorf("publicUrl %q trackers %v", c.PublicURL, c.Trackers)
	}

	// Without the test card the origin stays as configured.
	c, err = seederConfigForAll(base, plain, addrs, nil)
	if err != nil || c.Origin != base.Origin || c.PublicURL != "" {
		t.Errorf("no hls: origin %q publicUrl %q err %v", c.Origin, c.PublicURL, err)
	}

	// Only TLS listeners: no loopback URL to derive, so publicUrl is required.
	tls := tracker.DefaultConfig()
	tls.Servers[0].Server.KeyFile, tls.Servers[0].Server.CertFile = "k.pem", "c.pem"
	if _, err := seederConfigForAll(base, tls, addrs, &hls); err == nil || !strings.Contains(err.Error(), "seeder.publicUrl") {
		t.Errorf("TLS only: %v, want an error naming seeder.publicUrl", err)
	}
}

// TestRootConfigEnablesEverything: the repository's config.json is a valid configuration
// that enables the test card, the seeder and analytics on wt-tracker's port 8000.
func TestRootConfigEnablesEverything(t *testing.T) {
	var warnings []string
	cfg, err := loadConfig(filepath.Join(testutil.RepoRoot(t), "config.json"), func(w string) { warnings = append(warnings, w) })
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if cfg.HLS == nil || cfg.Seeder == nil || cfg.Analytics == nil {
		t.Fatalf("hls %v seeder %v analytics %v: want all three", cfg.HLS != nil, cfg.Seeder != nil, cfg.Analytics != nil)
	}
	if len(cfg.Tracker.Servers) != 1 || cfg.Tracker.Servers[0].Server.Port != 8000 {
		t.Errorf("servers: %+v", cfg.Tracker.Servers)
	}
	if cfg.Seeder.SwarmID == "" {
		t.Error("the demo seeder should set swarmId, so pages on any host name share its swarms")
	}

	// The same file without swarmcast's sections is a plain wt-tracker config.
	cfg2 := &fileConfig{}
	if err := decodeConfig([]byte(trackerOnlyConfig), cfg2, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if cfg2.HLS != nil || cfg2.Seeder != nil || cfg2.Analytics != nil {
		t.Errorf("tracker-only config enabled extra parts: %+v", cfg2)
	}
}

// TestWebTorrentConfigCheckedAtLoad: the seeder's WebTorrent section is validated when
// config.json is loaded (so -check catches it), with the key named.
func TestWebTorrentConfigCheckedAtLoad(t *testing.T) {
	conf := `{"seeder": {"origin": "http://127.0.0.1:8000/hls/master.m3u8", "trackers": ["ws://127.0.0.1:8000/"],
	  "webtorrent": {"trackers": ["http://127.0.0.1:8000/announce"]}}}`
	err := decodeConfig([]byte(conf), &fileConfig{}, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "seeder.webtorrent.trackers[0]") {
		t.Errorf("decodeConfig: %v, want an error naming seeder.webtorrent.trackers[0]", err)
	}
	var warnings []string
	ok := strings.Replace(conf, "http://127.0.0.1:8000/announce", "ws://127.0.0.1:8000", 1)
	ok = strings.Replace(ok, `"webtorrent": {`, `"webtorrent": {"bogus": 1, `, 1)
	if err := decodeConfig([]byte(ok), &fileConfig{}, func(w string) { warnings = append(warnings, w) }); err != nil {
		t.Errorf("valid webtorrent section: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "seeder.webtorrent.bogus") {
		t.Errorf("warnings %q, want one naming seeder.webtorrent.bogus", warnings)
	}
}
