package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"swarmcast/internal/epoll"
	"swarmcast/tracker/wire"
	"swarmcast/tracker/wsframe"
)

// fastConn is one WebSocket connection on the event-loop transport. It has no goroutine of
// its own:
//   - its loop's goroutine reads, parses and dispatches its frames, answers pings and
//     close frames, flushes its pending output when the socket becomes writable, and is the
//     only one that closes its file descriptor (teardown);
//   - any goroutine may send (the hub, after releasing its lock, on whichever loop handled
//     the triggering frame; the idle sweeper's pings; shutdown's 1001). A send is one
//     non-blocking writev under c.mu, or, for frames relayed while a loop handles a batch
//     (Relay), an append to c.out that the loop writes at the end of the batch. Whatever
//     the socket does not take waits in c.out for EPOLLOUT; while it waits, at most
//     websockets.sendQueueLength more frames are accepted.
//
// c.mu is per connection and never held while taking another lock other than the loop's
// epoll registration; a write under it never blocks.
type fastConn struct {
	// Static after construction.
	l       *listener
	lp      *loop
	fd      int
	sess    *Session
	remote  string
	deflate bool // permessage-deflate negotiated: the client may compress its messages
	idleState

	// Owned by the loop goroutine.
	in      []byte // received bytes not yet parsed (an incomplete frame)
	backlog bool   // in holds bytes that arrived with the handshake: parse them first
	msg     []byte // payload of a fragmented message so far
	msgOp   byte   // opcode of the fragmented message being assembled; 0 when none
	msgRSV1 bool
	dead    bool // torn down

	// Guarded by mu.
	mu        sync.Mutex
	out       []byte // bytes accepted for sending but not yet written (a wire pool buffer)
	queued    int    // frames (or parts of frames) in out
	dirty     bool   // in a loop's dirty list: that loop writes out after its batch
	blocked   bool   // the socket is full: EPOLLOUT is armed and flush writes out
	closed    bool   // the fd is closed: write nothing
	closeSent bool   // a close frame was written or queued

	// Any goroutine.
	reason   atomic.Uint32 // the first CloseReason recorded; 0 while open
	closeBy  atomic.Int64  // unix nanos by which the close handshake must end; 0 while open
	outSince atomic.Int64  // unix nanos when out became non-empty; 0 when empty
}

var _ Sender = (*fastConn)(nil)

func (c *fastConn) idle() *idleState { return &c.idleState }

func (c *fastConn) setReason(r CloseReason) bool { return c.reason.CompareAndSwap(0, uint32(r)) }

// Send writes msg as one text frame without blocking: straight to the socket when nothing
// is pending, else behind the pending bytes. Send takes ownership of msg.
func (c *fastConn) Send(msg []byte) bool { return c.enqueue(msg, nil) }

// Relay queues msg for to and, when to is on the event loops, leaves the write to the end
// of this connection's loop batch, so that a destination gets all of the batch's frames in
// one write. It runs on c's loop goroutine (the hub calls it while handling c's message).
func (c *fastConn) Relay(to Sender, msg []byte) bool {
	if d, ok := to.(*fastConn); ok {
		return d.enqueue(msg, c.lp)
	}
	return to.Send(msg)
}

// enqueue takes one text frame for c (and ownership of msg). With batch nil it is written
// at once as far as the socket takes it; otherwise it is appended to c.out and c joins
// batch's dirty list, to be written when that loop's batch ends (batch is the loop of the
// calling goroutine). A connection that is closing drops the frame; one whose pending
// output is already full is a slow consumer.
func (c *fastConn) enqueue(msg []byte, batch *loop) bool {
	if len(msg) == 0 {
		return true
	}
	defer wire.PutBuffer(msg)
	c.mu.Lock()
	if c.closed || c.closeBy.Load() != 0 || c.reason.Load() != 0 {
		c.mu.Unlock()
		return false
	}
	if c.blocked && c.queued >= c.l.cfg.WebSockets.SendQueueLength {
		c.mu.Unlock()
		c.kill(ReasonSlowConsumer)
		return false
	}
	var err error
	if batch == nil {
		err = c.writeLocked(wsframe.OpText, msg)
	} else {
		c.appendLocked(wsframe.OpText, msg)
		if !c.dirty && !c.blocked {
			c.dirty = true
			batch.dirty = append(batch.dirty, c)
		}
	}
	c.mu.Unlock()
	if err != nil {
		c.kill(ReasonWriteError)
		return false
	}
	m := c.l.srv.metrics
	m.sentMessages.Inc()
	m.sentBytes.Add(float64(len(msg)))
	return true
}

