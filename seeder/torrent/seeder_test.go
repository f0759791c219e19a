package torrent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"swarmcast/internal/testutil"
)

// These tests point the seeder at an announceRecorder on loopback as its tracker. anacrolix
// creates each torrent's WebRTC offer (ICE gathering binds sockets; nothing is sent: no STUN
// server, and the offer is never answered), so no packet leaves loopback.

// recordedConfig is a test configuration announcing to a fresh announceRecorder.
func recordedConfig(t *testing.T) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Trackers = []string{newAnnounceRecorder(t).url}
	return cfg
}

// recordedConfigWith is recordedConfig that also returns the recorder.
func recordedConfigWith(t *testing.T) (Config, *announceRecorder) {
	t.Helper()
	r := newAnnounceRecorder(t)
	cfg := DefaultConfig()
	cfg.Trackers = []string{r.url}
	return cfg, r
}

// lingering reports goroutines that legitimately outlive Close: anacrolix's tracker client
// sleeps a minute after its websocket ends before it notices it was closed.
func lingering(stack string) bool {
	return strings.Contains(stack, "webtorrent.(*TrackerClient).run")
}

// checkGoroutines fails the test if, after cleanup, more goroutines run than before it
// (ignoring the lingering ones).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := countGoroutines()
	t.Cleanup(func() {
		testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
			if n := countGoroutines(); n > before {
				return fmt.Errorf("%d goroutines, %d before the test:\n%s", n, before, goroutineDump())
			}
			return nil
		})
	})
}

// boundsSlack is how far above the settled count TestSeederBounds lets goroutines be
// after the evictions. pion runs about a dozen goroutines per PeerConnection, and the
// offers of the last few announces (including those of just-evicted torrents) live until
// anacrolix's next announce closes them: runs measured +30 to +45. A leak per evicted
// torrent would show at least 36 × 12 ≈ 430.
const boundsSlack = 120

// settledGoroutines waits until the goroutine count stops rising (anacrolix creates each
// torrent's offers, and pion gathers their candidates, a while after Add returns) and
// returns the highest count seen. It gives up rising after 10 s.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	high := countGoroutines()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		n := countGoroutines()
		if n <= high {
			return high
		}
		high = n
	}
	return high
}

func countGoroutines() int {
	n := 0
	for _, g := range strings.Split(goroutineDump(), "\n\n") {
		if !lingering(g) {
			n++
		}
	}
	return n
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

func newTestSeeder(t *testing.T, cfg Config, reg prometheus.Registerer) *Seeder {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg, Options{Logger: logger, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func getIndex(t *testing.T, h http.Handler) Index {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/live/"+IndexFile, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET torrents.json: %d %s", rec.Code, rec.Body)
	}
	var idx Index
	if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
		t.Fatalf("torrents.json: %v\n%s", err, rec.Body)
	}
	return idx
}

// clientHashes returns the info hashes of the torrents in anacrolix's client.
func clientHashes(s *Seeder) map[metainfo.Hash]bool {
	m := make(map[metainfo.Hash]bool)
	for _, t := range s.clientTorrents() {
		m[t.InfoHash()] = true
	}
	return m
}

