package hlsgen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"swarmcast/internal/testutil"
)

// ffmpegChildren returns the pids of ffmpeg processes whose parent is this test process.
func ffmpegChildren(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		fields := strings.Fields(s[close+1:])
		if len(fields) < 2 || s[open+1:close] != "ffmpeg" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

var seqLine = regexp.MustCompile(`(?m)^#EXT-X-MEDIA-SEQUENCE:(\d+)$`)

// mediaPlaylist reads a public media playlist: its media sequence and segment URIs.
func mediaPlaylist(dir, rendition string) (seq int64, uris []string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, rendition, MediaPlaylist))
	if err != nil {
		return 0, nil, err
	}
	m := seqLine.FindSubmatch(b)
	if m == nil {
		return 0, nil, fmt.Errorf("no media sequence in %q", b)
	}
	seq, _ = strconv.ParseInt(string(m[1]), 10, 64)
	return seq, playlistURIs(b), nil
}

func segNumber(t *testing.T, uri string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(uri, "seg"), filepath.Ext(uri)), 10, 64)
	if err != nil {
		t.Fatalf("segment name %q: %v", uri, err)
	}
	return n
}

func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// probeSegment checks with ffprobe that a segment starts with a keyframe, holds exactly one,
// and lasts about the configured duration.
func probeSegment(t *testing.T, ffprobe, path string, cfg Config) {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe frames %s: %v", path, err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "1") {
		t.Errorf("%s: first frame %q is not a keyframe", filepath.Base(path), lines)
	}
	keys := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "1") {
			keys++
		}
	}
	if keys != 1 {
		t.Errorf("%s: %d keyframes, want 1", filepath.Base(path), keys)
	}
	if len(lines) != cfg.GOP() {
		t.Errorf("%s: %d frames, want fps×segmentSeconds = %d", filepath.Base(path), len(lines), cfg.GOP())
	}
	out, err = exec.Command(ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe duration %s: %v", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || math.Abs(d-float64(cfg.SegmentSeconds)) > 0.15 {
		t.Errorf("%s: duration %q, want ≈ %d s", filepath.Base(path), out, cfg.SegmentSeconds)
	}
}

// startGenerator runs a generator for cfg and returns it with a stop function that cancels
// Run and waits for it (also registered with t.Cleanup).
func startGenerator(t *testing.T, cfg Config, reg prometheus.Registerer) (*Generator, func()) {
	t.Helper()
	g, err := New(cfg, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	// CI shares 2 cores between many test binaries; a load spike must not trigger the
	// 3 s stall restart in the middle of these checks (TestSupervisor* cover stalls).
	g.stallAfter = 15 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return 15 s after cancel")
		}
	}
	t.Cleanup(stop)
	return g, stop
}

