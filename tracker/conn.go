package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"swarmcast/tracker/wire"
)

// closeGrace bounds how long a connection that is being closed waits for the client's
// close frame after sending its own.
const closeGrace = time.Second

// maxCloseText is the longest reason text a close frame can carry.
const maxCloseText = 123

// Idle detection runs in ticks of idleTimeout/4 (see listener.sweep): a ping is queued
// once a connection has been silent for pingAfterTicks ticks (between 1/2 and 3/4 of
// idleTimeout), and it is cut after idleAfterTicks ticks (between 1 and 5/4 of idleTimeout).
const (
	ticksPerIdleTimeout = 4
	pingAfterTicks      = 3
	idleAfterTicks      = 5
)

// conn is one tracker WebSocket connection with two goroutines: run (the reader: readLoop,
// then teardown) and writeLoop, the only writer of data frames. Control frames (close,
// ping, pong) are written with gorilla's WriteControl, which is safe next to the writer.
type conn struct {
	// Static after construction.
	l    *listener
	ws   *websocket.Conn
	raw  net.Conn      // the TCP connection under TLS and WebSocket; Close never blocks
	out  chan []byte   // bounded send queue; never closed; an empty frame means "ping"
	done chan struct{} // closed by the reader when the connection is finished
	sess *Session      // the hub's state for this connection

	// Any goroutine (atomics).
	reason   atomic.Uint32 // the first CloseReason recorded; 0 while open
	lastSeen atomic.Int64  // listener tick of the last frame received
	pinged   atomic.Bool   // a ping was queued since lastSeen last moved
}

var _ Sender = (*conn)(nil)

// Send queues msg for the writer goroutine; it never blocks and never writes. A full queue
// means a slow consumer: the frame is dropped and the connection closed.
func (c *conn) Send(msg []byte) bool {
	if len(msg) == 0 {
		return true
	}
	if c.reason.Load() != 0 {
		wire.PutBuffer(msg)
		return false
	}
	select {
	case c.out <- msg:
		return true
	default:
		wire.PutBuffer(msg)
		c.kill(ReasonSlowConsumer)
		return false
	}
}

// setReason records r as the close reason unless one is already set; it reports whether
// r was recorded.
func (c *conn) setReason(r CloseReason) bool {
	return c.reason.CompareAndSwap(0, uint32(r))
}

// kill records r and cuts the TCP connection, which ends the reader and the writer. Safe
// from any goroutine, including under the hub's lock: it neither blocks nor writes.
func (c *conn) kill(r CloseReason) {
	if c.setReason(r) {
		_ = c.raw.Close()
	}
}

// touch records that a frame arrived (idle detection).
func (c *conn) touch() {
	c.lastSeen.Store(c.l.tick.Load())
	if c.pinged.Load() {
		c.pinged.Store(false)
	}
}

// readBufPool holds buffers for incoming frames; a frame is handed to Hub.Handle, which
// does not keep it, and the buffer goes back here.
var readBufPool sync.Pool // *[]byte

// readFrame reads one message into a pooled buffer. The read limit set on the connection
// bounds its size.
func readFrame(r io.Reader) (*[]byte, error) {
	bp, _ := readBufPool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 4096)
		bp = &b
	}
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			*bp = buf
			return bp, nil
		}
		if err != nil {
			*bp = buf
			putReadBuf(bp)
			return nil, err
		}
	}
}

func putReadBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		readBufPool.Put(bp)
	}
}

// run is the connection's reader goroutine: it reads until the connection ends, then
// tears it down (hub, registry, metrics).
func (c *conn) run() {
	l := c.l
	s := l.srv
	defer s.connWG.Done()
	reason := c.readLoop()
	c.setReason(reason)
	close(c.done)
	s.hub.Disconnect(c.sess)
	_ = c.raw.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.count.Add(-1)
	l.gauge.Dec()
	reason = CloseReason(c.reason.Load())
	s.metrics.closes.WithLabelValues(reason.String()).Inc()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("tracker: connection closed", append(c.logAttrs(), "reason", reason.String())...)
	}
}

