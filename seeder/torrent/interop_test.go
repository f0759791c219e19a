package torrent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/testutil"
	"swarmcast/tracker"
)

// inProcessTracker, as WT_TRACKER, makes the seeder helper run swarmcast's tracker itself.
const inProcessTracker = "in-process"

// helperEnv makes the test binary run as the seeder process of the interop tests (inside the
// seeding network namespace) instead of running tests.
const helperEnv = "SWARMCAST_WT_SEEDER_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runSeederHelper())
	}
	if os.Getenv(soakEnv) != "" {
		os.Exit(runSoakHelper())
	}
	os.Exit(m.Run())
}

// runSeederHelper is the seeder process: an origin serving one segment, the seeder's
// Handler, and a Seeder announcing the segment to the tracker (at once, or on "add" when
// WT_DEFER_ADD is set). It prints "READY <torrents.json URL> <tracker URL>", then obeys stdin
// lines: "add" adds the segment and prints "ADDED"; "close" closes the Seeder (the HTTP side
// keeps serving) and prints "CLOSED <stats>"; "stats" prints "STATS <stats>"; EOF exits.
func runSeederHelper() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fail := func(err error) int {
		logger.Error("seeder helper", "err", err)
		return 1
	}
	data, err := os.ReadFile(os.Getenv("WT_SEGMENT_FILE"))
	if err != nil {
		return fail(err)
	}
	rendition, uri := os.Getenv("WT_RENDITION"), os.Getenv("WT_URI")
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("WT_LISTEN"), "0"))
	if err != nil {
		return fail(err)
	}
	base := "http://" + ln.Addr().String()

	trackerURL := os.Getenv("WT_TRACKER")
	if trackerURL == inProcessTracker {
		// swarmcast's own tracker, in this process (and so in the seeder's namespace).
		tcfg := tracker.DefaultConfig()
		tcfg.Servers[0].Server.Host, tcfg.Servers[0].Server.Port = os.Getenv("WT_LISTEN"), 0
		tsrv, err := tracker.New(tcfg, tracker.Options{Logger: logger.With("component", "tracker"), Registry: prometheus.NewRegistry()})
		if err != nil {
			return fail(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tsrv.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				logger.Error("tracker", "err", err)
			}
		}()
		trackerURL = "ws://" + tsrv.Addrs()[0].String()
	}
	cfg := DefaultConfig()
	cfg.Trackers = []string{trackerURL}
	s, err := New(cfg, Options{Logger: logger, Registry: prometheus.NewRegistry()})
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wt/", s.Handler())
	mux.HandleFunc("/live/"+uri, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "video/mp2t")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	seg := Segment{Rendition: rendition, URI: uri, URL: base + "/live/" + uri, Data: data}
	if os.Getenv("WT_DEFER_ADD") == "" {
		if err := s.Add(seg); err != nil {
			return fail(err)
		}
	}
	stats := func() string {
		b, _ := json.Marshal(s.Stats())
		return string(b)
	}
	fmt.Println("READY " + base + "/wt/" + IndexFile + " " + trackerURL)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "add":
			if err := s.Add(seg); err != nil {
				return fail(err)
			}
			fmt.Println("ADDED")
		case "close":
			if err := s.Close(); err != nil {
				return fail(err)
			}
			fmt.Println("CLOSED " + stats())
		case "stats":
			fmt.Println("STATS " + stats())
		}
	}
	if err := s.Close(); err != nil {
		return fail(err)
	}
	return 0
}

// interopSetup starts the namespaces, the tracker and the seeder process with one random
// segment, and returns the seeder process, the leecher's arguments and the segment.
type interop struct {
	ns         *netnsPair
	seeder     *proc
	indexURL   string
	trackerURL string
	rendition  string
	uri        string
	data       []byte
	sha        string
}

// interopTrackers are the trackers the interop tests run through: swarmcast's own (in the
// seeder process, in-process as the brief asks) and bittorrent-tracker's reference Server.
var interopTrackers = []string{"swarmcast", "bittorrent-tracker"}