// TestFFmpegLive runs the real encoder for about 20 s with the small test config and
// checks the stream, the manifest, the origin, a restart after ffmpeg is killed, and that
// shutdown leaves no ffmpeg behind.
func TestFFmpegLive(t *testing.T) {
	tools := testutil.RequireTools(t, "ffmpeg", "ffprobe")
	checkGoroutines(t)
	ffprobe := tools[1]
	dir := t.TempDir()
	cfg := SmallConfig(dir)
	reg := prometheus.NewRegistry()
	before := time.Now().Unix()
	g, stop := startGenerator(t, cfg, reg)
	m := g.Metrics()

	// 1. The master and both media playlists appear.
	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if _, err := os.Stat(filepath.Join(dir, MasterPlaylist)); err != nil {
			return err
		}
		for _, r := range cfg.Renditions {
			if _, uris, err := mediaPlaylist(dir, r.Name); err != nil || len(uris) < 2 {
				return fmt.Errorf("%s: %d segments, %v", r.Name, len(uris), err)
			}
		}
		return nil
	})
	master, _ := os.ReadFile(filepath.Join(dir, MasterPlaylist))
	for _, r := range cfg.Renditions {
		if !strings.Contains(string(master), "\n"+r.Name+"/"+MediaPlaylist+"\n") {
			t.Errorf("master playlist lacks %s/%s:\n%s", r.Name, MediaPlaylist, master)
		}
		if !strings.Contains(string(master), fmt.Sprintf("RESOLUTION=%dx%d", r.Width, r.Height)) {
			t.Errorf("master playlist lacks %dx%d:\n%s", r.Width, r.Height, master)
		}
	}

	// 2. Numbering is epoch-based and renditions share segment numbers.
	seq0, uris0, err := mediaPlaylist(dir, "v0")
	if err != nil {
		t.Fatal(err)
	}
	first := segNumber(t, uris0[0])
	if first < before-5 || first > time.Now().Unix()+5 || seq0 != first {
		t.Errorf("first segment %d (media sequence %d), want ≈ Unix time %d", first, seq0, before)
	}

	// 3. While the stream runs, every segment a public playlist lists is already in the
	// manifest, with the file's hash.
	srv := httptest.NewServer(NewOrigin(dir, OriginOptions{Prefix: "/hls/"}))
	t.Cleanup(srv.Close)
	// Until the oldest segment has been deleted by ffmpeg (list size + delete threshold
	// segments later, ≈ 11 s; allow for a loaded CI machine).
	oldest := filepath.Join(dir, "v0", uris0[0])
	deadline := time.Now().Add(60 * time.Second)
	checked := 0
	for {
		for _, r := range cfg.Renditions {
			_, uris, err := mediaPlaylist(dir, r.Name)
			if err != nil {
				t.Fatal(err)
			}
			man := readManifest(t, dir)
			for _, u := range uris {
				key := r.Name + "/" + u
				want, ok := man.Segments[key]
				if !ok {
					t.Fatalf("%s is in the public playlist but not in the manifest", key)
				}
				got, err := fileSum(filepath.Join(dir, r.Name, u))
				if err != nil || got != want {
					t.Fatalf("%s: file hash %s (%v), manifest %s", key, got, err, want)
				}
				checked++
			}
		}
		if _, err := os.Stat(oldest); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("oldest segment %s still on disk after 60 s", uris0[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("checked %d playlist entries against the manifest", checked)

	// 4. Old segments are deleted (and leave the manifest); the disk holds a bounded window.
	testutil.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		if _, ok := readManifest(t, dir).Segments["v0/"+uris0[0]]; ok {
			return fmt.Errorf("deleted segment v0/%s still in the manifest", uris0[0])
		}
		return nil
	})
	segs, _ := filepath.Glob(filepath.Join(dir, "v0", "seg*.ts"))
	if max := cfg.ListSize + cfg.DeleteThreshold + 2; len(segs) > max {
		t.Errorf("%d segments on disk, want at most %d", len(segs), max)
	}

	// 5. Segments: a keyframe first, exactly one, the configured duration (ffprobe), and
	// served by the origin with the manifest's hash.
	if got := promtest.ToFloat64(m.Restarts); got != 0 {
		t.Fatalf("ffmpeg restarted %v times during a steady run", got)
	}
	_, uris, _ := mediaPlaylist(dir, "v1")
	for _, u := range uris[len(uris)-2:] {
		probeSegment(t, ffprobe, filepath.Join(dir, "v1", u), cfg)
	}
	_, uris, _ = mediaPlaylist(dir, "v0")
	last := uris[len(uris)-1]
	probeSegment(t, ffprobe, filepath.Join(dir, "v0", last), cfg)
	res, err := http.Get(srv.URL + "/hls/v0/" + last)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	h := sha256.Sum256(body)
	if res.StatusCode != 200 || hex.EncodeToString(h[:]) != readManifest(t, dir).Segments["v0/"+last] {
		t.Errorf("origin GET v0/%s: status %d, hash does not match the manifest", last, res.StatusCode)
	}

	// 6. Kill ffmpeg: it is restarted and segments keep coming, with higher numbers.
	pids := ffmpegChildren(t)
	if len(pids) != 1 {
		t.Fatalf("ffmpeg children: %v, want exactly one", pids)
	}
	lastBefore := segNumber(t, last)
	restarts := promtest.ToFloat64(m.Restarts)
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if got := promtest.ToFloat64(m.Restarts); got < restarts+1 {
			return fmt.Errorf("restarts = %v", got)
		}
		_, uris, err := mediaPlaylist(dir, "v0")
		if err != nil {
			return err
		}
		if n := segNumber(t, uris[len(uris)-1]); n <= lastBefore+1 {
			return fmt.Errorf("newest segment %d, want > %d", n, lastBefore+1)
		}
		return nil
	})
	if now := ffmpegChildren(t); len(now) != 1 || now[0] == pids[0] {
		t.Errorf("ffmpeg children after restart: %v (killed %d)", now, pids[0])
	}
	if got := promtest.ToFloat64(m.Segments.WithLabelValues("v0")); got < 10 {
		t.Errorf("segments metric = %v, want ≥ 10", got)
	}

	// 7. Shutdown: Run returns and no ffmpeg is left.
	stop()
	if left := ffmpegChildren(t); len(left) != 0 {
		t.Errorf("ffmpeg still running after Run returned: %v", left)
	}
	if got := promtest.ToFloat64(m.Running); got != 0 {
		t.Errorf("running gauge = %v after shutdown", got)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "*", "*.tmp"))
	sort.Strings(tmps)
	t.Logf("temp files after shutdown: %v", tmps)
}