func TestSeederLifecycle(t *testing.T) {
	checkGoroutines(t)
	cfg, rec := recordedConfigWith(t)
	s := newTestSeeder(t, cfg, nil)
	h := s.Handler()

	segs := []Segment{
		testSegment("720p", "720p/seg_1.ts", testData(50_000, 10)),
		testSegment("720p", "720p/seg_2.ts", testData(70_000, 11)),
		testSegment("480p", "480p/seg_1.ts", testData(30_000, 12)),
	}
	hashes := make(map[string]metainfo.Hash)
	for _, seg := range segs {
		if err := s.Add(seg); err != nil {
			t.Fatal(err)
		}
		b, _ := buildTorrent(seg, s.cfg)
		hashes[seg.URI] = b.infoHash
	}

	// Added on appearance: in torrents.json, in the client, each .torrent served.
	idx := getIndex(t, h)
	if len(idx.Renditions["720p"]) != 2 || len(idx.Renditions["480p"]) != 1 {
		t.Fatalf("torrents.json: %+v", idx)
	}
	for _, seg := range segs {
		e := idx.Renditions[seg.Rendition][seg.URI]
		if e.InfoHash != hashes[seg.URI].HexString() || e.Torrent != e.InfoHash+".torrent" || e.Length != int64(len(seg.Data)) || e.URL != seg.URL {
			t.Fatalf("entry of %s: %+v", seg.URI, e)
		}
		if !strings.HasPrefix(e.Magnet, "magnet:?xt=urn:btih:"+e.InfoHash) {
			t.Fatalf("magnet %q", e.Magnet)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/live/"+e.Torrent, nil))
		mi, err := metainfo.Load(rec.Body)
		if rec.Code != http.StatusOK || err != nil || mi.HashInfoBytes() != hashes[seg.URI] {
			t.Fatalf("GET %s: %d, %v", e.Torrent, rec.Code, err)
		}
		if !clientHashes(s)[hashes[seg.URI]] {
			t.Fatalf("%s not in the client", seg.URI)
		}
	}
	// Each torrent is announced once, with one WebRTC offer and event "started"; anacrolix
	// shares one tracker connection between all torrents.
	for _, seg := range segs {
		testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			a := rec.announced(hashes[seg.URI])
			if len(a) != 1 || a[0].Event != "started" || a[0].Offers != 1 {
				return fmt.Errorf("announces of %s: %+v", seg.URI, a)
			}
			return nil
		})
	}
	if n := rec.connections(); n != 1 {
		t.Fatalf("%d tracker connections, want 1", n)
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		ts := s.Stats().(Stats).Trackers
		if len(ts) != 1 || ts[0].URL != cfg.Trackers[0] || !ts[0].Connected || ts[0].Connects != 1 || ts[0].Announces != uint64(len(segs)) {
			return fmt.Errorf("tracker stats %+v", ts)
		}
		return nil
	})
	// Seeded straight from memory: complete without hashing.
	for _, tor := range s.clientTorrents() {
		if !tor.Complete().Bool() {
			t.Fatalf("torrent %s not complete", tor.InfoHash().HexString())
		}
	}

	// Adding the same segment again is a no-op; other bytes under the same URI a conflict.
	if err := s.Add(segs[0]); err != nil {
		t.Fatalf("re-adding: %v", err)
	}
	if err := s.Add(testSegment("720p", "720p/seg_1.ts", testData(50_000, 99))); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting add: %v", err)
	}

	// Dropped on expiry: gone from the index, the client and the .torrent URL.
	s.Remove("720p/seg_1.ts")
	s.Remove("no/such/segment.ts")
	idx = getIndex(t, h)
	if _, ok := idx.Renditions["720p"]["720p/seg_1.ts"]; ok || len(idx.Renditions["720p"]) != 1 {
		t.Fatalf("after Remove: %+v", idx)
	}
	if clientHashes(s)[hashes["720p/seg_1.ts"]] || len(s.clientTorrents()) != 2 {
		t.Fatalf("client still has the removed torrent")
	}
	resp := httptest.NewRecorder()
	h.ServeHTTP(resp, httptest.NewRequest(http.MethodGet, "/"+hashes["720p/seg_1.ts"].HexString()+".torrent", nil))
	if resp.Code != http.StatusNotFound {
		t.Fatalf("removed .torrent: %d", resp.Code)
	}

	st := s.Stats().(Stats)
	if st.Torrents != 2 || st.Added != 3 || st.Dropped[dropRemoved] != 1 || st.Renditions["720p"] != 1 || st.Renditions["480p"] != 1 {
		t.Fatalf("stats %+v", st)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(s.clientTorrents()) != 0 {
		t.Fatal("torrents left after Close")
	}
	if err := s.Add(segs[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if st := s.Stats().(Stats); st.Torrents != 0 || st.Dropped[dropClosed] != 2 {
		t.Fatalf("stats after Close %+v", st)
	}
}

func TestSeederIdenticalSegmentsShareATorrent(t *testing.T) {
	checkGoroutines(t)
	s := newTestSeeder(t, recordedConfig(t), nil)
	data := testData(40_000, 20)
	a := Segment{Rendition: "a", URI: "a/seg_1.ts", URL: "http://127.0.0.1:8000/a/seg_1.ts", Data: data}
	b := Segment{Rendition: "b", URI: "b/seg_1.ts", URL: "http://127.0.0.1:8000/b/seg_1.ts", Data: data}
	for _, seg := range []Segment{a, b} {
		if err := s.Add(seg); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.clientTorrents()); n != 1 {
		t.Fatalf("%d torrents in the client, want 1 shared", n)
	}
	s.Remove(a.URI)
	if n := len(s.clientTorrents()); n != 1 {
		t.Fatalf("removing one URI dropped the shared torrent (%d left)", n)
	}
	s.Remove(b.URI)
	if n := len(s.clientTorrents()); n != 0 {
		t.Fatalf("%d torrents after removing both URIs", n)
	}
}

// TestSeederBounds: maxTorrents holds however many segments arrive (the oldest are
// evicted), and the client's goroutines stay bounded with it.
func TestSeederBounds(t *testing.T) {
	checkGoroutines(t)
	cfg := recordedConfig(t)
	cfg.MaxTorrents = 4
	reg := prometheus.NewRegistry()
	s := newTestSeeder(t, cfg, reg)

	add := func(i int) {
		t.Helper()
		if err := s.Add(testSegment("720p", fmt.Sprintf("720p/seg_%d.ts", i), testData(20_000, uint64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range cfg.MaxTorrents {
		add(i)
	}
	steady := settledGoroutines(t)
	const total = 40
	for i := cfg.MaxTorrents; i < total; i++ {
		add(i)
	}
	var want []string
	for i := total - cfg.MaxTorrents; i < total; i++ {
		want = append(want, fmt.Sprintf("720p/seg_%d.ts", i))
	}
	if got := s.liveURIs(); strings.Join(got, " ") != strings.Join(sortedCopy(want), " ") {
		t.Fatalf("live %q, want the newest %q", got, want)
	}
	if n := len(s.clientTorrents()); n != cfg.MaxTorrents {
		t.Fatalf("%d torrents in the client, want %d", n, cfg.MaxTorrents)
	}
	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if n := countGoroutines(); n > steady+boundsSlack {
			return fmt.Errorf("%d goroutines with %d torrents live after %d adds, %d with %d added\n%s", n, cfg.MaxTorrents, total, steady, cfg.MaxTorrents, goroutineDump())
		}
		return nil
	})
	if got := counterValue(t, reg, "swarmcast_seeder_webtorrent_dropped_total", "evicted"); got != total-float64(cfg.MaxTorrents) {
		t.Fatalf("evicted counter %v", got)
	}
	if got := counterValue(t, reg, "swarmcast_seeder_webtorrent_torrents", ""); got != float64(cfg.MaxTorrents) {
		t.Fatalf("torrents gauge %v", got)
	}
	if got := counterValue(t, reg, "swarmcast_seeder_webtorrent_added_total", ""); got != total {
		t.Fatalf("added counter %v", got)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// counterValue returns the value of a counter or gauge series (label "reason" = reason when
// not empty) from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if reason != "" && !hasLabel(m, "reason", reason) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s{reason=%q}", name, reason)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestSeederMetrics(t *testing.T) {
	checkGoroutines(t)
	reg := prometheus.NewRegistry()
	s := newTestSeeder(t, recordedConfig(t), reg)
	if err := s.Add(testSegment("720p", "720p/seg_1.ts", testData(10_000, 1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Segment{Rendition: "720p", URI: "x"}); err == nil {
		t.Fatal("empty segment accepted")
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if s.connectedTrackers() != 1 {
			return fmt.Errorf("tracker not connected: %+v", s.trackerStats())
		}
		return nil
	})
	for _, tt := range []struct {
		name, reason string
		want         float64
	}{
		{"swarmcast_seeder_webtorrent_torrents", "", 1},
		{"swarmcast_seeder_webtorrent_added_total", "", 1},
		{"swarmcast_seeder_webtorrent_add_errors_total", "", 1},
		{"swarmcast_seeder_webtorrent_peers", "", 0},
		{"swarmcast_seeder_webtorrent_uploaded_bytes_total", "", 0},
		{"swarmcast_seeder_webtorrent_dropped_total", "removed", 0},
		{"swarmcast_seeder_webtorrent_trackers_connected", "", 1},
		{"swarmcast_seeder_webtorrent_tracker_disconnects_total", "", 0},
	} {
		if got := counterValue(t, reg, tt.name, tt.reason); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A second seeder on the same registry is a clear error, not a panic.
	if _, err := New(testConfig(), Options{Registry: reg}); err == nil || !strings.Contains(err.Error(), "registering") {
		t.Fatalf("second seeder on one registry: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Trackers = []string{"udp://tracker:80"}
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "seeder.webtorrent.trackers[0]") {
		t.Fatalf("New with an udp tracker: %v", err)
	}
}

func TestHandler(t *testing.T) {
	checkGoroutines(t)
	s := newTestSeeder(t, recordedConfig(t), nil)
	seg := testSegment("720p", "720p/seg_1.ts", testData(10_000, 5))
	if err := s.Add(seg); err != nil {
		t.Fatal(err)
	}
	b, _ := buildTorrent(seg, s.cfg)
	torrentPath := "/wt/" + b.infoHash.HexString() + ".torrent"
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		cache              string
		body               []byte
	}{
		{"index", http.MethodGet, "/wt/torrents.json", 200, "application/json", "no-cache", nil},
		{"index at the root", http.MethodGet, "/torrents.json", 200, "application/json", "no-cache", nil},
		{"index HEAD", http.MethodHead, "/wt/torrents.json", 200, "application/json", "no-cache", nil},
		{"torrent", http.MethodGet, torrentPath, 200, "application/x-bittorrent", "public, max-age=86400, immutable", b.torrent},
		{"torrent upper-case hex", http.MethodGet, strings.ToUpper(torrentPath[:len(torrentPath)-8]) + ".torrent", 200, "application/x-bittorrent", "public, max-age=86400, immutable", b.torrent},
		{"unknown torrent", http.MethodGet, "/wt/" + strings.Repeat("ab", 20) + ".torrent", 404, "", "no-store", nil},
		{"bad hex", http.MethodGet, "/wt/" + strings.Repeat("zz", 20) + ".torrent", 404, "", "no-store", nil},
		{"short hash", http.MethodGet, "/wt/abcd.torrent", 404, "", "no-store", nil},
		{"other file", http.MethodGet, "/wt/seg_1.ts", 404, "", "no-store", nil},
		{"preflight", http.MethodOptions, "/wt/torrents.json", 204, "", "no-store", nil},
		{"POST", http.MethodPost, "/wt/torrents.json", 405, "", "no-store", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Origin", "http://player.example")
			s.Handler().ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":   "*",
				"Access-Control-Expose-Headers": "Content-Length, Content-Range, Date, Age, ETag",
				"X-Content-Type-Options":        "nosniff",
			}
			if tt.method == http.MethodOptions {
				want["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
				want["Access-Control-Allow-Headers"] = "Range, Content-Type, If-None-Match, If-Modified-Since"
				want["Access-Control-Max-Age"] = "86400"
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.contentType != "" && res.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.contentType)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if tt.body != nil && !bytes.Equal(rec.Body.Bytes(), tt.body) {
				t.Errorf("body differs from the built .torrent")
			}
		})
	}
	t.Run("unsatisfiable range is not cached", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, torrentPath, nil)
		req.Header.Set("Range", "bytes=100000-")
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestedRangeNotSatisfiable || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("416 expected with no-store: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
		}
	})
	t.Run("index revalidation", func(t *testing.T) {
		get := func(etag string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/wt/torrents.json", nil)
			if etag != "" {
				req.Header.Set("If-None-Match", etag)
			}
			s.Handler().ServeHTTP(rec, req)
			return rec
		}
		etag := get("").Header().Get("ETag")
		if rec := get(etag); etag == "" || rec.Code != http.StatusNotModified {
			t.Fatalf("If-None-Match %q: %d", etag, rec.Code)
		}
		if err := s.Add(testSegment("720p", "720p/seg_9.ts", testData(1000, 9))); err != nil {
			t.Fatal(err)
		}
		if rec := get(etag); rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
			t.Fatalf("after a change: %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
		}
	})
	t.Run("range", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, torrentPath, nil)
		req.Header.Set("Range", "bytes=10-")
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), b.torrent[10:]) {
			t.Fatalf("range request: %d", rec.Code)
		}
	})
}

