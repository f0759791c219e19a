package browsertest

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPageURL(t *testing.T) {
	got := PageURL("http://127.0.0.1:8000/page", PageOptions{
		Stream: "http://127.0.0.1:8000/hls/master.m3u8", Tracker: "ws://127.0.0.1:8000",
		Gen: PML06, Core: map[string]any{"simultaneousP2PDownloads": 5}, HLS: map[string]any{"liveSyncDurationCount": 7},
	})
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/page/index.html" {
		t.Errorf("path %q", u.Path)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"stream": "http://127.0.0.1:8000/hls/master.m3u8", "tracker": "ws://127.0.0.1:8000", "gen": "0.6",
		"core": `{"simultaneousP2PDownloads":5}`, "hls": `{"liveSyncDurationCount":7}`,
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Has("strip") || q.Has("swarmId") {
		t.Errorf("unexpected parameters in %s", got)
	}
	if g := PageURL("http://h/", PageOptions{}); !strings.Contains(g, "gen=2") {
		t.Errorf("default generation missing: %s", g)
	}
}

func TestCheckLoopback(t *testing.T) {
	ok := []Stats{{Pairs: []Pair{
		{Local: "127.0.0.1", Remote: "127.0.0.1"},
		{Local: "::1", Remote: "::1"},
		{Local: "::1", Remote: "", RemoteType: "prflx"},
	}}}
	if err := CheckLoopback(ok); err != nil {
		t.Errorf("loopback pairs rejected: %v", err)
	}
	for _, p := range []Pair{
		{Local: "fd00::2", Remote: "::1"},
		{Local: "127.0.0.1", Remote: "192.0.2.2"},
		{Local: "127.0.0.1", Remote: "", RemoteType: "host"},
		{Local: "", Remote: "127.0.0.1"},
	} {
		if err := CheckLoopback([]Stats{{Pairs: []Pair{p}}}); err == nil {
			t.Errorf("pair %+v accepted", p)
		}
	}
}

func TestSum(t *testing.T) {
	tot := Sum([]Stats{{HTTPBytes: 10, P2PBytes: 30, UploadedBytes: 5}, {HTTPBytes: 50, P2PBytes: 10, UploadedBytes: 35}})
	if tot != (Totals{HTTPBytes: 60, P2PBytes: 40, UploadedBytes: 40}) {
		t.Errorf("Sum = %+v", tot)
	}
	if s := tot.P2PShare(); s != 0.4 {
		t.Errorf("P2PShare = %v", s)
	}
}

// TestBuildPage builds the page from node_modules and checks that every script it loads is
// there and that the PML 2 bundle holds both libraries.
func TestBuildPage(t *testing.T) {
	root := Require(t)
	dir := t.TempDir()
	if err := BuildPage(root, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "harness.js", "pml06.js", "bundle/pml2.js",
		"bundle/hls-0.14.min.js", "bundle/p2p-media-loader-core-0.6.min.js", "bundle/p2p-media-loader-hlsjs-0.6.min.js"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "bundle/pml2.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HlsJsP2PEngine", "onChunkDownloaded", "-PM", "swarmcastHarness"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("bundle/pml2.js lacks %q", want)
		}
	}
}

// TestBrowserLifecycle launches Chromium, opens the page without a stream (the page must say
// so through swarmcastStats), takes a screenshot, and checks that Close leaves no process of
// the browser's group behind.
func TestBrowserLifecycle(t *testing.T) {
	srv := NewServer(t)
	b := Launch(t)
	p := b.Open(srv.URL + "/page/index.html")
	var s Stats
	deadline := time.Now().Add(10 * time.Second)
	for s.Failed == "" && time.Now().Before(deadline) {
		var err error
		if s, err = p.Stats(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(s.Failed, "needs stream and tracker") {
		t.Errorf("page failure = %q, want the missing-parameters message", s.Failed)
	}
	shot := filepath.Join(t.TempDir(), "page.png")
	if err := p.Screenshot(shot); err != nil {
		t.Fatal(err)
	}
	if png, err := os.ReadFile(shot); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("screenshot is not a PNG (%v)", err)
	}
	pgid := b.chrome.Process.Pid
	b.Close()
	// Signal 0 to the group: ESRCH once every process in it is gone.
	deadline = time.Now().Add(5 * time.Second)
	for {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium's process group %d still exists after Close (%v)", pgid, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(b.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile directory %s left behind", b.dir)
	}
}