// TestFFmpegFMP4 checks the fMP4 variant briefly: init segments are listed in the manifest
// and media segments start with a keyframe.
func TestFFmpegFMP4(t *testing.T) {
	tools := testutil.RequireTools(t, "ffmpeg", "ffprobe")
	checkGoroutines(t)
	dir := t.TempDir()
	cfg := SmallConfig(dir)
	cfg.SegmentType = "fmp4"
	cfg.Renditions = cfg.Renditions[:1]
	_, stop := startGenerator(t, cfg, nil)
	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		_, uris, err := mediaPlaylist(dir, "v0")
		if err != nil || len(uris) < 3 {
			return fmt.Errorf("%d URIs, %v", len(uris), err)
		}
		return nil
	})
	stop()
	_, uris, _ := mediaPlaylist(dir, "v0")
	// ffmpeg names the init segment init.mp4 with one rendition, init_<i>.mp4 with more.
	if uris[0] != "init.mp4" {
		t.Fatalf("first URI %q, want the init segment init.mp4", uris[0])
	}
	man := readManifest(t, dir)
	for _, u := range uris {
		got, err := fileSum(filepath.Join(dir, "v0", u))
		if err != nil || man.Segments["v0/"+u] != got {
			t.Errorf("v0/%s: manifest %q, file %q (%v)", u, man.Segments["v0/"+u], got, err)
		}
	}
	// ffprobe needs the init segment in front of the media segment.
	joined := filepath.Join(t.TempDir(), "joined.mp4")
	init, _ := os.ReadFile(filepath.Join(dir, "v0", uris[0]))
	seg, _ := os.ReadFile(filepath.Join(dir, "v0", uris[1]))
	if err := os.WriteFile(joined, append(init, seg...), 0o644); err != nil {
		t.Fatal(err)
	}
	probeSegment(t, tools[1], joined, cfg)
}

func TestNewReportsMissingTools(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr error
		want    string
	}{
		{"ffmpeg", func(c *Config) { c.FFmpegPath = filepath.Join(dir, "no-ffmpeg") }, ErrFFmpegMissing, "apt-get install ffmpeg"},
		{"font", func(c *Config) { c.FFmpegPath = "/bin/sh"; c.FontFile = filepath.Join(dir, "none.ttf") }, ErrFontMissing, "apt-get install fonts-dejavu-core"},
		{"bad config", func(c *Config) { c.FPS = 500 }, nil, "hls.fps: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := SmallConfig(dir)
			tt.mod(&cfg)
			_, err := New(cfg, nil, nil)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