// TestSeederConcurrentUse drives Add, Remove, the handler and Stats from several goroutines
// (meaningful under -race).
func TestSeederConcurrentUse(t *testing.T) {
	checkGoroutines(t)
	cfg := recordedConfig(t)
	cfg.MaxTorrents = 5
	s := newTestSeeder(t, cfg, prometheus.NewRegistry())
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				uri := fmt.Sprintf("r%d/seg_%d.ts", w, i)
				if err := s.Add(testSegment(fmt.Sprintf("r%d", w), uri, testData(5_000, uint64(w*100+i)))); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					s.Remove(uri)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/torrents.json", nil))
			if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
				t.Errorf("torrents.json: %d", rec.Code)
			}
			_ = s.Stats()
		}
	}()
	wg.Wait()
	if st := s.Stats().(Stats); st.Torrents > cfg.MaxTorrents || st.Torrents != len(s.clientTorrents()) {
		t.Fatalf("stats %+v, client %d torrents", st, len(s.clientTorrents()))
	}
}

// TestSeederTrackerDown: a tracker that cannot be dialled shows as disconnected in Stats and
// the metrics; adding segments still works (anacrolix redials after a minute).
func TestSeederTrackerDown(t *testing.T) {
	checkGoroutines(t)
	cfg := DefaultConfig()
	cfg.Trackers = []string{"ws://127.0.0.1:1"} // nothing listens on port 1
	reg := prometheus.NewRegistry()
	s := newTestSeeder(t, cfg, reg)
	if err := s.Add(testSegment("720p", "720p/seg_1.ts", testData(1000, 1))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		ts := s.Stats().(Stats).Trackers
		if len(ts) != 1 || ts[0].Connected || ts[0].Disconnects != 1 || ts[0].LastError == "" {
			return fmt.Errorf("tracker stats %+v", ts)
		}
		return nil
	})
	if got := counterValue(t, reg, "swarmcast_seeder_webtorrent_tracker_disconnects_total", ""); got != 1 {
		t.Fatalf("disconnects counter %v", got)
	}
	if got := counterValue(t, reg, "swarmcast_seeder_webtorrent_trackers_connected", ""); got != 0 {
		t.Fatalf("connected gauge %v", got)
	}
}

