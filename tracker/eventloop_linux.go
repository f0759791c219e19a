package tracker

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"swarmcast/internal/epoll"
)

// eventLoopsAvailable reports whether this platform has the event-loop transport.
const eventLoopsAvailable = true

// readChunk is the size of each event loop's read buffer. One read takes whatever the
// socket holds, up to this; an incomplete frame's bytes are kept on the connection.
const readChunk = 64 << 10

// scanInterval is how often each loop checks its connections for expired close and write
// deadlines.
const scanInterval = time.Second

// poller is the event-loop transport of one Server: a few loops, each an epoll instance
// with one goroutine, over which plain-ws connections are spread round robin. A
// connection costs no goroutine: its reads happen on its loop, and its writes are
// non-blocking writes by whichever goroutine sends (see fastConn).
//
// The loops start with the first connection (a server that never accepts one, or runs in
// a synctest bubble over pipes, has none) and stop in stop, after every connection is gone.
type poller struct {
	srv *Server

	mu      sync.Mutex
	loops   []*loop // guarded by mu; nil until the first connection
	next    int     // guarded by mu; round-robin cursor
	stopped bool    // guarded by mu
	wg      sync.WaitGroup
}

func newPoller(s *Server) *poller { return &poller{srv: s} }

// pick returns the loop for a new connection, starting the loops on first use.
func (p *poller) pick() (*loop, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil, errors.New("tracker: event loops stopped")
	}
	if p.loops == nil {
		n := min(runtime.GOMAXPROCS(0), 4)
		loops := make([]*loop, 0, n)
		for range n {
			lp, err := newLoop(p)
			if err != nil {
				for _, lp := range loops {
					lp.closeFDs()
				}
				return nil, err
			}
			loops = append(loops, lp)
		}
		p.loops = loops
		for _, lp := range loops {
			p.wg.Go(lp.run)
		}
	}
	lp := p.loops[p.next%len(p.loops)]
	p.next++
	return lp, nil
}

// stop ends the loops and waits for them. Call it once no connection is left.
func (p *poller) stop() {
	p.mu.Lock()
	p.stopped = true
	loops := p.loops
	p.mu.Unlock()
	for _, lp := range loops {
		lp.wake()
	}
	p.wg.Wait()
}

// loop is one epoll instance and the goroutine that waits on it.
type loop struct {
	p    *poller
	ep   *epoll.Poller
	evfd int // an eventfd that wakes the loop to stop

	mu    sync.Mutex
	conns []*fastConn // guarded by mu; indexed by file descriptor

	// Owned by the loop goroutine.
	buf     []byte      // read buffer
	inflate inflater    // permessage-deflate
	dirty   []*fastConn // connections with output queued during this batch (see Relay)
	scratch []*fastConn // scan's snapshot, reused
}

func newLoop(p *poller) (*loop, error) {
	ep, err := epoll.New()
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	r1, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		_ = ep.Close()
		return nil, fmt.Errorf("tracker: eventfd: %w", e)
	}
	lp := &loop{p: p, ep: ep, evfd: int(r1), buf: make([]byte, readChunk)}
	if err := ep.Add(lp.evfd, epoll.In); err != nil {
		lp.closeFDs()
		return nil, fmt.Errorf("tracker: %w", err)
	}
	return lp, nil
}

func (lp *loop) closeFDs() {
	_ = syscall.Close(lp.evfd)
	_ = lp.ep.Close()
}

