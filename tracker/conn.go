package tracker

import (
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

// conn is one tracker WebSocket connection. It has one reader goroutine for its whole life
// (run: readLoop, then teardown) and at most one writer goroutine at a time (writeLoop),
// which exists only while frames are queued: Send (or the sweeper's ping, or shutdown)
// starts it when the queue goes from empty to non-empty, and it exits as soon as the queue
// is empty again. An idle connection therefore costs one goroutine and no queue storage.
// The writer is the only goroutine that writes data frames. Control frames (close, ping,
// pong) are written with gorilla's WriteControl, which is safe next to the writer.
type conn struct {
	// Static after construction.
	l    *listener
	ws   *websocket.Conn
	raw  net.Conn // the TCP connection under TLS and WebSocket; Close never blocks
	sess *Session // the hub's state for this connection

	// Guarded by qmu. The lock is held only to queue or take frames, never while writing.
	qmu      sync.Mutex
	q        [][]byte // bounded send queue, q[qhead:] pending; a nil frame means "ping"
	qhead    int
	writing  bool // a writer goroutine is running (it owns the socket's data writes)
	stopped  bool // the reader has finished or a write failed: queue nothing more
	shutdown bool // the server is shutting down: the writer sends 1001 and stops

	// Any goroutine (atomics).
	reason atomic.Uint32 // the first CloseReason recorded; 0 while open
	idleState
}

func (c *conn) idle() *idleState { return &c.idleState }

// queuePing asks the writer for a ping (a nil frame); false when the queue is full (the
// connection is busy anyway) or the connection is closing.
func (c *conn) queuePing() bool { return c.enqueue(nil) == enqueued }

// cut records r unless a reason is set and closes the TCP connection regardless.
func (c *conn) cut(r CloseReason) {
	c.setReason(r)
	_ = c.raw.Close()
}

// maxIdleQueueCap is the largest queue backing array a connection keeps once its writer
// has emptied it; a larger one (after a burst) is released so idle connections stay small.
const maxIdleQueueCap = 8

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
	switch c.enqueue(msg) {
	case enqueued:
		return true
	case queueFull:
		wire.PutBuffer(msg)
		c.kill(ReasonSlowConsumer)
		return false
	default:
		wire.PutBuffer(msg)
		return false
	}
}

type enqueueResult uint8

const (
	enqueued enqueueResult = iota
	queueFull
	queueStopped
)

// enqueue appends msg (nil: a ping) to the send queue and starts a writer goroutine if
// none is running. It never blocks on the network.
func (c *conn) enqueue(msg []byte) enqueueResult {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.stopped || c.shutdown {
		return queueStopped
	}
	if len(c.q)-c.qhead >= c.l.cfg.WebSockets.SendQueueLength {
		return queueFull
	}
	c.q = append(c.q, msg)
	c.startWriterLocked()
	return enqueued
}

// startWriterLocked starts the writer goroutine unless one is running; qmu is held. The
// reader still holds its connWG slot here (stopped is false), so Add cannot race Wait
// reaching zero.
func (c *conn) startWriterLocked() {
	if c.writing {
		return
	}
	c.writing = true
	c.l.srv.connWG.Add(1)
	go c.writeLoop()
}

// beginShutdown asks the writer to send a 1001 close frame (server shutdown).
func (c *conn) beginShutdown() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.stopped || c.shutdown {
		return
	}
	c.shutdown = true
	c.startWriterLocked()
}

// stop is called by the reader when it has finished: nothing more is queued, and frames
// still queued are released (by the writer if one is running, else here).
func (c *conn) stop() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.stopped = true
	if !c.writing {
		c.dropQueueLocked()
	}
}

// dropQueueLocked returns the buffers of frames that were queued but will never be
// written; qmu is held.
func (c *conn) dropQueueLocked() {
	for i := c.qhead; i < len(c.q); i++ {
		if c.q[i] != nil {
			wire.PutBuffer(c.q[i])
		}
		c.q[i] = nil
	}
	c.q, c.qhead = nil, 0
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
func (c *conn) touch() { c.idleState.touch(c.l) }

// touch records that a frame arrived on a connection of l.
func (st *idleState) touch(l *listener) {
	if t := l.tick.Load(); st.lastSeen.Load() != t {
		st.lastSeen.Store(t)
	}
	if st.pinged.Load() {
		st.pinged.Store(false)
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
	s := c.l.srv
	reason := c.readLoop()
	c.setReason(reason)
	c.stop()
	s.hub.Disconnect(c.sess)
	_ = c.raw.Close()
	c.l.release(c, CloseReason(c.reason.Load()))
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

// writeLoop is the connection's writer goroutine: it writes queued frames, one at a time
// and each with a deadline, and exits when the queue is empty (the next enqueue starts a
// new one), when a write fails, when the reader has finished, or after sending the 1001
// close frame of a server shutdown.
func (c *conn) writeLoop() {
	s := c.l.srv
	defer s.connWG.Done()
	timeout := seconds(c.l.cfg.WebSockets.WriteTimeout)
	// Sent-message metrics are added once per writer run, not per frame: fewer atomic
	// read-modify-writes on counters that every connection shares.
	var sent, sentBytes int
	defer func() {
		if sent > 0 {
			s.metrics.sentMessages.Add(float64(sent))
			s.metrics.sentBytes.Add(float64(sentBytes))
		}
	}()
	for {
		c.qmu.Lock()
		if c.shutdown || c.stopped || c.qhead == len(c.q) {
			shutdown := c.shutdown && !c.stopped
			if c.shutdown || c.stopped {
				c.dropQueueLocked()
			} else if cap(c.q) > maxIdleQueueCap {
				c.q, c.qhead = nil, 0
			} else {
				c.q, c.qhead = c.q[:0], 0
			}
			c.writing = false
			c.qmu.Unlock()
			if shutdown && c.setReason(ReasonServerShutdown) {
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutdown"),
					time.Now().Add(timeout))
			}
			return
		}
		msg := c.q[c.qhead]
		c.q[c.qhead] = nil
		c.qhead++
		c.qmu.Unlock()

		deadline := time.Now().Add(timeout)
		var err error
		if msg == nil {
			err = c.ws.WriteControl(websocket.PingMessage, nil, deadline)
		} else {
			_ = c.ws.SetWriteDeadline(deadline)
			err = c.ws.WriteMessage(websocket.TextMessage, msg)
			if err == nil {
				sent++
				sentBytes += len(msg)
			}
			wire.PutBuffer(msg)
		}
		if err != nil {
			if !errors.Is(err, websocket.ErrCloseSent) {
				c.kill(ReasonWriteError)
			}
			c.qmu.Lock()
			c.stopped = true
			c.dropQueueLocked()
			c.writing = false
			c.qmu.Unlock()
			return
		}
	}
}

// logAttrs describes the connection for logs.
func (c *conn) logAttrs() []any {
	return []any{slog.String("remote", c.raw.RemoteAddr().String()), slog.String("listener", c.l.name)}
}