// readLoop reads frames until the connection ends and returns why it ended.
func (c *conn) readLoop() CloseReason {
	s := c.l.srv
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return c.readErrReason(err)
		}
		c.touch()
		if mt != websocket.TextMessage {
			return c.closeWith(ReasonBinaryFrame, websocket.CloseUnsupportedData, "binary frames are not supported")
		}
		bp, err := readFrame(r)
		if err != nil {
			return c.readErrReason(err)
		}
		s.metrics.receivedMessages.Inc()
		s.metrics.receivedBytes.Add(float64(len(*bp)))
		err = c.handle(*bp)
		putReadBuf(bp)
		if err != nil {
			var ce *ClientError
			if errors.As(err, &ce) {
				code := websocket.ClosePolicyViolation
				if ce.Reason == ReasonInvalidJSON {
					code = websocket.CloseInvalidFramePayloadData
				}
				return c.closeWith(ce.Reason, code, ce.Msg)
			}
			s.log.Error("tracker: closing connection after an internal error", "err", err)
			return c.closeWith(ReasonUnknown, websocket.CloseInternalServerErr, "internal error")
		}
	}
}

// handle passes one frame to the hub; a panic (a bug) costs only this connection.
func (c *conn) handle(frame []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.l.srv.log.Error("tracker: panic while handling a frame", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return c.l.srv.hub.Handle(c.sess, frame)
}

// readErrReason classifies the error that ended the read loop.
func (c *conn) readErrReason(err error) CloseReason {
	if r := CloseReason(c.reason.Load()); r != 0 {
		return r // killed (idle timeout, slow consumer, shutdown): that is the reason
	}
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return ReasonClientClosed // gorilla has echoed the close frame
	case errors.Is(err, websocket.ErrReadLimit):
		return ReasonMessageTooBig // gorilla has sent close 1009
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return ReasonClientClosed
	}
	c.l.srv.log.Debug("tracker: read error", "err", err)
	return ReasonReadError
}

// closeWith sends a close frame with code and text, then waits (bounded) for the client's
// close frame so the client reliably sees ours, and returns the reason recorded.
func (c *conn) closeWith(r CloseReason, code int, text string) CloseReason {
	if !c.setReason(r) {
		return CloseReason(c.reason.Load())
	}
	if len(text) > maxCloseText {
		text = text[:maxCloseText] // a control frame holds 125 bytes: 2 for the code
	}
	deadline := time.Now().Add(closeGrace)
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline); err != nil {
		return r
	}
	_ = c.raw.SetReadDeadline(deadline)
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return r
		}
	}
}

// writeLoop writes queued frames until the connection is done. On server shutdown it
// sends a 1001 close frame and stops writing; the reader then waits for the client's reply.
func (c *conn) writeLoop() {
	s := c.l.srv
	timeout := seconds(c.l.cfg.WebSockets.WriteTimeout)
	defer c.drain()
	for {
		select {
		case msg := <-c.out:
			deadline := time.Now().Add(timeout)
			var err error
			if len(msg) == 0 {
				err = c.ws.WriteControl(websocket.PingMessage, nil, deadline)
			} else {
				_ = c.ws.SetWriteDeadline(deadline)
				err = c.ws.WriteMessage(websocket.TextMessage, msg)
				if err == nil {
					s.metrics.sentMessages.Inc()
					s.metrics.sentBytes.Add(float64(len(msg)))
				}
				wire.PutBuffer(msg)
			}
			if err != nil {
				if !errors.Is(err, websocket.ErrCloseSent) {
					c.kill(ReasonWriteError)
				}
				return
			}
		case <-s.shutdownCh:
			if c.setReason(ReasonServerShutdown) {
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutdown"),
					time.Now().Add(timeout))
			}
			return
		case <-c.done:
			return
		}
	}
}

// drain returns the buffers of frames that were queued but will never be written.
func (c *conn) drain() {
	for {
		select {
		case msg := <-c.out:
			wire.PutBuffer(msg)
		default:
			return
		}
	}
}

// logAttrs describes the connection for logs.
func (c *conn) logAttrs() []any {
	return []any{slog.String("remote", c.raw.RemoteAddr().String()), slog.String("listener", c.l.name)}
}