// appendLocked adds one frame to out; c.mu is held.
func (c *fastConn) appendLocked(op byte, payload []byte) {
	need := len(c.out) + wsframe.MaxHeaderLen + len(payload)
	if cap(c.out) < need {
		buf := append(wire.GetBuffer(max(need, 2*cap(c.out))), c.out...)
		if c.out != nil {
			wire.PutBuffer(c.out)
		}
		c.out = buf
	}
	c.out = wsframe.AppendHeader(c.out, op, len(payload))
	c.out = append(c.out, payload...)
	c.queued++
}

// writeLocked writes (or queues) one frame; c.mu is held and c.closed is false. Frames
// already pending go first: then this one is only queued behind them.
func (c *fastConn) writeLocked(op byte, payload []byte) error {
	if len(c.out) > 0 {
		c.appendLocked(op, payload) // out is dirty or blocked: it will be written
		return nil
	}
	var hb [wsframe.MaxHeaderLen]byte
	hdr := wsframe.AppendHeader(hb[:0], op, len(payload))
	n, err := epoll.Writev(c.fd, hdr, payload)
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		return err
	}
	if n == len(hdr)+len(payload) {
		return nil
	}
	// The socket buffer is full: keep the rest for EPOLLOUT.
	if n < len(hdr) {
		c.appendLocked(op, payload)
		c.out = c.out[:copy(c.out, c.out[n:])]
	} else {
		c.out = append(wire.GetBuffer(len(payload)-(n-len(hdr))), payload[n-len(hdr):]...)
	}
	c.queued = 1
	c.block()
	return nil
}

// block arms EPOLLOUT for the rest of out and starts the write deadline; c.mu is held.
func (c *fastConn) block() {
	if !c.blocked {
		c.outSince.Store(time.Now().UnixNano())
		c.blocked = true
		c.lp.watchWrites(c, true)
	}
}

// writeOutLocked writes as much of out as the socket takes; c.mu is held.
func (c *fastConn) writeOutLocked() {
	if c.closed || len(c.out) == 0 {
		return
	}
	n, err := epoll.Writev(c.fd, c.out, nil)
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		c.setReason(ReasonWriteError)
		_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
		return
	}
	if n == len(c.out) {
		wire.PutBuffer(c.out)
		c.out, c.queued = nil, 0
		c.outSince.Store(0)
		if c.blocked {
			c.blocked = false
			c.lp.watchWrites(c, false)
		}
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
	if n > 0 || !c.blocked {
		c.queued = 1 // what is left counts as one frame against sendQueueLength
	}
	if n > 0 && c.blocked {
		c.outSince.Store(time.Now().UnixNano()) // progress: the write deadline restarts
	}
	c.block()
}

// flush writes pending output when the socket is writable (loop goroutine, EPOLLOUT).
func (c *fastConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if len(c.out) == 0 {
		if c.blocked {
			c.blocked = false
			c.lp.watchWrites(c, false)
		}
		return
	}
	c.writeOutLocked()
}

// control writes a control frame (ping, pong, close); it reports false when the
// connection can take nothing more.
func (c *fastConn) control(op byte, payload []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeSent {
		return false
	}
	if op == wsframe.OpClose {
		c.closeSent = true
	}
	if err := c.writeLocked(op, payload); err != nil {
		c.setReason(ReasonWriteError)
		_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
		return false
	}
	return true
}

// sendClose writes a close frame and starts the close handshake's deadline.
func (c *fastConn) sendClose(code int, text string, grace time.Duration) {
	var b [wsframe.MaxControlPayload + 2]byte
	frame := wsframe.AppendClose(b[:0], code, text)
	hn := wsframe.HeaderLen(len(frame) - 2)
	c.closeBy.CompareAndSwap(0, time.Now().Add(grace).UnixNano())
	c.control(wsframe.OpClose, frame[hn:])
}

