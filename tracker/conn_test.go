package tracker

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pipeListener is an in-memory net.Listener over net.Pipe, so a whole Server can run in a
// synctest bubble (blocking on pipes is "durable"; blocking on real sockets is not).
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// reader reads c until it fails and records when.
type reader struct {
	ended atomic.Bool
	pings atomic.Int32
}

func (r *reader) run(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			r.ended.Store(true)
			return
		}
	}
}

// TestIdleTimeoutVirtualTime runs a Server with wt-tracker's default idleTimeout (240 s)
// in virtual time: a peer that answers pings stays; a peer that reads but never answers
// pings is cut between 240 s and 300 s (idleTimeout + one sweep tick), not before.
func TestIdleTimeoutVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(nil)
		if cfg.Servers[0].WebSockets.IdleTimeout != 240 {
			t.Fatalf("default idleTimeout = %d, want 240", cfg.Servers[0].WebSockets.IdleTimeout)
		}
		srv, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		pl := newPipeListener()
		_ = srv.listeners[0].ln.Close()
		srv.listeners[0].ln = pl
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- srv.Run(ctx) }()

		d := websocket.Dialer{NetDialContext: pl.dial}
		dialReader := func(answerPings bool) *reader {
			c, _, err := d.Dial("ws://pipe/", nil)
			if err != nil {
				t.Fatal(err)
			}
			r := &reader{}
			c.SetPingHandler(func(data string) error {
				r.pings.Add(1)
				if !answerPings {
					return nil
				}
				return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})
			go r.run(c)
			return r
		}
		live := dialReader(true)
		deaf := dialReader(false)

		time.Sleep(299 * time.Second)
		synctest.Wait()
		if live.ended.Load() || deaf.ended.Load() {
			t.Fatalf("after 299 s: live ended %v, deaf ended %v; want both open", live.ended.Load(), deaf.ended.Load())
		}
		if live.pings.Load() == 0 || deaf.pings.Load() == 0 {
			t.Errorf("no ping sent before idleTimeout: live %d, deaf %d", live.pings.Load(), deaf.pings.Load())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !deaf.ended.Load() {
			t.Error("the peer that never answers pings is still connected after 301 s")
		}
		if got := srv.metrics.closes.WithLabelValues(ReasonIdleTimeout.String()); testutil.ToFloat64(got) != 1 {
			t.Errorf("closes{idle_timeout} = %v, want 1", testutil.ToFloat64(got))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if live.ended.Load() {
			t.Error("the peer that answers pings was dropped")
		}
		// One ping each time the peer has been silent for 3 ticks of 60 s: every 180 s.
		if n := live.pings.Load(); n < 20 || n > 22 {
			t.Errorf("live peer got %d pings in 3900 s, want about 21 (one per 180 s)", n)
		}
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		synctest.Wait()
		if !live.ended.Load() {
			t.Error("live connection still open after shutdown")
		}
	})
}
