// Package browsertest runs real P2P Media Loader pages in Debian's headless Chromium for
// swarmcast's end-to-end tests. It is a test helper library: only _test.go files import it.
//
// It builds the test page from the npm packages in node_modules (esbuild for PML 2.3.1 and
// hls.js 1.6; the published classic scripts for PML 0.6.2 and hls.js 0.14.17), serves it on
// 127.0.0.1, starts Chromium in its own process group with a fresh profile, drives it through
// playwright-core over CDP from a small Node script (driver.mjs, JSON lines on stdin/stdout),
// and reads the byte counters the page keeps from the libraries' own events.
//
// A test typically does:
//
//	srv := browsertest.NewServer(t)
//	srv.Handle("/hls/", origin)
//	b := browsertest.Launch(t)
//	pages := b.OpenPages(3, 3*time.Second, srv.PageURL(browsertest.PageOptions{
//		Stream: srv.URL + "/hls/stream.m3u8", Tracker: trackerURL, Gen: browsertest.PML2}))
//	stats := browsertest.PollAll(t, pages)
//
// See docs/browser-tests.md.
package browsertest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed driver.mjs
var driverJS []byte

// chromiumFlags are the flags of docs/browser-e2e-notes: headless, no sandbox (we run as
// root in CI), no background traffic, loopback ICE candidates allowed and not hidden behind
// mDNS names, no throttling of background pages.
var chromiumFlags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-quic",
	"--disable-sync",
	"--disable-extensions",
	"--remote-debugging-address=127.0.0.1",
	"--remote-debugging-port=0",
	"--autoplay-policy=no-user-gesture-required",
	"--mute-audio",
	"--disable-background-timer-throttling",
	"--disable-renderer-backgrounding",
	"--disable-backgrounding-occluded-windows",
	"--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate",
	"--allow-loopback-in-peer-connection",
}

// Permissions granted to every page origin: Chromium 156 lets a page reach 127.0.0.1 only with
// local-network-access, and offers loopback ICE candidates only with camera and microphone.
var Permissions = []string{"local-network-access", "camera", "microphone"}

// Browser is a headless Chromium and the Node driver that controls it.
type Browser struct {
	tb      testing.TB
	dir     string
	chrome  *exec.Cmd
	driver  *exec.Cmd
	stdin   io.WriteCloser
	Version string

	mu      sync.Mutex
	nextID  int
	pending map[int]chan reply
	done    bool // the test is over: no more logging
	dead    error
	exited  chan struct{} // closed when Chromium's main process has exited
}