// queuePing sends a ping for the idle sweeper; false when the connection is busy or closing.
func (c *fastConn) queuePing() bool {
	c.mu.Lock()
	busy := len(c.out) > 0 || c.closeBy.Load() != 0
	c.mu.Unlock()
	if busy {
		return false
	}
	return c.control(wsframe.OpPing, nil)
}

// kill records r and shuts the socket down; the loop then sees the end of the stream and
// tears the connection down. Any goroutine; it never blocks.
func (c *fastConn) kill(r CloseReason) {
	if c.setReason(r) {
		c.shut()
	}
}

// cut shuts the socket down even when a reason is already recorded (shutdown timeout).
func (c *fastConn) cut(r CloseReason) {
	c.setReason(r)
	c.shut()
}

func (c *fastConn) shut() {
	c.mu.Lock()
	if !c.closed {
		_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	}
	c.mu.Unlock()
}

// beginShutdown sends 1001 and gives the client the shutdown timeout to answer.
func (c *fastConn) beginShutdown() {
	if !c.setReason(ReasonServerShutdown) {
		return
	}
	grace := max(seconds(c.l.srv.cfg.ShutdownTimeout), closeGrace)
	c.sendClose(wsframe.CloseGoingAway, "server shutdown", grace)
}

func (c *fastConn) logAttrs() []any {
	return []any{slog.String("remote", c.remote), slog.String("listener", c.l.name)}
}

// acceptFast completes the upgrade on the event-loop transport: it checks the request,
// writes the 101 response itself on the hijacked connection, and moves the socket's file
// descriptor to a loop. The caller has checked origin and limits and holds a count slot;
// it reports whether the connection was opened (the slot is then the connection's).
func (l *listener) acceptFast(w http.ResponseWriter, r *http.Request) bool {
	s := l.srv
	hs, status, text := checkHandshake(r, l.cfg.WebSockets.Compression != 0)
	if status != 0 {
		l.rejectHandshakeRequest(w, status, text)
		return false
	}
	lp, err := s.poller.pick()
	if err != nil {
		l.reject(w, http.StatusServiceUnavailable, rejectShutdown)
		return false
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.metrics.rejected.WithLabelValues(rejectHandshake).Inc()
		s.log.Debug("tracker: upgrade failed", "err", err, "remote", r.RemoteAddr)
		return false
	}
	fail := func(err error) bool {
		_ = nc.Close()
		s.metrics.rejected.WithLabelValues(rejectHandshake).Inc()
		s.log.Debug("tracker: upgrade failed", "err", err, "remote", r.RemoteAddr)
		return false
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(wsframe.AppendResponse(make([]byte, 0, 256), hs.key, hs.protocol, hs.deflate)); err != nil {
		return fail(err)
	}
	var early []byte // a client that did not wait for the 101 response
	if n := brw.Reader.Buffered(); n > 0 {
		p, _ := brw.Reader.Peek(n)
		early = append([]byte(nil), p...)
	}
	fd, err := detachFD(nc)
	if err != nil {
		return fail(err)
	}
	c := &fastConn{l: l, lp: lp, fd: fd, remote: r.RemoteAddr, deflate: hs.deflate, in: early, backlog: len(early) > 0}
	c.sess = s.hub.NewSession(c)
	c.lastSeen.Store(l.tick.Load())
	if !l.register(c) {
		var b [64]byte
		_, _ = epoll.Writev(fd, wsframe.AppendClose(b[:0], wsframe.CloseGoingAway, "server shutdown"), nil)
		_ = syscall.Close(fd)
		s.metrics.rejected.WithLabelValues(rejectShutdown).Inc()
		return false
	}
	l.gauge.Inc()
	l.accepted.Inc()
	if err := lp.add(c); err != nil {
		s.log.Warn("tracker: cannot watch a connection", "err", err)
		c.setReason(ReasonReadError)
		_ = syscall.Close(fd)
		c.closed = true
		s.hub.Disconnect(c.sess)
		l.release(c, ReasonReadError)
		return true // release has given the slot back
	}
	if c.backlog {
		// A fresh socket is writable at once: the loop's EPOLLOUT event parses the backlog.
		c.mu.Lock()
		lp.watchWrites(c, true)
		c.mu.Unlock()
	}
	return true
}

// detachFD takes the socket's file descriptor out of Go's network poller: it duplicates it
// (the copy shares the non-blocking open file) and closes the net.Conn.
func detachFD(nc net.Conn) (int, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return -1, fmt.Errorf("tracker: hijacked connection is %T, not TCP", nc)
	}
	_ = tc.SetDeadline(time.Time{})
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			dupErr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("tracker: dup: %w", dupErr)
	}
	_ = nc.Close()
	return fd, nil
}