func newInterop(t *testing.T, size int, trackerName string, env ...string) *interop {
	t.Helper()
	root := testutil.RequireNodeModules(t, "webtorrent", "bittorrent-tracker")
	node := testutil.RequireTools(t, "node")[0]
	ns := newNetnsPair(t)

	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	segFile := filepath.Join(t.TempDir(), "seg.ts")
	if err := os.WriteFile(segFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	it := &interop{ns: ns, rendition: "720p", uri: "720p/seg_1795312978.ts", data: data, sha: hex.EncodeToString(sum[:])}

	// The tracker must be up before the seeder, which waits a minute after a failed dial.
	trackerURL := inProcessTracker
	if trackerName == "bittorrent-tracker" {
		tr := ns.start(t, "tracker", ns.seed, nil, node, filepath.Join(root, "seeder/torrent/testdata/tracker.mjs"), seedAddr)
		trackerURL = fmt.Sprintf("ws://%s:%s", seedAddr, tr.expect("PORT ", 30*time.Second))
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	it.seeder = ns.start(t, "seeder", ns.seed, append([]string{
		helperEnv + "=1",
		"WT_SEGMENT_FILE=" + segFile,
		"WT_RENDITION=" + it.rendition,
		"WT_URI=" + it.uri,
		"WT_LISTEN=" + seedAddr,
		"WT_TRACKER=" + trackerURL,
	}, env...), exe)
	ready := strings.Fields(it.seeder.expect("READY ", 60*time.Second))
	if len(ready) != 2 {
		t.Fatalf("seeder printed READY %q", ready)
	}
	it.indexURL, it.trackerURL = ready[0], ready[1]
	return it
}

func (it *interop) leech(t *testing.T, mode string, extra ...string) *proc {
	t.Helper()
	root := testutil.RepoRoot(t)
	node := testutil.RequireTools(t, "node")[0]
	return it.ns.start(t, "leecher", it.ns.leech, nil, append([]string{node, filepath.Join(root, "seeder/torrent/testdata/leech.mjs"),
		it.indexURL, it.rendition, it.uri, it.sha, mode}, extra...)...)
}

func (it *interop) stats(t *testing.T) Stats {
	t.Helper()
	it.seeder.send("stats")
	var st Stats
	if err := json.Unmarshal([]byte(it.seeder.expect("STATS ", 30*time.Second)), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestInteropWebTorrentDownloadsFromSeeder: a Node webtorrent@3 client takes the magnet
// from torrents.json (web seeds disabled) and downloads the segment from the seeder over
// WebRTC through the tracker; the bytes' SHA-256 matches and the seeder counts the upload.
func TestInteropWebTorrentDownloadsFromSeeder(t *testing.T) {
	for _, tr := range interopTrackers {
		t.Run(tr, func(t *testing.T) { testDownloadsFromSeeder(t, tr) })
	}
}

func testDownloadsFromSeeder(t *testing.T, trackerName string) {
	it := newInterop(t, 3<<20+12345, trackerName)
	leecher := it.leech(t, "magnet")
	done := leecher.expect("DONE ", 150*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := leecher.wait(ctx); code != 0 {
		t.Fatalf("leecher exit %d (%s)", code, done)
	}
	if !strings.Contains(done, "sha256="+it.sha) {
		t.Fatalf("leecher got %s, want sha256=%s", done, it.sha)
	}
	if !strings.Contains(done, "webSeedWires=0") || strings.Contains(done, "peerWires=0") {
		t.Fatalf("leecher should have downloaded from a WebRTC peer only: %s", done)
	}
	st := it.stats(t)
	if st.UploadedBytes < int64(len(it.data)) || st.Torrents != 1 {
		t.Fatalf("seeder stats %+v: want 1 torrent and at least %d bytes uploaded", st, len(it.data))
	}
}

// TestInteropWebSeedAloneCompletes: the leecher gets the .torrent while the seeder runs,
// then the seeder is closed; the download must complete from the BEP 19 web seed alone.
func TestInteropWebSeedAloneCompletes(t *testing.T) {
	for _, tr := range interopTrackers {
		t.Run(tr, func(t *testing.T) { testWebSeedAloneCompletes(t, tr) })
	}
}

func testWebSeedAloneCompletes(t *testing.T, trackerName string) {
	it := newInterop(t, 1<<20+777, trackerName)
	leecher := it.leech(t, "torrent")
	leecher.expect("HAVE-TORRENT", 60*time.Second)
	it.seeder.send("close")
	var st Stats
	if err := json.Unmarshal([]byte(it.seeder.expect("CLOSED ", 60*time.Second)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Torrents != 0 {
		t.Fatalf("seeder still has %d torrents after Close", st.Torrents)
	}
	leecher.send("go")
	done := leecher.expect("DONE ", 150*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := leecher.wait(ctx); code != 0 {
		t.Fatalf("leecher exit %d (%s)", code, done)
	}
	if !strings.Contains(done, "sha256="+it.sha) || !strings.Contains(done, "peerWires=0") || strings.Contains(done, "webSeedWires=0") {
		t.Fatalf("want the segment from the web seed only, got %s (sha256 %s)", done, it.sha)
	}
}

// TestInteropSeederOfferAnswered: the leecher is in the swarm before the segment appears, so
// the tracker hands it the seeder's own offer; the download completes, and anacrolix's
// follow-up announce ("event":"<regular>" in v1.61) keeps the seeder's tracker websocket up.
func TestInteropSeederOfferAnswered(t *testing.T) {
	for _, tr := range interopTrackers {
		t.Run(tr, func(t *testing.T) { testSeederOfferAnswered(t, tr) })
	}
}

func testSeederOfferAnswered(t *testing.T, trackerName string) {
	it := newInterop(t, 2<<20+99, trackerName, "WT_DEFER_ADD=1")
	cfg := DefaultConfig()
	cfg.Trackers = []string{it.trackerURL}
	b, err := buildTorrent(Segment{Rendition: it.rendition, URI: it.uri, Data: it.data}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	leecher := it.leech(t, "announce-first", b.magnet)
	leecher.expect("ANNOUNCED", 60*time.Second)
	it.seeder.send("add")
	it.seeder.expect("ADDED", 30*time.Second)
	done := leecher.expect("DONE ", 150*time.Second)
	if !strings.Contains(done, "sha256="+it.sha) || strings.Contains(done, "peerWires=0") {
		t.Fatalf("leecher: %s, want sha256=%s from a peer", done, it.sha)
	}
	// The answer to the seeder's offer makes anacrolix announce again.
	var st Stats
	testutil.Eventually(t, 60*time.Second, 500*time.Millisecond, func() error {
		st = it.stats(t)
		if len(st.Trackers) != 1 || st.Trackers[0].Announces < 2 {
			return fmt.Errorf("tracker stats %+v: want the started announce and a follow-up", st.Trackers)
		}
		return nil
	})
	if ts := st.Trackers[0]; !ts.Connected || ts.Disconnects != 0 || ts.Connects != 1 || ts.AnnounceErrors != 0 {
		t.Fatalf("the seeder's tracker connection did not stay up: %+v", ts)
	}
}