type reply struct {
	ID     int             `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Event  string          `json:"event"`
	Page   int             `json:"page"`
	Text   string          `json:"text"`
}

// chromiumBinary prefers the real binary over Debian's /usr/bin/chromium shell wrapper, so
// that the process we start is the browser itself.
func chromiumBinary(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		return "/usr/lib/chromium/chromium"
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Launch starts headless Chromium with a fresh profile in its own process group, connects the
// playwright-core driver to it, and registers a tb.Cleanup that kills both process groups.
func Launch(tb testing.TB) *Browser {
	tb.Helper()
	root := Require(tb)
	dir, err := os.MkdirTemp("", "swarmcast-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	b := &Browser{tb: tb, dir: dir, pending: map[int]chan reply{}}
	tb.Cleanup(b.Close)

	profile := filepath.Join(dir, "profile")
	logf, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile, "about:blank")
	b.chrome = exec.Command(chromiumBinary(tb), args...)
	b.chrome.Stdout, b.chrome.Stderr = logf, logf
	// Own process group (Close kills the group); SIGKILL if the test binary dies first (a
	// timeout panic runs no Cleanup), so no browser outlives the run.
	b.chrome.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.chrome.Start(); err != nil {
		tb.Fatalf("starting chromium: %v", err)
	}
	exited := make(chan struct{})
	b.exited = exited
	go func() { b.chrome.Wait(); close(exited) }()

	// Chromium writes the port it picked and the browser target's path to DevToolsActivePort.
	var endpoint string
	deadline := time.Now().Add(30 * time.Second)
	for endpoint == "" {
		select {
		case <-exited:
			tb.Fatalf("chromium exited at start-up:\n%s", b.chromiumLog())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("chromium did not open its DevTools port in 30s:\n%s", b.chromiumLog())
		}
		if data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			if lines := strings.Fields(string(data)); len(lines) == 2 {
				endpoint = "ws://127.0.0.1:" + lines[0] + lines[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}

	script := filepath.Join(dir, "driver.mjs")
	if err := os.WriteFile(script, driverJS, 0o644); err != nil {
		tb.Fatal(err)
	}
	b.driver = exec.Command("node", script, root, endpoint)
	b.driver.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	b.driver.Stderr = &logWriter{b: b, prefix: "driver: "}
	if b.stdin, err = b.driver.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := b.driver.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.driver.Start(); err != nil {
		tb.Fatalf("starting the node driver: %v", err)
	}
	go b.read(stdout)

	var res struct{ Version string }
	if err := b.call(60*time.Second, &res, map[string]any{"op": "connect", "permissions": Permissions}); err != nil {
		tb.Fatalf("connecting playwright-core to chromium: %v\n%s", err, b.chromiumLog())
	}
	b.Version = res.Version
	tb.Logf("browsertest: chromium %s (pid %d), profile %s", b.Version, b.chrome.Process.Pid, profile)
	return b
}

// chromiumLog returns the last few KB of Chromium's output.
func (b *Browser) chromiumLog() string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "chromium.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

func (b *Browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.tb.Logf(format, args...)
	}
}

// logWriter sends the driver's stderr to the test log, line by line.
type logWriter struct {
	b      *Browser
	prefix string
	buf    bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.b.logf("browsertest: %s%s", w.prefix, strings.TrimRight(line, "\n"))
	}
}

func (b *Browser) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m reply
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			b.logf("browsertest: driver said %q", sc.Text())
			continue
		}
		if m.Event != "" {
			if m.Event != "console" || !strings.HasPrefix(m.Text, "debug:") {
				b.logf("browsertest: page %d %s: %s", m.Page, m.Event, m.Text)
			}
			continue
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("driver exited")
	}
	b.mu.Lock()
	b.dead = err
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
	b.mu.Unlock()
}

// call sends one command to the driver and decodes its result into out (if not nil).
func (b *Browser) call(timeout time.Duration, out any, cmd map[string]any) error {
	b.mu.Lock()
	if b.dead != nil {
		b.mu.Unlock()
		return b.dead
	}
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.pending[id] = ch
	cmd["id"] = id
	line, err := json.Marshal(cmd)
	if err == nil {
		_, err = b.stdin.Write(append(line, '\n'))
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("driver exited before answering %v", cmd["op"])
		}
		if !r.OK {
			return fmt.Errorf("%v: %s", cmd["op"], r.Error)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-time.After(timeout):
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%v: no answer in %v", cmd["op"], timeout)
	}
}

// Close kills Chromium's and the driver's process groups and removes the profile. Launch
// registers it with tb.Cleanup; calling it again does nothing.
func (b *Browser) Close() {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.done = true
	b.mu.Unlock()
	if b.stdin != nil {
		b.stdin.Close()
	}
	for _, c := range []*exec.Cmd{b.driver, b.chrome} {
		if c != nil && c.Process != nil {
			// Negative pid: the whole process group (renderers, GPU and utility processes).
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
	if b.driver != nil && b.driver.Process != nil {
		b.driver.Wait()
	}
	// Wait for Chromium (its Wait runs in Launch's goroutine) before removing the profile.
	if b.exited != nil {
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			b.tb.Errorf("browsertest: chromium pid %d did not exit after SIGKILL", b.chrome.Process.Pid)
		}
	}
	os.RemoveAll(b.dir)
}

// Page is one browser tab running the test page.
type Page struct {
	b *Browser
	// N is the page's number in this browser, from 0.
	N int
	// URL is the page's URL.
	URL string
}

// Open opens url in a new tab, in a browser context of its own (its own HTTP cache, like a
// separate viewer), grants Permissions to its origin, and waits for the
// load event.
func (b *Browser) Open(url string) *Page {
	b.tb.Helper()
	var res struct{ Page int }
	if err := b.call(60*time.Second, &res, map[string]any{"op": "open", "url": url}); err != nil {
		b.tb.Fatalf("opening %s: %v", url, err)
	}
	return &Page{b: b, N: res.Page, URL: url}
}

// OpenPages opens n tabs on url, gap apart (peers that join one after the other, as viewers do).
func (b *Browser) OpenPages(n int, gap time.Duration, url string) []*Page {
	b.tb.Helper()
	pages := make([]*Page, 0, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(gap)
		}
		pages = append(pages, b.Open(url))
	}
	return pages
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise) and decodes the
// JSON value into out (if not nil).
func (p *Page) Eval(expr string, out any) error {
	return p.b.call(30*time.Second, out, map[string]any{"op": "eval", "page": p.N, "expr": expr})
}

// Stats reads the page's counters.
func (p *Page) Stats() (Stats, error) {
	var s Stats
	err := p.Eval("window.swarmcastStats()", &s)
	return s, err
}

// Stop makes the page's player stop loading (hls.stopLoad), so its transfers can drain.
func (p *Page) Stop() error { return p.Eval("window.swarmcastStop()", nil) }

// Screenshot saves a PNG of the page to path.
func (p *Page) Screenshot(path string) error {
	return p.b.call(30*time.Second, nil, map[string]any{"op": "screenshot", "page": p.N, "path": path})
}

// Close closes the tab.
func (p *Page) Close() error {
	return p.b.call(30*time.Second, nil, map[string]any{"op": "close", "page": p.N})
}
