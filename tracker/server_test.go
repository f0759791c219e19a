package tracker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// ioWait bounds every wait on the network in these tests: a safety net against hangs, not
// a performance assertion (a healthy server answers within milliseconds).
const ioWait = 10 * time.Second

// testConfig is the default config on 127.0.0.1, port 0, changed by mods (nil ones are
// skipped).
func testConfig(mods ...func(c *Config)) Config {
	c := DefaultConfig()
	c.Servers[0].Server.Host = "127.0.0.1"
	c.Servers[0].Server.Port = 0
	c.ShutdownTimeout = 5
	for _, mod := range mods {
		if mod != nil {
			mod(&c)
		}
	}
	return c
}

// forEachTransport runs f once per connection transport this platform has ("epoll" on
// Linux, then "goroutines"), as subtests; tr sets every listener's transport.
func forEachTransport(t *testing.T, f func(t *testing.T, tr func(*Config))) {
	t.Helper()
	names := []string{TransportGoroutines}
	if eventLoopsAvailable {
		names = []string{TransportEventLoop, TransportGoroutines}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f(t, func(c *Config) {
				for i := range c.Servers {
					c.Servers[i].WebSockets.Transport = name
				}
			})
		})
	}
}

// testServer is a running Server and what the tests need to reach it.
type testServer struct {
	*Server
	reg    *prometheus.Registry
	cancel context.CancelFunc
	runErr chan error
}

// url returns the ws:// (or wss://) URL of listener i with path.
func (ts *testServer) url(i int, path string) string {
	scheme := "ws://"
	if ts.listeners[i].tls != nil {
		scheme = "wss://"
	}
	return scheme + ts.Addrs()[i].String() + path
}

// httpURL returns the http:// URL of listener 0 with path.
func (ts *testServer) httpURL(path string) string { return "http://" + ts.Addrs()[0].String() + path }

// stop cancels Run and returns its result.
func (ts *testServer) stop(t *testing.T) error {
	t.Helper()
	ts.cancel()
	select {
	case err := <-ts.runErr:
		ts.runErr <- err
		return err
	case <-time.After(2 * ioWait):
		t.Fatal("Run did not return after its context was cancelled")
		return nil
	}
}

// startServer creates and runs a Server; it is ready when this returns (New binds the
// listeners). It is closed, and checked for leaked goroutines, in t.Cleanup.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	checkNoLeaks(t)
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg, Options{Logger: logger, Registry: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, reg: reg, cancel: cancel, runErr: make(chan error, 1)}
	go func() { ts.runErr <- srv.Run(ctx) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := ts.stop(t); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ts
}

// leakMarkers are stack frames that only goroutines of a live Server have.
var leakMarkers = []string{
	"swarmcast/tracker.(*listener)",
	"swarmcast/tracker.(*conn)",
	"swarmcast/tracker.(*loop)",
	"swarmcast/tracker.(*poller)",
	"swarmcast/tracker.(*Server)",
	"swarmcast/tracker.(*tlsState)",
	"swarmcast/tracker.(*Hub).Run",
	"net/http.(*conn).serve",
	"net/http.(*Server).Serve",
}

// leakChecked records the tests that already have a leak check.
var leakChecked sync.Map // *testing.T → struct{}

// checkNoLeaks fails the test when, after every later cleanup has run (servers closed),
// goroutines of a Server are still alive. Call it before starting servers; calls after
// the first one in the same test do nothing.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	if _, dup := leakChecked.LoadOrStore(t, struct{}{}); dup {
		return
	}
	t.Cleanup(func() {
		defer leakChecked.Delete(t)
		deadline := time.Now().Add(ioWait)
		for {
			leaked := serverGoroutines()
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines still running after Close:\n%s", strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, m := range leakMarkers {
			if strings.Contains(g, m) {
				leaked = append(leaked, g)
				break
			}
		}
	}
	return leaked
}

// dial opens a WebSocket to url, failing the test on error; closed in t.Cleanup.
func dial(t *testing.T, d *websocket.Dialer, url string, hdr http.Header) (*websocket.Conn, *http.Response) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{}
	}
	d.HandshakeTimeout = ioWait
	c, resp, err := d.Dial(url, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, resp
}

