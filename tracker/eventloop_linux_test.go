package tracker

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmcast/tracker/wsframe"
)

// rawClient is a hand-rolled WebSocket client: it sends frames exactly as a test builds
// them (masked or not, fragmented, split across TCP writes) and reads server frames.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// upgradeRequest is a valid upgrade request for addr; extra lines go before the blank line.
func upgradeRequest(addr string, extra ...string) string {
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n"
	for _, e := range extra {
		req += e + "\r\n"
	}
	return req + "\r\n"
}

// dialRaw opens a TCP connection, sends the upgrade request followed by early (bytes a
// client should not send before the 101, but may), and checks the 101 response.
func dialRaw(t *testing.T, ts *testServer, early []byte, extra ...string) *rawClient {
	t.Helper()
	addr := ts.Addrs()[0].String()
	nc, err := net.DialTimeout("tcp", addr, ioWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(ioWait))
	if _, err := nc.Write(append([]byte(upgradeRequest(addr, extra...)), early...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-Websocket-Accept"); got != wsframe.AcceptKey(testKey) {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	return &rawClient{t: t, nc: nc, br: br}
}

// frame builds a client frame: b0 is FIN/RSV/opcode, masked with a fixed key. Unmasked
// (mask false, a protocol error from a client) it is a final frame of b0's opcode with no
// RSV bits, as a server would send it.
func frame(b0 byte, payload []byte, mask bool) []byte {
	if !mask {
		return append(wsframe.AppendHeader(nil, b0&0x0F, len(payload)), payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f := wsframe.AppendClientHeader(nil, b0, len(payload), key)
	start := len(f)
	f = append(f, payload...)
	wsframe.Unmask(key, 0, f[start:])
	return f
}

func text(s string) []byte { return frame(0x81, []byte(s), true) }

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next server frame's opcode and payload.
func (c *rawClient) read() (byte, []byte) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(ioWait))
	var hb [10]byte
	if _, err := io.ReadFull(c.br, hb[:2]); err != nil {
		c.t.Fatalf("read header: %v", err)
	}
	if hb[1]&0x80 != 0 {
		c.t.Fatal("server frame is masked")
	}
	n := uint64(hb[1] & 0x7F)
	switch n {
	case 126:
		_, _ = io.ReadFull(c.br, hb[2:4])
		n = uint64(binary.BigEndian.Uint16(hb[2:4]))
	case 127:
		_, _ = io.ReadFull(c.br, hb[2:10])
		n = binary.BigEndian.Uint64(hb[2:10])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		c.t.Fatalf("read payload: %v", err)
	}
	return hb[0] & 0x0F, p
}

// expectText reads one frame and checks it is the text want.
func (c *rawClient) expectText(want string) {
	c.t.Helper()
	op, p := c.read()
	if op != wsframe.OpText || string(p) != want {
		c.t.Fatalf("got opcode %d %q, want text %q", op, p, want)
	}
}

// expectClose reads one frame and checks it is a close with code.
func (c *rawClient) expectClose(code int) {
	c.t.Helper()
	op, p := c.read()
	if op != wsframe.OpClose {
		c.t.Fatalf("got opcode %d %q, want a close frame", op, p)
	}
	got, _ := wsframe.ParseClosePayload(p)
	if got != code {
		c.t.Fatalf("close code %d (%q), want %d", got, p[min(2, len(p)):], code)
	}
}

// onlyFastConn waits for listener 0's single connection and returns it.
func onlyFastConn(t *testing.T, ts *testServer) *fastConn {
	t.Helper()
	ts.waitRegistered(t, 0, 1)
	l := ts.listeners[0]
	l.mu.Lock()
	defer l.mu.Unlock()
	for lc := range l.conns {
		return lc.(*fastConn)
	}
	t.Fatal("no connection")
	return nil
}

func eventLoopServer(t *testing.T, mods ...func(*Config)) *testServer {
	t.Helper()
	return startServer(t, testConfig(append([]func(*Config){func(c *Config) {
		c.Servers[0].WebSockets.Transport = TransportEventLoop
		c.Servers[0].WebSockets.MaxPayloadLength = 4096
	}}, mods...)...))
}

func TestEventLoopCarriesPlainWebSockets(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		wantFast  bool
	}{
		{"auto", TransportAuto, true},
		{"epoll", TransportEventLoop, true},
		{"goroutines", TransportGoroutines, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, testConfig(func(c *Config) { c.Servers[0].WebSockets.Transport = tt.transport }))
			c, _ := dial(t, nil, ts.url(0, "/"), nil)
			if got := roundTrip(t, c, announceFrame); got != announceReply {
				t.Fatalf("reply %s", got)
			}
			ts.waitRegistered(t, 0, 1)
			l := ts.listeners[0]
			l.mu.Lock()
			defer l.mu.Unlock()
			for lc := range l.conns {
				if _, fast := lc.(*fastConn); fast != tt.wantFast {
					t.Errorf("connection is %T, want event loop: %v", lc, tt.wantFast)
				}
			}
		})
	}
}