// teardown ends c on its loop goroutine: it closes the fd, removes the connection from the
// hub and the listener, and counts the close under the recorded reason.
func (lp *loop) teardown(c *fastConn) {
	if c.dead {
		return
	}
	c.dead = true
	c.setReason(ReasonClientClosed)
	lp.forget(c)
	c.mu.Lock()
	c.closed = true
	if c.out != nil {
		wire.PutBuffer(c.out)
	}
	c.out, c.queued = nil, 0
	c.outSince.Store(0)
	_ = syscall.Close(c.fd)
	c.mu.Unlock()
	c.in, c.msg = nil, nil
	lp.p.srv.hub.Disconnect(c.sess)
	c.l.release(c, CloseReason(c.reason.Load()))
}

// readFrom reads once from c (level-triggered epoll reports it again if more is waiting)
// and processes every whole frame read.
func (lp *loop) readFrom(c *fastConn) {
	if c.dead {
		return
	}
	if c.backlog {
		c.backlog = false
		lp.process(c, c.in)
		if c.dead {
			return
		}
	}
	var data []byte
	var n int
	var err error
	if len(c.in) > 0 {
		if cap(c.in)-len(c.in) < 512 {
			c.in = append(make([]byte, 0, len(c.in)+4096), c.in...)
		}
		n, err = epoll.Read(c.fd, c.in[len(c.in):cap(c.in)])
		if n > 0 {
			c.in = c.in[:len(c.in)+n]
			data = c.in
		}
	} else {
		n, err = epoll.Read(c.fd, lp.buf)
		if n > 0 {
			data = lp.buf[:n]
		}
	}
	switch {
	case n > 0:
	case err == nil, errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		lp.teardown(c) // end of stream (or a kill's shutdown): the reason is already set if any
		return
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		return
	default:
		c.setReason(ReasonReadError)
		lp.p.srv.log.Debug("tracker: read error", "err", err)
		lp.teardown(c)
		return
	}
	c.touch(c.l)
	lp.process(c, data)
}

// process parses every whole frame in data and keeps an incomplete one in c.in; data is
// either the loop's read buffer or c.in itself.
func (lp *loop) process(c *fastConn, data []byte) {
	fromIn := len(c.in) > 0
	rest, need := lp.frames(c, data)
	if c.dead {
		return
	}
	switch {
	case len(rest) == 0:
		c.in = nil
	case fromIn:
		c.in = c.in[:copy(c.in, rest)] // rest is the tail of c.in: move it to the front
		if need > cap(c.in) {
			c.in = append(make([]byte, 0, need), c.in...)
		}
	default:
		c.in = append(make([]byte, 0, max(need, len(rest))), rest...)
	}
}

// frames handles the whole frames at the start of data and returns what is left, with the
// size the incomplete frame will need once complete.
func (lp *loop) frames(c *fastConn, data []byte) (rest []byte, need int) {
	maxPayload := uint64(c.l.cfg.WebSockets.MaxPayloadLength)
	for len(data) > 0 && !c.dead {
		h, hn, err := wsframe.ParseHeader(data)
		if err != nil {
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "protocol error")
			return nil, 0
		}
		if hn == 0 {
			return data, wsframe.MaxHeaderLen
		}
		switch {
		case !h.Masked:
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "client frames must be masked")
			return nil, 0
		case h.RSV23, h.RSV1 && (!c.deflate || h.Opcode == wsframe.OpContinuation || h.IsControl()):
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "unexpected RSV bits")
			return nil, 0
		case !h.IsControl() && h.Length+uint64(len(c.msg)) > maxPayload:
			lp.fail(c, ReasonMessageTooBig, wsframe.CloseMessageTooBig, "")
			return nil, 0
		}
		total := hn + int(h.Length)
		if len(data) < total {
			return data, total
		}
		payload := data[hn:total]
		wsframe.Unmask(h.Mask, 0, payload)
		data = data[total:]
		lp.frame(c, &h, payload)
	}
	return nil, 0
}