// dialStatus tries a WebSocket dial that must be refused and returns the HTTP status.
func dialStatus(t *testing.T, url string, hdr http.Header) int {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: ioWait}
	c, resp, err := d.Dial(url, hdr)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want it refused", url)
	}
	if resp == nil {
		t.Fatalf("dial %s: %v (no HTTP response)", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// readClose reads until the connection ends and returns the close code (-1: no close frame).
func readClose(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioWait))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure { // 1006: gorilla's "no close frame"
			return ce.Code
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v", ioWait)
		}
		return -1
	}
}

// announce is a P2P Media Loader style announce; reply is the tracker's answer to it.
const (
	announceFrame = `{"action":"announce","info_hash":"abcdefghij0123456789","peer_id":"-PM0203-aaaaaaaaaaaa","event":"started","numwant":5,"uploaded":0,"downloaded":0,"offers":[]}`
	announceReply = `{"action":"announce","interval":20,"info_hash":"abcdefghij0123456789","complete":0,"incomplete":1}`
)

// roundTrip sends frame and returns the next text frame.
func roundTrip(t *testing.T, c *websocket.Conn, frame string) string {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(ioWait))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(msg)
}

// httpGet fetches url and returns status, body and Content-Type.
func httpGet(t *testing.T, method, url string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := http.Client{Timeout: ioWait}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
}

// closes returns swarmcast_tracker_ws_closes_total for reason.
func (ts *testServer) closes(reason CloseReason) float64 {
	return testutil.ToFloat64(ts.metrics.closes.WithLabelValues(reason.String()))
}

// waitRegistered waits until listener i has n registered connections (the client's dial
// returns when it has read the 101 response, a moment before the server registers it).
func (ts *testServer) waitRegistered(t *testing.T, i, n int) {
	t.Helper()
	l := ts.listeners[i]
	eventually(t, "connections to register", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.conns) == n
	})
}

// eventually polls cond until it holds or ioWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAnnounceThroughServer(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		ts := startServer(t, testConfig(tr))
		c, _ := dial(t, nil, ts.url(0, "/"), nil)
		if got := roundTrip(t, c, announceFrame); got != announceReply {
			t.Fatalf("reply = %s\nwant    %s", got, announceReply)
		}
	})
}

func TestMalformedFrameClosesOnlyItsConnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		tests := []struct {
			name   string
			kind   int
			frame  string
			code   int
			reason CloseReason
		}{
			{"invalid json", websocket.TextMessage, `{"action":`, websocket.CloseInvalidFramePayloadData, ReasonInvalidJSON},
			{"null frame", websocket.TextMessage, `null`, websocket.CloseInvalidFramePayloadData, ReasonInvalidJSON},
			{"unknown action", websocket.TextMessage, `{"action":"dance"}`, websocket.ClosePolicyViolation, ReasonProtocol},
			{"binary frame", websocket.BinaryMessage, announceFrame, websocket.CloseUnsupportedData, ReasonBinaryFrame},
			{"too big", websocket.TextMessage, `{"action":"announce","pad":"` + strings.Repeat("x", 300) + `"}`, websocket.CloseMessageTooBig, ReasonMessageTooBig},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.MaxPayloadLength = 256 }))
				bystander, _ := dial(t, nil, ts.url(0, "/"), nil)
				bad, _ := dial(t, nil, ts.url(0, "/"), nil)
				if err := bad.WriteMessage(tt.kind, []byte(tt.frame)); err != nil {
					t.Fatal(err)
				}
				if code := readClose(t, bad); code != tt.code {
					t.Errorf("close code = %d, want %d", code, tt.code)
				}
				eventually(t, "close metric", func() bool { return ts.closes(tt.reason) == 1 })
				if got := roundTrip(t, bystander, announceFrame); got != announceReply {
					t.Errorf("bystander got %s, want %s", got, announceReply)
				}
			})
		}
	})
}

