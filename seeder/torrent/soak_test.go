package torrent

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/testutil"
)

// soakEnv makes the test binary run as the seeder of the soak benchmark.
const soakEnv = "SWARMCAST_WT_SOAK_HELPER"

// soakRenditions are the simulated stream's renditions and segment sizes.
var soakRenditions = []struct {
	name string
	size int
}{{"720p", 1 << 20}, {"480p", 512 << 10}, {"240p", 256 << 10}}

// runSoakHelper simulates a live stream: every WT_SOAK_PERIOD each rendition gets a new
// segment (Add), segments older than the window of 10 are removed (Remove), and every
// WT_SOAK_SAMPLE it prints "SAMPLE <key=value ...>" with its goroutines, open files and RSS.
// It prints "READY <torrents.json URL>" first and runs until stdin closes.
func runSoakHelper() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	period, err1 := time.ParseDuration(os.Getenv("WT_SOAK_PERIOD"))
	sample, err2 := time.ParseDuration(os.Getenv("WT_SOAK_SAMPLE"))
	if err1 != nil || err2 != nil {
		logger.Error("soak helper: bad WT_SOAK_PERIOD or WT_SOAK_SAMPLE")
		return 1
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("WT_LISTEN"), "0"))
	if err != nil {
		logger.Error("soak helper", "err", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	cfg := DefaultConfig()
	cfg.Trackers = []string{os.Getenv("WT_TRACKER")}
	if r := os.Getenv("WT_SOAK_ROTATION"); r != "" {
		cfg.ClientRotation, _ = strconv.Atoi(r)
	}
	s, err := New(cfg, Options{Logger: logger, Registry: prometheus.NewRegistry()})
	if err != nil {
		logger.Error("soak helper", "err", err)
		return 1
	}
	defer s.Close()

	var mu sync.Mutex
	origin := make(map[string][]byte) // the live segments, for the web seed URLs
	mux := http.NewServeMux()
	mux.Handle("/wt/", s.Handler())
	mux.HandleFunc("/live/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		data := origin[strings.TrimPrefix(r.URL.Path, "/live/")]
		mu.Unlock()
		if data == nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
		}
		close(stop)
	}()
	fmt.Println("READY " + base + "/wt/" + IndexFile)

	const window = 10
	start := time.Now()
	tick := time.NewTicker(period)
	defer tick.Stop()
	lastSample := time.Time{}
	for seq := 0; ; seq++ {
		for _, r := range soakRenditions {
			uri := fmt.Sprintf("%s/seg_%09d.ts", r.name, seq)
			data := make([]byte, r.size)
			rng := rand.New(rand.NewPCG(uint64(seq), uint64(r.size)))
			for i := 0; i+8 <= len(data); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					data[i+j] = byte(v >> (8 * j))
				}
			}
			mu.Lock()
			origin[uri] = data
			mu.Unlock()
			if err := s.Add(Segment{Rendition: r.name, URI: uri, URL: base + "/live/" + uri, Data: data}); err != nil {
				logger.Error("soak helper: Add", "err", err)
				return 1
			}
			if seq >= window {
				old := fmt.Sprintf("%s/seg_%09d.ts", r.name, seq-window)
				s.Remove(old)
				mu.Lock()
				delete(origin, old)
				mu.Unlock()
			}
		}
		if time.Since(lastSample) >= sample {
			lastSample = time.Now()
			st := s.Stats().(Stats)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("SAMPLE t=%d segments=%d torrents=%d clients=%d goroutines=%d fds=%d rss_kb=%d heap_kb=%d peers=%d uploaded=%d\n",
				int(time.Since(start).Seconds()), st.Added, st.Torrents, st.Clients, runtime.NumGoroutine(), openFiles(), rssKB(), ms.HeapAlloc>>10, st.Peers, st.UploadedBytes)
		}
		select {
		case <-stop:
			return 0
		case <-tick.C:
		}
	}
}

func openFiles() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return -1
}

// BenchmarkSeederSoak runs a live stream through the seeder for SWARMCAST_SOAK (default 2m;
// segments every SWARMCAST_SOAK_PERIOD, default 1s; SWARMCAST_SOAK_ROTATION overrides
// clientRotation) while a Node webtorrent leecher keeps
// downloading the newest 720p segment over WebRTC, all inside test network namespaces. It
// logs the seeder's goroutines, open files and RSS over time and reports the first
// (after one window of warm-up) and last samples. Run with -benchtime=1x; see
// docs/bench-seeder-torrent.md.
func BenchmarkSeederSoak(b *testing.B) {
	dur, err := time.ParseDuration(envOr("SWARMCAST_SOAK", "2m"))
	if err != nil {
		b.Fatal(err)
	}
	period := envOr("SWARMCAST_SOAK_PERIOD", "1s")
	root := testutil.RequireNodeModules(b, "webtorrent", "bittorrent-tracker")
	node := testutil.RequireTools(b, "node")[0]
	for b.Loop() {
		ns := newNetnsPair(b)
		tr := ns.start(b, "tracker", ns.seed, nil, node, filepath.Join(root, "seeder/torrent/testdata/tracker.mjs"), seedAddr)
		trackerURL := fmt.Sprintf("ws://%s:%s", seedAddr, tr.expect("PORT ", 30*time.Second))
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		seeder := ns.start(b, "seeder", ns.seed, []string{
			soakEnv + "=1", "WT_LISTEN=" + seedAddr, "WT_TRACKER=" + trackerURL,
			"WT_SOAK_PERIOD=" + period, "WT_SOAK_SAMPLE=" + envOr("SWARMCAST_SOAK_SAMPLE", "30s"),
			"WT_SOAK_ROTATION=" + os.Getenv("SWARMCAST_SOAK_ROTATION"),
		}, exe)
		indexURL := seeder.expect("READY ", 60*time.Second)
		leecher := ns.start(b, "leecher", ns.leech, nil, node, filepath.Join(root, "seeder/torrent/testdata/soak-leech.mjs"), indexURL, "720p")

		var samples []string
		deadline := time.After(dur)
	loop:
		for {
			select {
			case l := <-seeder.lines:
				if rest, ok := strings.CutPrefix(l, "SAMPLE "); ok {
					samples = append(samples, rest)
					fmt.Printf("soak seeder: %s\n", rest) // b.Logf output of benchmarks is cut to 10 lines
				}
			case <-seeder.done:
				b.Fatalf("seeder exited: %v\n%s", seeder.err, seeder.outputText())
			case <-deadline:
				break loop
			}
		}
		got := ""
		for {
			select {
			case l := <-leecher.lines:
				got = l
				continue
			default:
			}
			break
		}
		fmt.Printf("soak leecher: %s\n", got)
		if len(samples) < 3 {
			b.Fatalf("only %d samples", len(samples))
		}
		first, last := parseSample(samples[1]), parseSample(samples[len(samples)-1])
		for _, k := range []string{"goroutines", "fds", "rss_kb", "torrents"} {
			b.ReportMetric(first[k], k+"_first")
			b.ReportMetric(last[k], k+"_last")
		}
		b.ReportMetric(last["segments"], "segments")
		b.ReportMetric(last["uploaded"], "uploaded_bytes")
	}
}

func parseSample(s string) map[string]float64 {
	m := make(map[string]float64)
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseFloat(v, 64)
		m[k] = n
	}
	return m
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
