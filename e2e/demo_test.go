package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"swarmcast/internal/browsertest"
	"swarmcast/internal/testutil"
)

// The demo test's stream: one small rendition, 2 s segments and a window of 16, so players
// sit 30 s behind live (liveSyncDurationCount = 15) and P2P Media Loader 2.3.1 can fetch the
// segments more than 15 s ahead of the playhead from peers.
const (
	demoListSize   = 16
	demoSegSeconds = 2
)

// demoSettings are the demo test's knobs. Their defaults are the CI test; the environment
// variables turn it into the measurement of docs/bench-demo.md:
//
//	SWARMCAST_DEMO_VIEWERS        pages (default 3)
//	SWARMCAST_DEMO_SEEDER         0 to run without the seeder (default 1)
//	SWARMCAST_DEMO_PLAY_SECONDS   how long the pages play after the last one joined (default 50)
type demoSettings struct {
	viewers int
	seeder  bool
	play    time.Duration
}

func demoSettingsFromEnv(t *testing.T) demoSettings {
	t.Helper()
	s := demoSettings{viewers: 3, seeder: true, play: 50 * time.Second}
	if v := os.Getenv("SWARMCAST_DEMO_VIEWERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 12 {
			t.Fatalf("SWARMCAST_DEMO_VIEWERS=%q: want 2–12", v)
		}
		s.viewers = n
	}
	if v := os.Getenv("SWARMCAST_DEMO_SEEDER"); v != "" {
		s.seeder = v != "0"
	}
	if v := os.Getenv("SWARMCAST_DEMO_PLAY_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 3600 {
			t.Fatalf("SWARMCAST_DEMO_PLAY_SECONDS=%q: want 10–3600", v)
		}
		s.play = time.Duration(n) * time.Second
	}
	return s
}

// demoConfig is config.json for the demo test: the root config.json's parts, made small
// and fast, on 127.0.0.1 with ports chosen by the kernel and WebRTC held to loopback.
func demoConfig(hlsDir string, withSeeder bool) string {
	seeder := ""
	if withSeeder {
		seeder = `,
  "seeder": {"origin": "http://127.0.0.1:8000/hls/master.m3u8", "trackers": ["ws://127.0.0.1:8000/"],
             "swarmId": "swarmcast-demo-test", "udpPort": 0, "loopbackOnly": true,
             "generations": {"pml23": true, "pml22": false, "pml06": false},
             "webtorrent": {"trackers": ["ws://127.0.0.1:8000"], "maxTorrents": 32}}`
	}
	return fmt.Sprintf(`{
  "servers": [{"server": {"port": 0, "host": "127.0.0.1"}, "websockets": {"path": "/*"}}],
  "tracker": {"maxOffers": 20, "announceInterval": 20},
  "websocketsAccess": {"denyEmptyOrigin": false},
  "hls": {"outputDir": %q, "fps": 15, "segmentSeconds": %d, "listSize": %d, "preset": "ultrafast",
          "audioKbps": 32, "renditions": [{"name": "v0", "width": 320, "height": 180, "videoKbps": 250}]}%s,
  "analytics": {"maxViewers": 50}
}`, hlsDir, demoSegSeconds, demoListSize, seeder)
}

// demoProcess is a running `swarmcast` binary.
type demoProcess struct {
	base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed

	mu   sync.Mutex
	tail []string // the last log lines
	done bool     // the test is over: stop logging
}

// buildSwarmcast builds the swarmcast binary (with the page bundle of web/dist embedded).
func buildSwarmcast(t *testing.T, root string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "web", "dist", "app.js")); err != nil {
		t.Fatalf("web/dist/app.js is missing: run scripts/build-web.sh before the tests (scripts/test.sh does): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "swarmcast")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built swarmcast in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// startSwarmcast runs `swarmcast all config.json` in dir and waits for its listener.
func startSwarmcast(t *testing.T, bin, dir, config string) *demoProcess {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &demoProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-log-format", "json", "all", "config.json")
	p.cmd.Dir = dir
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting swarmcast: %v", err)
	}
	addrs := make(chan string, 4)
	go p.readLog(t, stderr, addrs)
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		p.mu.Lock()
		p.done = true
		p.mu.Unlock()
	})
	select {
	case a := <-addrs:
		p.base = "http://" + a
	case <-p.exited:
		t.Fatalf("swarmcast exited at start-up: %v\n%s", p.err, p.logTail())
	case <-time.After(30 * time.Second):
		t.Fatalf("swarmcast did not listen within 30 s\n%s", p.logTail())
	}
	t.Logf("swarmcast pid %d serves %s", p.cmd.Process.Pid, p.base)
	return p
}