func TestSubprotocolEchoAndCompression(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		tests := []struct {
			name        string
			compression int
			wantDeflate bool
		}{
			{"compression off", 0, false},
			{"compression 1", 1, true},
			{"compression 2 treated as on", 2, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.Compression = tt.compression }))
				d := &websocket.Dialer{Subprotocols: []string{"wt", "other"}, EnableCompression: true}
				c, resp := dial(t, d, ts.url(0, "/"), nil)
				if got := resp.Header.Get("Sec-Websocket-Protocol"); got != "wt" {
					t.Errorf("Sec-WebSocket-Protocol = %q, want the first requested, %q", got, "wt")
				}
				ext := resp.Header.Get("Sec-Websocket-Extensions")
				if got := strings.Contains(ext, "permessage-deflate"); got != tt.wantDeflate {
					t.Fatalf("extensions = %q, want permessage-deflate: %v", ext, tt.wantDeflate)
				}
				if tt.wantDeflate && (!strings.Contains(ext, "server_no_context_takeover") || !strings.Contains(ext, "client_no_context_takeover")) {
					t.Errorf("extensions = %q, want no context takeover both ways", ext)
				}
				c.EnableWriteCompression(true) // the client compresses; the server must inflate
				if got := roundTrip(t, c, announceFrame); got != announceReply {
					t.Errorf("reply = %s, want %s", got, announceReply)
				}
			})
		}
	})
}

func TestUpgradeOnlyOnMatchingPath(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		tests := []struct {
			pattern string
			ok      []string
			refused []string
		}{
			{"/*", []string{"/", "/announce", "/stats.json", "/a/b"}, nil},
			{"/announce", []string{"/announce"}, []string{"/", "/announce/", "/announcex", "/x/announce"}},
			{"/ws/*", []string{"/ws", "/ws/", "/ws/x/y"}, []string{"/", "/wsx", "/other/ws"}},
		}
		for _, tt := range tests {
			t.Run(tt.pattern, func(t *testing.T) {
				ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.Path = tt.pattern }))
				for _, p := range tt.ok {
					c, _ := dial(t, nil, ts.url(0, p), nil)
					if got := roundTrip(t, c, announceFrame); got != announceReply {
						t.Errorf("%s: reply %s", p, got)
					}
					c.Close()
				}
				for _, p := range tt.refused {
					if got := dialStatus(t, ts.url(0, p), nil); got != http.StatusNotFound {
						t.Errorf("%s: upgrade status %d, want 404 (the HTTP routes)", p, got)
					}
				}
			})
		}
	})
}

func TestMaxConnections(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.MaxConnections = 2 }))
		a, _ := dial(t, nil, ts.url(0, "/"), nil)
		dial(t, nil, ts.url(0, "/"), nil)
		if got := dialStatus(t, ts.url(0, "/"), nil); got != http.StatusServiceUnavailable {
			t.Fatalf("third connection: status %d, want 503", got)
		}
		if got := testutil.ToFloat64(ts.metrics.rejected.WithLabelValues(rejectMaxConnections)); got != 1 {
			t.Errorf("rejected{max_connections} = %v, want 1", got)
		}
		a.Close()
		eventually(t, "a slot to free up", func() bool { return ts.listeners[0].openConnections() == 1 })
		c, _ := dial(t, nil, ts.url(0, "/"), nil)
		if got := roundTrip(t, c, announceFrame); got != announceReply {
			t.Errorf("reply = %s", got)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		// Real time on loopback (TestIdleTimeoutVirtualTime covers the exact timing with
		// synctest). idleTimeout 2 s: pings after 1–1.5 s of silence, cut after 2–2.5 s; a live
		// client has at least 1 s to answer a ping.
		ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.IdleTimeout = 2 }))

		// live answers pings (gorilla's client replies to pings while it reads).
		live, _ := dial(t, nil, ts.url(0, "/"), nil)
		var pings atomic.Int32
		live.SetPingHandler(func(data string) error {
			pings.Add(1)
			return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(ioWait))
		})
		liveErr := make(chan error, 1)
		go func() {
			_, _, err := live.ReadMessage()
			liveErr <- err
		}()

		// dead never reads, so it never answers a ping: a dead peer.
		dead, _ := dial(t, nil, ts.url(0, "/"), nil)
		eventually(t, "the silent connection to be dropped", func() bool { return ts.closes(ReasonIdleTimeout) == 1 })
		if code := readClose(t, dead); code != -1 {
			t.Errorf("dead peer got close code %d, want the connection cut", code)
		}
		// live has been open as long as dead and got pings; it must still be there after
		// another full idleTimeout.
		eventually(t, "two pings", func() bool { return pings.Load() >= 2 })
		select {
		case err := <-liveErr:
			t.Fatalf("live connection ended: %v", err)
		default:
		}
		if ts.closes(ReasonIdleTimeout) != 1 {
			t.Errorf("closes{idle_timeout} = %v, want 1", ts.closes(ReasonIdleTimeout))
		}
		live.Close()
		<-liveErr
	})
}