func TestEventLoopFraming(t *testing.T) {
	fragmented := append(append(frame(0x01, []byte(announceFrame[:10]), true), frame(0x89, []byte("ping!"), true)...),
		append(frame(0x00, []byte(announceFrame[10:50]), true), frame(0x80, []byte(announceFrame[50:]), true)...)...)
	tests := []struct {
		name  string
		send  [][]byte // TCP writes
		pong  bool     // a pong with "ping!" comes before the reply
		close int      // 0: a reply to the announce is expected
	}{
		{"one frame", [][]byte{text(announceFrame)}, false, 0},
		{"fragments around a ping", [][]byte{fragmented}, true, 0},
		{"split byte by byte", splitEvery(text(announceFrame), 1), false, 0},
		{"split inside the header", [][]byte{text(announceFrame)[:3], text(announceFrame)[3:]}, false, 0},
		{"unmasked", [][]byte{frame(0x81, []byte(announceFrame), false)}, false, wsframe.CloseProtocolError},
		{"RSV2", [][]byte{frame(0xA1, []byte(announceFrame), true)}, false, wsframe.CloseProtocolError},
		{"RSV1 without deflate", [][]byte{frame(0xC1, []byte(announceFrame), true)}, false, wsframe.CloseProtocolError},
		{"reserved opcode", [][]byte{frame(0x83, nil, true)}, false, wsframe.CloseProtocolError},
		{"continuation first", [][]byte{frame(0x80, []byte("x"), true)}, false, wsframe.CloseProtocolError},
		{"text inside fragments", [][]byte{frame(0x01, []byte("{"), true), text("{}")}, false, wsframe.CloseProtocolError},
		{"one-byte close", [][]byte{frame(0x88, []byte{3}, true)}, false, wsframe.CloseProtocolError},
		{"declared length above the limit", [][]byte{frame(0x81, make([]byte, 5000), true)[:20]}, false, wsframe.CloseMessageTooBig},
		{"fragments above the limit", [][]byte{frame(0x01, make([]byte, 3000), true), frame(0x80, make([]byte, 3000), true)}, false, wsframe.CloseMessageTooBig},
		{"binary", [][]byte{frame(0x82, []byte(announceFrame), true)}, false, wsframe.CloseUnsupportedData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := eventLoopServer(t)
			c := dialRaw(t, ts, nil)
			for _, b := range tt.send {
				c.write(b)
			}
			if tt.pong {
				if op, p := c.read(); op != wsframe.OpPong || string(p) != "ping!" {
					t.Fatalf("got opcode %d %q, want the pong", op, p)
				}
			}
			if tt.close != 0 {
				c.expectClose(tt.close)
				c.write(frame(0x88, []byte{0x03, 0xE8}, true)) // the client's answer ends it
				eventually(t, "the connection to end", func() bool { return ts.listeners[0].openConnections() == 0 })
				return
			}
			c.expectText(announceReply)
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func TestEventLoopEarlyDataAndPipelining(t *testing.T) {
	ts := eventLoopServer(t)
	// The first announce travels with the upgrade request; two more share one TCP write.
	second := strings.Replace(announceFrame, "aaaaaaaaaaaa", "bbbbbbbbbbbb", 1)
	third := strings.Replace(announceFrame, "aaaaaaaaaaaa", "cccccccccccc", 1)
	c := dialRaw(t, ts, text(announceFrame))
	c.expectText(announceReply)
	c.write(append(text(second), text(third)...))
	c.expectText(strings.Replace(announceReply, `"incomplete":1`, `"incomplete":2`, 1))
	c.expectText(strings.Replace(announceReply, `"incomplete":1`, `"incomplete":3`, 1))
}

func TestEventLoopCloseHandshake(t *testing.T) {
	ts := eventLoopServer(t)
	c := dialRaw(t, ts, nil)
	c.write(frame(0x88, []byte{0x0F, 0xA0, 'b', 'y', 'e'}, true)) // 4000
	c.expectClose(4000)
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("after the close echo: %v, want EOF", err)
	}
	eventually(t, "close metric", func() bool { return ts.closes(ReasonClientClosed) == 1 })
}

func TestEventLoopInflate(t *testing.T) {
	deflate := func(s string) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		_, _ = w.Write([]byte(s))
		_ = w.Flush()
		return b.Bytes()[:b.Len()-4]
	}
	big := `{"action":"announce","pad":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name  string
		send  []byte
		close int
	}{
		{"compressed", frame(0xC1, deflate(announceFrame), true), 0},
		{"compressed in fragments", func() []byte {
			d := deflate(announceFrame)
			return append(frame(0x41, d[:7], true), frame(0x80, d[7:], true)...)
		}(), 0},
		{"uncompressed on a deflate connection", text(announceFrame), 0},
		{"inflates above the limit", frame(0xC1, deflate(big), true), wsframe.CloseMessageTooBig},
		{"corrupt", frame(0xC1, []byte{0xff, 0xff, 0xff, 0x00}, true), wsframe.CloseInvalidPayload},
		{"RSV1 on a continuation", append(frame(0x41, deflate(announceFrame)[:3], true), frame(0xC0, deflate(announceFrame)[3:], true)...), wsframe.CloseProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := eventLoopServer(t)
			c := dialRaw(t, ts, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
			c.write(tt.send)
			if tt.close != 0 {
				c.expectClose(tt.close)
				return
			}
			c.expectText(announceReply)
		})
	}
}

// TestEventLoopBackpressure sends more than the socket buffers hold to a client that is
// not reading, then reads everything: frames arrive whole and in order, through the
// EPOLLOUT path.
func TestEventLoopBackpressure(t *testing.T) {
	ts := eventLoopServer(t, func(c *Config) { c.Servers[0].WebSockets.SendQueueLength = 1 << 16 })
	c := dialRaw(t, ts, nil)
	fc := onlyFastConn(t, ts)
	const frames = 400
	pad := strings.Repeat("p", 30<<10)
	for i := range frames {
		if !fc.Send([]byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, pad))) {
			t.Fatalf("Send %d dropped", i)
		}
	}
	fc.mu.Lock()
	blocked := fc.blocked
	fc.mu.Unlock()
	if !blocked {
		t.Fatal("12 MB to a client that does not read did not fill the socket")
	}
	for i := range frames {
		c.expectText(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, pad))
	}
	eventually(t, "EPOLLOUT to be turned off", func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return !fc.blocked && len(fc.out) == 0
	})
}

func TestEventLoopHandshakeErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"no key", strings.Replace(upgradeRequest("x"), "Sec-WebSocket-Key: "+testKey+"\r\n", "", 1), http.StatusBadRequest},
		{"short key", strings.Replace(upgradeRequest("x"), testKey, "abcd", 1), http.StatusBadRequest},
		{"version 8", strings.Replace(upgradeRequest("x"), "Version: 13", "Version: 8", 1), http.StatusBadRequest},
		{"POST", strings.Replace(upgradeRequest("x"), "GET", "POST", 1), http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := eventLoopServer(t)
			nc, err := net.DialTimeout("tcp", ts.Addrs()[0].String(), ioWait)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(ioWait))
			if _, err := nc.Write([]byte(tt.req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ts.listeners[0].openConnections() != 0 {
				t.Error("a refused upgrade still holds a connection slot")
			}
		})
	}
}

// TestEventLoopWriteTimeout: a client that stops reading while frames are pending is cut
// once its socket has made no progress for writeTimeout (the loop's scan checks every
// second), and counted as write_error.
func TestEventLoopWriteTimeout(t *testing.T) {
	ts := eventLoopServer(t, func(c *Config) {
		c.Servers[0].WebSockets.WriteTimeout = 1
		c.Servers[0].WebSockets.SendQueueLength = 1 << 16
	})
	dialRaw(t, ts, nil) // never reads
	fc := onlyFastConn(t, ts)
	pad := strings.Repeat("p", 30<<10)
	for i := 0; i < 400; i++ {
		if !fc.Send([]byte(`{"pad":"` + pad + `"}`)) {
			break
		}
	}
	fc.mu.Lock()
	blocked := fc.blocked
	fc.mu.Unlock()
	if !blocked {
		t.Fatal("the socket never filled")
	}
	eventually(t, "the stuck connection to be cut", func() bool { return ts.closes(ReasonWriteError) == 1 })
	if n := ts.listeners[0].openConnections(); n != 0 {
		t.Errorf("%d connections open after the write timeout", n)
	}
}