// readLog keeps the tail of swarmcast's JSON log, passes warnings and errors to the test
// log and reports each listener's address.
func (p *demoProcess) readLog(t *testing.T, r io.Reader, addrs chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var rec struct {
			Level, Msg, Addr string
		}
		_ = json.Unmarshal([]byte(line), &rec)
		if strings.HasPrefix(rec.Msg, "listening ") && rec.Addr != "" {
			select {
			case addrs <- rec.Addr:
			default:
			}
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 300 {
			p.tail = p.tail[len(p.tail)-300:]
		}
		if !p.done && (rec.Level == "WARN" || rec.Level == "ERROR") {
			t.Logf("swarmcast: %s", line)
		}
		p.mu.Unlock()
	}
}

func (p *demoProcess) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// stop sends SIGINT and waits for swarmcast to exit (SIGKILL to its group after 30 s). It
// returns the exit error; calling it again returns the same.
func (p *demoProcess) stop(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return errors.New("swarmcast did not exit within 30 s of SIGINT")
	}
}

func (p *demoProcess) get(path string) (int, []byte, error) {
	res, err := http.Get(p.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (p *demoProcess) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	code, b, err := p.get(path)
	if err != nil || code != 200 {
		t.Fatalf("GET %s: %d %v %q", path, code, err, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v in %q", path, err, b)
	}
}

// waitWindowFull waits until the media playlist holds its whole window, so players that
// start demoListSize−1 segments behind live find that many segments.
func (p *demoProcess) waitWindowFull(t *testing.T) {
	t.Helper()
	start := time.Now()
	testutil.Eventually(t, time.Duration(demoListSize*demoSegSeconds+40)*time.Second, 250*time.Millisecond, func() error {
		select {
		case <-p.exited:
			t.Fatalf("swarmcast exited: %v\n%s", p.err, p.logTail())
		default:
		}
		code, b, err := p.get("/hls/v0/index.m3u8")
		if err != nil || code != 200 {
			return fmt.Errorf("media playlist: %d %v", code, err)
		}
		if n := strings.Count(string(b), "#EXTINF"); n < demoListSize {
			return fmt.Errorf("media playlist has %d of %d segments", n, demoListSize)
		}
		return nil
	})
	t.Logf("stream window full after %v", time.Since(start).Round(time.Second))
}

// checkWebTorrent checks that the WebTorrent half seeds the live segments: torrents.json
// lists segments of the stream with their origin URLs, announced to the built-in tracker.
func (p *demoProcess) checkWebTorrent(t *testing.T) {
	t.Helper()
	var idx struct {
		Renditions map[string]map[string]struct {
			InfoHash string `json:"info_hash"`
			URL      string `json:"url"`
			Magnet   string `json:"magnet"`
		} `json:"renditions"`
	}
	testutil.Eventually(t, 20*time.Second, 500*time.Millisecond, func() error {
		p.getJSON(t, "/hls/webtorrent/torrents.json", &idx)
		if len(idx.Renditions["v0"]) < 3 {
			return fmt.Errorf("torrents.json: %+v", idx)
		}
		return nil
	})
	for uri, e := range idx.Renditions["v0"] {
		if e.URL != p.base+"/hls/"+uri || len(e.InfoHash) != 40 || !strings.Contains(e.Magnet, "tr=ws%3A%2F%2F127.0.0.1") {
			t.Errorf("torrents.json entry %s: %+v", uri, e)
		}
	}
	var st struct {
		WebTorrent struct {
			Torrents int `json:"torrents"`
			Trackers []struct {
				URL       string `json:"url"`
				Connected bool   `json:"connected"`
				Announces uint64 `json:"announces"`
			} `json:"trackers"`
		} `json:"webtorrent"`
	}
	own := "ws" + strings.TrimPrefix(p.base, "http") + "/"
	testutil.Eventually(t, 20*time.Second, 500*time.Millisecond, func() error {
		p.getJSON(t, "/stats.json", &st)
		w := st.WebTorrent
		if w.Torrents < 3 || len(w.Trackers) != 1 || w.Trackers[0].URL != own || !w.Trackers[0].Connected || w.Trackers[0].Announces == 0 {
			return fmt.Errorf("/stats.json webtorrent: %+v, want torrents announced to %s", w, own)
		}
		return nil
	})
}

// demoPageStats is what the demo page's window.swarmcastStats() returns (web/src/app.js).
type demoPageStats struct {
	Viewer        string           `json:"viewer"`
	HTTP          int64            `json:"http"`
	P2P           int64            `json:"p2p"`
	Seeder        int64            `json:"seeder"`
	Peers         int64            `json:"peers"`
	Uploaded      int64            `json:"uploaded"`
	Rejected      int              `json:"rejected"`
	Connected     int              `json:"connected"`
	FromPeer      map[string]int64 `json:"fromPeer"`
	UpTo          map[string]int64 `json:"upTo"`
	SeederPeerIDs []string         `json:"seederPeerIds"`
	CurrentTime   float64          `json:"currentTime"`
	Paused        bool             `json:"paused"`
	ReadyState    int              `json:"readyState"`
	DecodedFrames int              `json:"decodedFrames"`
	Stream        string           `json:"stream"`
	SwarmID       string           `json:"swarmId"`
}

func (s demoPageStats) String() string {
	return fmt.Sprintf("t=%.1fs frames=%d http=%d peers=%d seeder=%d up=%d connected=%d rejected=%d",
		s.CurrentTime, s.DecodedFrames, s.HTTP, s.Peers, s.Seeder, s.Uploaded, s.Connected, s.Rejected)
}

func demoStats(t *testing.T, pages []*browsertest.Page) []demoPageStats {
	t.Helper()
	out := make([]demoPageStats, len(pages))
	for i, p := range pages {
		if err := p.Eval("window.swarmcastStats()", &out[i]); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	return out
}

// waitDrained waits, after the pages stopped loading, until their counters stop moving:
// chunks still in the data channels arrive, and an uploader counts a chunk only once its
// send completed, which on a loaded machine can come after the receiver counted it. It
// gives up after 30 s and returns the last reading.
func waitDrained(t *testing.T, pages []*browsertest.Page) []demoPageStats {
	t.Helper()
	time.Sleep(3 * time.Second)
	prev := demoStats(t, pages)
	for deadline, still := time.Now().Add(30*time.Second), 0; time.Now().Before(deadline); {
		time.Sleep(time.Second)
		cur := demoStats(t, pages)
		if sumDemo(cur) == sumDemo(prev) {
			if still++; still == 2 {
				return cur
			}
		} else {
			still = 0
		}
		prev = cur
	}
	t.Logf("the pages' counters still moved 33 s after they stopped loading")
	return prev
}

// demoTotals are the pages' counters summed.
type demoTotals struct{ http, p2p, seeder, peers, uploaded int64 }

func sumDemo(stats []demoPageStats) demoTotals {
	var s demoTotals
	for _, st := range stats {
		s.http += st.HTTP
		s.p2p += st.P2P
		s.seeder += st.Seeder
		s.peers += st.Peers
		s.uploaded += st.Uploaded
	}
	return s
}

func pct(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// swarmTotals is GET /api/stats (analytics.Totals).
type swarmTotals struct {
	Viewers     int     `json:"viewers"`
	HTTPBytes   int64   `json:"httpBytes"`
	P2PBytes    int64   `json:"p2pBytes"`
	SeederBytes int64   `json:"seederBytes"`
	Uploaded    int64   `json:"uploadedBytes"`
	OffloadPct  float64 `json:"offloadPercent"`
}

var offloadMetric = regexp.MustCompile(`(?m)^swarmcast_analytics_offload_ratio ([0-9.eE+-]+)$`)

// TestDemoAllParts (issue 6) runs the swarmcast binary with every part of the demo — tracker,
// HLS test card and origin, seeder, demo page and viewer analytics on one TCP port — opens
// three demo pages (the real page: hls.js + P2P Media Loader 2.3.1, served by swarmcast) in
// headless Chromium, and checks that all three play, that viewers exchanged bytes with each
// other and got bytes from the seeder, that the server's aggregated figures equal the sum of
// the pages' own counters, and that SIGINT stops everything, ffmpeg included. A screenshot of
// the first page is written to test-output/demo-page.png.
//
// It needs the loopback-only network namespace of browsertest.IsolateNetwork (root): the
// demo page, unlike the harness page, does not strip non-loopback ICE candidates.
func TestDemoAllParts(t *testing.T) {
	root := browsertest.Require(t)
	testutil.RequireTools(t, "ffmpeg", "go")
	if !browsertest.NetworkIsolated() {
		testutil.RequireRoot(t)
		t.Fatal("the demo test must run in the loopback-only network namespace (browsertest.IsolateNetwork needs unshare and ip)")
	}
	set := demoSettingsFromEnv(t)
	bin := buildSwarmcast(t, root)
	dir := t.TempDir()
	hlsDir := filepath.Join(dir, "hls")
	sc := startSwarmcast(t, bin, dir, demoConfig(hlsDir, set.seeder))
	b := browsertest.Launch(t) // while the stream fills its window
	sc.waitWindowFull(t)
	if len(ffmpegIn(hlsDir)) == 0 {
		t.Fatalf("no ffmpeg process works in %s", hlsDir)
	}

	var info struct {
		Stream                string   `json:"stream"`
		SwarmID               string   `json:"swarmId"`
		LiveSyncDurationCount int      `json:"liveSyncDurationCount"`
		SeederPeerIDs         []string `json:"seederPeerIds"`
	}
	sc.getJSON(t, "/api/demo", &info)
	if info.Stream != "/hls/master.m3u8" || info.LiveSyncDurationCount != demoListSize-1 ||
		(set.seeder && (info.SwarmID != "swarmcast-demo-test" || len(info.SeederPeerIDs) != 1)) {
		t.Fatalf("/api/demo: %+v", info)
	}

	if set.seeder {
		sc.checkWebTorrent(t)
	}

	pages := b.OpenPages(set.viewers, 3*time.Second, sc.base+"/")
	// Every page plays.
	playStart := make([]time.Time, len(pages))
	startCT := make([]float64, len(pages))
	testutil.Eventually(t, 45*time.Second, 500*time.Millisecond, func() error {
		stats := demoStats(t, pages)
		for i, s := range stats {
			if playStart[i].IsZero() && s.CurrentTime > 0 && s.ReadyState >= 2 && !s.Paused {
				playStart[i], startCT[i] = time.Now(), s.CurrentTime
			}
		}
		for i := range stats {
			if playStart[i].IsZero() {
				return fmt.Errorf("page %d is not playing: %v", i, stats[i])
			}
		}
		return nil
	})
	for end := time.Now().Add(set.play); time.Now().Before(end); {
		time.Sleep(min(10*time.Second, time.Until(end)))
		for i, s := range demoStats(t, pages) {
			t.Logf("page %d: %v", i, s)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "test-output"), 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(root, "test-output", "demo-page.png")
	// The harness's viewport is 480x320: lay the page out as on a 1200-pixel-wide screen
	// (two columns) and zoom out, so the player, the figures and the chart are all in the picture.
	const wide = `(() => { const s = document.createElement("style");
		s.textContent = "main { grid-template-columns: 2fr 1fr !important; } html { zoom: 0.4; }";
		document.head.appendChild(s); return true; })()`
	if err := pages[0].Eval(wide, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // one redraw of the figures and the chart
	if err := pages[0].Screenshot(shot); err != nil {
		t.Errorf("screenshot: %v", err)
	} else {
		t.Logf("screenshot: %s", shot)
	}

	playing := demoStats(t, pages)
	for i, s := range playing {
		wall := time.Since(playStart[i]).Seconds()
		if adv := s.CurrentTime - startCT[i]; adv < 0.5*wall || s.DecodedFrames == 0 || s.Paused {
			t.Errorf("page %d did not keep playing: video advanced %.1f s in %.1f s, %d frames, paused=%v",
				i, adv, wall, s.DecodedFrames, s.Paused)
		}
		if s.Rejected != 0 {
			t.Errorf("page %d rejected %d segments from peers (SHA-256 mismatch)", i, s.Rejected)
		}
	}

	// Stop loading everywhere and let the data channels drain, then compare.
	for i, p := range pages {
		if err := p.Eval("window.swarmcastStop()", nil); err != nil {
			t.Fatalf("page %d stop: %v", i, err)
		}
	}
	stats := waitDrained(t, pages)
	tot := sumDemo(stats)
	for i, s := range stats {
		t.Logf("page %d drained: %v", i, s)
	}
	t.Logf("pages: http %d, from viewers %d, from the seeder %d, uploaded %d; from other viewers %.1f %% of all bytes, origin offload %.1f %%",
		tot.http, tot.peers, tot.seeder, tot.uploaded, pct(tot.peers, tot.http+tot.p2p), pct(tot.p2p, tot.http+tot.p2p))

	// Viewers exchanged bytes with each other: what the pages uploaded (the seeder
	// downloads nothing) is what they got from peers other than the seeder, up to what was
	// in flight on connections that closed.
	if tot.peers == 0 {
		t.Errorf("no viewer received bytes from another viewer")
	}
	if tot.uploaded < tot.peers || tot.uploaded > tot.peers+int64(len(pages))*256<<10 {
		t.Errorf("pages uploaded %d bytes but received %d from other viewers", tot.uploaded, tot.peers)
	}

	var st struct {
		Seeder *struct {
			UploadedBytes int64 `json:"uploadedBytes"`
			Swarms        []struct {
				Generation string `json:"generation"`
				PeerID     string `json:"peerId"`
			} `json:"swarms"`
		} `json:"seeder"`
		Analytics *swarmTotals `json:"analytics"`
	}
	sc.getJSON(t, "/stats.json", &st)
	if set.seeder {
		// The seeder uploaded bytes, at least what the pages attribute to it, and the pages
		// knew its peer id.
		if st.Seeder == nil || len(st.Seeder.Swarms) != 1 || st.Seeder.Swarms[0].PeerID != info.SeederPeerIDs[0] {
			t.Fatalf("/stats.json seeder: %+v", st.Seeder)
		}
		if st.Seeder.UploadedBytes == 0 || tot.seeder == 0 || tot.seeder > st.Seeder.UploadedBytes {
			t.Errorf("seeder uploaded %d bytes; the pages got %d from it", st.Seeder.UploadedBytes, tot.seeder)
		}
		for i, s := range stats {
			if len(s.SeederPeerIDs) != 1 || s.SeederPeerIDs[0] != info.SeederPeerIDs[0] {
				t.Errorf("page %d seeder peer ids %v, want %v", i, s.SeederPeerIDs, info.SeederPeerIDs)
			}
		}
	}

	// The server's swarm-wide figures are the sum of the pages' own counters (each page
	// reports every 3 s; the counters no longer move).
	var sw swarmTotals
	var last demoTotals
	testutil.Eventually(t, 20*time.Second, time.Second, func() error {
		last = sumDemo(demoStats(t, pages))
		sc.getJSON(t, "/api/stats", &sw)
		if sw.Viewers != len(pages) || sw.HTTPBytes != last.http || sw.P2PBytes != last.p2p ||
			sw.SeederBytes != last.seeder || sw.Uploaded != last.uploaded {
			return fmt.Errorf("/api/stats %+v, pages' sums %+v", sw, last)
		}
		return nil
	})
	want := pct(last.p2p, last.http+last.p2p)
	if math.Abs(sw.OffloadPct-want) > 1e-9 || want == 0 {
		t.Errorf("offload: server %.6f %%, pages %.6f %%", sw.OffloadPct, want)
	}
	sc.getJSON(t, "/stats.json", &st)
	if st.Analytics == nil || *st.Analytics != sw {
		t.Errorf("/stats.json analytics %+v, /api/stats %+v", st.Analytics, sw)
	}
	_, metrics, err := sc.get("/metrics")
	m := offloadMetric.FindSubmatch(metrics)
	if err != nil || m == nil {
		t.Errorf("/metrics has no swarmcast_analytics_offload_ratio (%v)", err)
	} else if r, _ := strconv.ParseFloat(string(m[1]), 64); math.Abs(100*r-want) > 1e-6 {
		t.Errorf("/metrics offload ratio %v, pages %.4f %%", r, want)
	}
	t.Logf("server: %d viewers, origin offload %.1f %% (from other viewers %.1f %% of all bytes)",
		sw.Viewers, sw.OffloadPct, pct(sw.P2PBytes-sw.SeederBytes, sw.HTTPBytes+sw.P2PBytes))

	// Shutdown: SIGINT stops every part; ffmpeg is gone when swarmcast has exited.
	b.Close()
	if err := sc.stop(t); err != nil {
		t.Errorf("swarmcast exit: %v\n%s", err, sc.logTail())
	}
	if pids := ffmpegIn(hlsDir); len(pids) > 0 {
		t.Errorf("ffmpeg still running in %s after swarmcast exited: %v", hlsDir, pids)
	}
}

// ffmpegIn returns the pids of ffmpeg processes whose working directory is dir.
func ffmpegIn(dir string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
		if strings.HasSuffix(strings.Split(string(b), "\x00")[0], "ffmpeg") && cwd == dir {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