// BenchmarkSeederAddRemove measures one segment's whole life: hashing a 1.5 MB segment,
// adding its torrent (announce with a WebRTC offer to a loopback recorder) and dropping it.
func BenchmarkSeederAddRemove(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Trackers = []string{newAnnounceRecorder(b).url}
	s, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	data := testData(1_500_000, 7)
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		uri := fmt.Sprintf("720p/seg_%d.ts", i)
		i++
		if err := s.Add(testSegment("720p", uri, data)); err != nil {
			b.Fatal(err)
		}
		s.Remove(uri)
	}
}

// TestSeederClientRotation: after clientRotation new segments go to a fresh anacrolix client;
// the old one is closed as soon as its last segment is dropped.
func TestSeederClientRotation(t *testing.T) {
	checkGoroutines(t)
	cfg, rec := recordedConfigWith(t)
	cfg.ClientRotation = 60
	s := newTestSeeder(t, cfg, nil)
	clock := time.Now()
	s.now = func() time.Time { return clock }

	a := testSegment("720p", "720p/seg_1.ts", testData(20_000, 1))
	b := testSegment("720p", "720p/seg_2.ts", testData(20_000, 2))
	c := testSegment("720p", "720p/seg_3.ts", testData(20_000, 3))
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(59 * time.Second)
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats().(Stats); st.Clients != 1 || st.Rotations != 0 {
		t.Fatalf("before clientRotation: %d clients, %d rotations", st.Clients, st.Rotations)
	}
	clock = clock.Add(2 * time.Second)
	if err := s.Add(c); err != nil {
		t.Fatal(err)
	}
	gens := s.generations()
	if len(gens) != 2 || len(gens[0].cl.Torrents()) != 2 || len(gens[1].cl.Torrents()) != 1 {
		t.Fatalf("after clientRotation: %d generations", len(gens))
	}
	// Every torrent is announced, whichever client it lives in.
	for _, seg := range []Segment{a, b, c} {
		bt, _ := buildTorrent(seg, s.cfg)
		testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			if len(rec.announced(bt.infoHash)) != 1 {
				return fmt.Errorf("%s not announced", seg.URI)
			}
			return nil
		})
	}
	s.Remove(a.URI)
	if n := len(s.generations()); n != 2 {
		t.Fatalf("old client closed while it still seeds %s (%d clients)", b.URI, n)
	}
	s.Remove(b.URI)
	gens = s.generations()
	if len(gens) != 1 || len(gens[0].cl.Torrents()) != 1 || len(s.clientTorrents()) != 1 {
		t.Fatalf("old client not closed after its last segment: %d clients", len(gens))
	}
	if idx := getIndex(t, s.Handler()); len(idx.Renditions["720p"]) != 1 {
		t.Fatalf("torrents.json after rotation: %+v", idx)
	}
	if st := s.Stats().(Stats); st.Clients != 1 || st.Rotations != 1 || st.Torrents != 1 {
		t.Fatalf("stats %+v", st)
	}
}