// frame acts on one whole, unmasked frame.
func (lp *loop) frame(c *fastConn, h *wsframe.Header, payload []byte) {
	closing := c.closeBy.Load() != 0
	switch h.Opcode {
	case wsframe.OpPing:
		if !closing {
			c.control(wsframe.OpPong, payload)
		}
	case wsframe.OpPong:
	case wsframe.OpClose:
		code, ok := wsframe.ParseClosePayload(payload)
		if !ok {
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "invalid close frame")
			return
		}
		c.setReason(ReasonClientClosed)
		if code == wsframe.CloseNoStatus {
			code = 0
		}
		c.sendClose(code, "", closeGrace) // the echo; a no-op if ours went first
		lp.teardown(c)
	case wsframe.OpText, wsframe.OpBinary:
		switch {
		case c.msgOp != 0:
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "new message inside a fragmented one")
		case h.Opcode == wsframe.OpBinary:
			lp.fail(c, ReasonBinaryFrame, wsframe.CloseUnsupportedData, "binary frames are not supported")
		case h.Fin:
			if !closing {
				lp.message(c, payload, h.RSV1)
			}
		default:
			c.msgOp, c.msgRSV1 = h.Opcode, h.RSV1
			c.msg = append(c.msg[:0], payload...)
		}
	case wsframe.OpContinuation:
		if c.msgOp == 0 {
			lp.fail(c, ReasonProtocol, wsframe.CloseProtocolError, "continuation without a message")
			return
		}
		c.msg = append(c.msg, payload...)
		if h.Fin {
			msg, rsv1 := c.msg, c.msgRSV1
			c.msg, c.msgOp, c.msgRSV1 = nil, 0, false
			if !closing {
				lp.message(c, msg, rsv1)
			}
		}
	}
}

// message inflates (when compressed) and dispatches one text message.
func (lp *loop) message(c *fastConn, payload []byte, compressed bool) {
	maxPayload := c.l.cfg.WebSockets.MaxPayloadLength
	if compressed {
		var err error
		payload, err = lp.inflate.inflate(payload, maxPayload)
		switch {
		case errors.Is(err, errInflatedTooBig):
			lp.fail(c, ReasonMessageTooBig, wsframe.CloseMessageTooBig, "")
			return
		case err != nil:
			lp.fail(c, ReasonReadError, wsframe.CloseInvalidPayload, "invalid compressed data")
			return
		}
	}
	m := lp.p.srv.metrics
	m.receivedMessages.Inc()
	m.receivedBytes.Add(float64(len(payload)))
	if err := lp.handle(c, payload); err != nil {
		var ce *ClientError
		if errors.As(err, &ce) {
			code := wsframe.ClosePolicyViolation
			if ce.Reason == ReasonInvalidJSON {
				code = wsframe.CloseInvalidPayload
			}
			lp.fail(c, ce.Reason, code, ce.Msg)
			return
		}
		lp.p.srv.log.Error("tracker: closing connection after an internal error", "err", err)
		lp.fail(c, ReasonUnknown, wsframe.CloseInternalServerErr, "internal error")
	}
}

// handle passes one message to the hub; a panic (a bug) costs only this connection.
func (lp *loop) handle(c *fastConn, msg []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			lp.p.srv.log.Error("tracker: panic while handling a frame", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return lp.p.srv.hub.Handle(c.sess, msg)
}

// fail records r and starts the close handshake with code and text: frames that follow
// are ignored, and the connection ends when the client answers or closeGrace passes.
func (lp *loop) fail(c *fastConn, r CloseReason, code int, text string) {
	if !c.setReason(r) && c.closeBy.Load() != 0 {
		return
	}
	c.msg, c.msgOp = nil, 0
	c.sendClose(code, text, closeGrace)
	if s := lp.p.srv; s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("tracker: closing connection", append(c.logAttrs(), "reason", r.String())...)
	}
}