func TestSlowConsumerIsClosed(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		ts := startServer(t, testConfig(tr, func(c *Config) { c.Servers[0].WebSockets.SendQueueLength = 4 }))
		dial(t, nil, ts.url(0, "/"), nil) // the client never reads
		var c Sender
		eventually(t, "the connection to register", func() bool {
			l := ts.listeners[0]
			l.mu.Lock()
			defer l.mu.Unlock()
			for k := range l.conns {
				c = k.(Sender)
			}
			return c != nil
		})
		frame := []byte(`{"pad":"` + strings.Repeat("x", 60<<10) + `"}`)
		dropped := false
		for i := 0; i < 10000 && !dropped; i++ {
			dropped = !c.Send(append([]byte(nil), frame...))
		}
		if !dropped {
			t.Fatal("Send never reported a drop although the client reads nothing")
		}
		eventually(t, "the slow consumer to be closed", func() bool { return ts.closes(ReasonSlowConsumer) == 1 })
		if c.Send([]byte(`{}`)) {
			t.Error("Send on a closed connection reported success")
		}
	})
}

func TestGracefulShutdownSends1001(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		ts := startServer(t, testConfig(tr))
		a, _ := dial(t, nil, ts.url(0, "/"), nil)
		b, _ := dial(t, nil, ts.url(0, "/"), nil)
		ts.waitRegistered(t, 0, 2)
		codes := make(chan int, 2)
		for _, c := range []*websocket.Conn{a, b} {
			go func() { codes <- readClose(t, c) }()
		}
		if err := ts.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		for range 2 {
			if code := <-codes; code != websocket.CloseGoingAway {
				t.Errorf("close code = %d, want 1001", code)
			}
		}
		if got := ts.closes(ReasonServerShutdown); got != 2 {
			t.Errorf("closes{server_shutdown} = %v, want 2", got)
		}
		if _, _, err := (&websocket.Dialer{HandshakeTimeout: ioWait}).Dial(ts.url(0, "/"), nil); err == nil {
			t.Error("dial after shutdown succeeded")
		}
	})
}

func TestShutdownTimeoutCutsUnresponsiveClients(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr func(*Config)) {
		ts := startServer(t, testConfig(tr, func(c *Config) { c.ShutdownTimeout = 1 }))
		dial(t, nil, ts.url(0, "/"), nil) // never reads, so never answers the close frame
		ts.waitRegistered(t, 0, 1)
		start := time.Now()
		if err := ts.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// Not a performance assertion: without the timeout Run would never return at all.
		if d := time.Since(start); d < time.Second {
			t.Errorf("Run returned after %v, before the 1 s shutdownTimeout although a client had not answered", d)
		}
		if got := ts.closes(ReasonServerShutdown); got != 1 {
			t.Errorf("closes{server_shutdown} = %v, want 1", got)
		}
	})
}

func TestCloseIsIdempotent(t *testing.T) {
	checkNoLeaks(t)
	srv, err := New(testConfig(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addrs()[0].String()
	for range 2 {
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := srv.Run(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Run after Close = %v, want ErrServerClosed", err)
	}
	if _, _, err := (&websocket.Dialer{HandshakeTimeout: ioWait}).Dial("ws://"+addr+"/", nil); err == nil {
		t.Error("the listener still accepts after Close")
	}
}

func TestCloseWhileRunning(t *testing.T) {
	ts := startServer(t, testConfig(nil))
	for range 3 {
		c, _ := dial(t, nil, ts.url(0, "/"), nil)
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ts.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	// Close has waited for every reader and writer; only net/http's own per-connection
	// goroutine may need a moment to return after handing over the socket.
	eventually(t, "server goroutines to end after Close", func() bool { return len(serverGoroutines()) == 0 })
}

func TestNewErrorsNameTheKey(t *testing.T) {
	busy := startServer(t, testConfig(nil))
	port := busy.Addrs()[0].(*net.TCPAddr).Port
	cfg := testConfig(func(c *Config) { c.Servers[0].Server.Port = port })
	_, err := New(cfg, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "servers[0].server:") {
		t.Errorf("New on a busy port: %v, want an error naming servers[0].server", err)
	}
}
