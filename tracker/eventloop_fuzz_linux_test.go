package tracker

import (
	"testing"

	"swarmcast/tracker/wsframe"
)

// FuzzEventLoopInput feeds arbitrary bytes, cut into arbitrary reads, to an event-loop
// connection's parser and the hub behind it. The connection has no socket (writes fail,
// which the connection must also survive). Whatever the input, nothing panics, the
// bytes kept for an incomplete frame never exceed one frame's worth, and a connection
// that has failed processes nothing more.
func FuzzEventLoopInput(f *testing.F) {
	f.Add(text(announceFrame), uint16(7), true)
	f.Add(append(frame(0x01, []byte(announceFrame[:9]), true), frame(0x80, []byte(announceFrame[9:]), true)...), uint16(3), false)
	f.Add(frame(0xC1, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true), uint16(1), true)
	f.Add(frame(0x88, []byte{0x03, 0xE8}, true), uint16(100), false)
	f.Add(frame(0x81, make([]byte, 70000), true)[:40], uint16(5), false)
	cfg := testConfig(func(c *Config) { c.Servers[0].WebSockets.MaxPayloadLength = 8192 })
	srv, err := New(cfg, Options{}) // one server (never run) per fuzz process: its hub outlives inputs
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	l := srv.listeners[0]
	lp := &loop{p: srv.poller, buf: make([]byte, readChunk)}
	f.Fuzz(func(t *testing.T, input []byte, cut uint16, deflate bool) {
		c := &fastConn{l: l, lp: lp, fd: -1, remote: "fuzz", deflate: deflate}
		c.sess = srv.hub.NewSession(c)
		if !l.register(c) {
			t.Fatal("register")
		}
		l.count.Add(1)
		step := int(cut)%64 + 1
		for len(input) > 0 && !c.dead {
			k := min(step, len(input))
			chunk := input[:k]
			input = input[k:]
			var data []byte
			if len(c.in) > 0 {
				c.in = append(c.in, chunk...)
				data = c.in
			} else {
				data = append(lp.buf[:0], chunk...)
			}
			lp.process(c, data)
			lp.flushDirty() // as the loop does after each batch
			if len(c.in) > 8192+wsframe.MaxHeaderLen+4096 {
				t.Fatalf("%d bytes kept for an incomplete frame", len(c.in))
			}
		}
		if !c.dead {
			lp.teardown(c)
		}
		if n := l.openConnections(); n != 0 {
			t.Fatalf("%d connections still counted", n)
		}
	})
}