// wake makes the loop's epoll_wait return so that it sees the poller stopped.
func (lp *loop) wake() {
	one := uint64(1)
	_, _ = syscall.Write(lp.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// add registers c (its fd, non-blocking) for reading.
func (lp *loop) add(c *fastConn) error {
	lp.mu.Lock()
	if c.fd >= len(lp.conns) {
		n := max(2*len(lp.conns), c.fd+1, 64)
		conns := make([]*fastConn, n)
		copy(conns, lp.conns)
		lp.conns = conns
	}
	lp.conns[c.fd] = c
	lp.mu.Unlock()
	if err := lp.ep.Add(c.fd, epoll.In|epoll.RdHup); err != nil {
		lp.forget(c)
		return fmt.Errorf("tracker: %w", err)
	}
	return nil
}

// forget removes c from the loop's table (before its fd is closed and may be reused).
func (lp *loop) forget(c *fastConn) {
	lp.mu.Lock()
	if c.fd >= 0 && c.fd < len(lp.conns) && lp.conns[c.fd] == c {
		lp.conns[c.fd] = nil
	}
	lp.mu.Unlock()
}

// watchWrites turns EPOLLOUT on or off for c. Any goroutine; c.mu is held.
func (lp *loop) watchWrites(c *fastConn, on bool) {
	events := uint32(epoll.In | epoll.RdHup)
	if on {
		events |= epoll.Out
	}
	_ = lp.ep.Mod(c.fd, events)
}

// run is the loop goroutine: wait for ready connections (epoll.Poller.Wait parks on Go's
// poller, no thread is held), read from or flush to each, then write what the batch
// queued.
func (lp *loop) run() {
	defer lp.closeFDs()
	events := make([]syscall.EpollEvent, 256)
	ready := make([]*fastConn, 0, len(events))
	nextScan := time.Now().Add(scanInterval)
	for {
		n, err := lp.ep.Wait(events, nextScan)
		if err != nil {
			lp.p.srv.log.Error("tracker: epoll_wait failed; closing this loop's connections", "err", err)
			lp.closeAll(ReasonReadError)
			return
		}
		stop := false
		ready = ready[:0]
		lp.mu.Lock()
		for i := range n {
			fd := int(events[i].Fd)
			if fd == lp.evfd {
				stop = true
				ready = append(ready, nil)
				continue
			}
			var c *fastConn
			if fd < len(lp.conns) {
				c = lp.conns[fd]
			}
			ready = append(ready, c)
		}
		lp.mu.Unlock()
		for i, c := range ready {
			if c == nil {
				continue
			}
			ev := events[i].Events
			if ev&epoll.Out != 0 {
				c.flush()
			}
			if ev&(epoll.In|epoll.RdHup|epoll.Hup|epoll.Err) != 0 || c.backlog {
				lp.readFrom(c)
			}
		}
		clear(ready)
		lp.flushDirty()
		if now := time.Now(); !now.Before(nextScan) {
			nextScan = now.Add(scanInterval)
			lp.scan(now)
		}
		if stop {
			lp.drainWake()
			lp.p.mu.Lock()
			stopped := lp.p.stopped
			lp.p.mu.Unlock()
			if stopped {
				lp.closeAll(ReasonServerShutdown)
				return
			}
		}
	}
}

// drainWake resets the wake-up eventfd.
func (lp *loop) drainWake() {
	var b [8]byte
	_, _ = syscall.Read(lp.evfd, b[:])
}

// flushDirty writes the output that this batch's messages queued, one write per
// connection.
func (lp *loop) flushDirty() {
	for _, c := range lp.dirty {
		c.mu.Lock()
		c.dirty = false
		if !c.blocked {
			c.writeOutLocked()
		}
		c.mu.Unlock()
	}
	clear(lp.dirty)
	lp.dirty = lp.dirty[:0]
}

// snapshot appends the loop's connections to cs[:0].
func (lp *loop) snapshot(cs []*fastConn) []*fastConn {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	cs = cs[:0]
	for _, c := range lp.conns {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// scan ends connections whose close handshake or pending write has outlived its deadline.
func (lp *loop) scan(now time.Time) {
	t := now.UnixNano()
	lp.scratch = lp.snapshot(lp.scratch)
	defer clear(lp.scratch) // no references to closed connections kept
	for _, c := range lp.scratch {
		if d := c.closeBy.Load(); d != 0 && t >= d {
			lp.teardown(c)
			continue
		}
		if since := c.outSince.Load(); since != 0 && t-since >= int64(seconds(c.l.cfg.WebSockets.WriteTimeout)) {
			c.setReason(ReasonWriteError)
			lp.teardown(c)
		}
	}
}

// closeAll tears down whatever connections are left (a stopping or failed loop).
func (lp *loop) closeAll(r CloseReason) {
	for _, c := range lp.snapshot(nil) {
		c.setReason(r)
		lp.teardown(c)
	}
}
