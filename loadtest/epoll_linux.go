//go:build linux

package loadtest

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"swarmcast/internal/epoll"
)

// The epoll engine serves every plain-WebSocket connection from one goroutine: raw
// non-blocking sockets outside Go's netpoller, one epoll wait (internal/epoll: it parks on
// Go's poller instead of holding a thread) per batch of ready sockets,
// one read per readiness event and one write per batch of answers. Compared with a
// goroutine per connection this saves the scheduler's park/unpark and netpoll work on
// every message, which was about a quarter of the generator's CPU.
const epollAvailable = true

// fdRW does blocking reads and writes on a socket, for the handshake.
type fdRW int

func (f fdRW) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(f), p)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		if err == nil && n == 0 {
			return 0, errors.New("connection closed")
		}
		return n, err
	}
}

func (f fdRW) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(int(f), p[done:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// dialFD connects a raw socket from src (zero: any), performs the WebSocket handshake in
// blocking mode (bounded by SO_SNDTIMEO/SO_RCVTIMEO), then makes it non-blocking.
func (d *dialer) dialFD(dst netip.AddrPort, src netip.Addr) (*wsConn, error) {
	family := syscall.AF_INET
	if dst.Addr().Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			syscall.Close(fd)
		}
	}()
	tv := syscall.NsecToTimeval(int64(d.cfg.DialTimeout))
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if src.IsValid() {
		if err := syscall.Bind(fd, sockaddr(netip.AddrPortFrom(src, 0))); err != nil {
			return nil, fmt.Errorf("bind %v: %w", src, err)
		}
	}
	for {
		err = syscall.Connect(fd, sockaddr(dst))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dial %v: %w", dst, err)
	}
	c := &wsConn{fd: fd, buf: make([]byte, d.cfg.ReadBufBytes)}
	if err := c.handshake(d, fdRW(fd)); err != nil {
		return nil, err
	}
	var zero syscall.Timeval
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &zero)
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &zero)
	if err := syscall.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("nonblock: %w", err)
	}
	ok = true
	return c, nil
}

func sockaddr(ap netip.AddrPort) syscall.Sockaddr {
	if ap.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// eloop is the epoll event loop.
type eloop struct {
	rn *runner
	ep *epoll.Poller

	mu      sync.Mutex
	pending []*eclient // registered by dialers, not yet seen by the loop
	closed  bool       // run has returned; add closes the socket instead

	conns map[int32]*eclient
	due   dueHeap
}

// eclient is a client served by the loop.
type eclient struct {
	*client
	next    time.Time // next announce; zero: none
	started bool
	wpend   []byte // bytes the socket did not take yet
	hi      int    // index in the heap, -1 when not in it
}

func newELoop(rn *runner) (*eloop, error) {
	ep, err := epoll.New()
	if err != nil {
		return nil, err
	}
	return &eloop{rn: rn, ep: ep, conns: map[int32]*eclient{}}, nil
}

// add hands a connected client to the loop; its first announce is at first (zero: never).
func (l *eloop) add(c *client, first time.Time) error {
	ec := &eclient{client: c, next: first, hi: -1}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		syscall.Close(c.ws.fd)
		return errStopped
	}
	if err := l.ep.Add(c.ws.fd, epoll.In|epoll.RdHup); err != nil {
		syscall.Close(c.ws.fd)
		return err
	}
	l.rn.ctr.Connected.Add(1)
	l.pending = append(l.pending, ec)
	return nil
}

func (l *eloop) takePending() {
	l.mu.Lock()
	p := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, ec := range p {
		l.conns[int32(ec.ws.fd)] = ec
		if !ec.next.IsZero() {
			heap.Push(&l.due, ec)
		}
	}
}

// run serves connections until ctx is done, then closes them all.
func (l *eloop) run(ctx context.Context) {
	events := make([]syscall.EpollEvent, 256)
	defer func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.takePending()
		for _, ec := range l.conns {
			l.drop(ec, nil)
		}
		_ = l.ep.Close()
	}()
	for ctx.Err() == nil {
		l.takePending()
		timeout := 5 * time.Millisecond
		if len(l.due) > 0 {
			if d := time.Until(l.due[0].next); d < timeout {
				timeout = max(d, 0)
			}
		}
		n, err := l.ep.Wait(events, time.Now().Add(timeout))
		if err != nil {
			l.rn.log.Error("epoll_wait failed", "err", err)
			return
		}
		for _, ev := range events[:max(n, 0)] {
			ec := l.conns[ev.Fd]
			if ec == nil {
				continue
			}
			if ev.Events&epoll.Out != 0 {
				if err := l.writePending(ec); err != nil {
					l.drop(ec, err)
					continue
				}
			}
			if ev.Events&(epoll.In|epoll.Err|epoll.Hup|epoll.RdHup) != 0 {
				if err := l.readable(ec); err != nil {
					l.drop(ec, err)
				}
			}
		}
		l.announceDue()
	}
}

// announceDue sends the announces whose time has come.
func (l *eloop) announceDue() {
	cfg := l.rn.cfg
	now := time.Now()
	for len(l.due) > 0 && !l.due[0].next.After(now) {
		ec := l.due[0]
		tpl := l.rn.tpl.announce
		if !ec.started {
			tpl, ec.started = l.rn.tpl.announceStarted, true
		}
		ec.announce(tpl)
		if cfg.Mode == ModeIdle {
			heap.Pop(&l.due)
		} else {
			ec.next = ec.next.Add(cfg.Interval)
			if now.Sub(ec.next) > cfg.Interval {
				l.rn.ctr.LateAnnounces.Add(1)
				ec.next = now.Add(cfg.Interval)
			}
			heap.Fix(&l.due, 0)
		}
		if err := l.flush(ec); err != nil {
			l.drop(ec, err)
		}
	}
}

// readable reads once and handles every complete message, then flushes the answers.
func (l *eloop) readable(ec *eclient) error {
	ws := ec.ws
	free := ws.compact()
	if len(free) == 0 {
		return errors.New("read buffer full")
	}
	n, err := epoll.Read(ws.fd, free)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return nil
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("connection closed by the server")
	}
	ws.w += n
	for {
		p, ok, err := ws.buffered(&ec.out)
		if err != nil {
			_ = l.flush(ec)
			return err
		}
		if !ok {
			break
		}
		l.rn.ctr.BytesIn.Add(int64(len(p)))
		ec.handle(p, true)
	}
	return l.flush(ec)
}

// flush writes ec.out without blocking; what the socket does not take waits for EPOLLOUT.
func (l *eloop) flush(ec *eclient) error {
	if len(ec.out) == 0 {
		return nil
	}
	defer func() { ec.out = ec.out[:0] }()
	if len(ec.wpend) > 0 {
		ec.wpend = append(ec.wpend, ec.out...)
		return nil
	}
	n, err := epoll.Writev(ec.ws.fd, ec.out, nil)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		return err
	}
	n = max(n, 0)
	l.rn.ctr.BytesOut.Add(int64(n))
	if n == len(ec.out) {
		return nil
	}
	ec.wpend = append(ec.wpend[:0], ec.out[n:]...)
	return l.ep.Mod(ec.ws.fd, epoll.In|epoll.RdHup|epoll.Out)
}

func (l *eloop) writePending(ec *eclient) error {
	n, err := epoll.Writev(ec.ws.fd, ec.wpend, nil)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		return err
	}
	n = max(n, 0)
	l.rn.ctr.BytesOut.Add(int64(n))
	ec.wpend = ec.wpend[:copy(ec.wpend, ec.wpend[n:])]
	if len(ec.wpend) > 0 {
		return nil
	}
	ec.wpend = nil
	return l.ep.Mod(ec.ws.fd, epoll.In|epoll.RdHup)
}

// drop closes a connection; err non-nil means it ended before the run did.
func (l *eloop) drop(ec *eclient, err error) {
	fd := ec.ws.fd
	if _, ok := l.conns[int32(fd)]; !ok {
		return
	}
	delete(l.conns, int32(fd))
	if ec.hi >= 0 {
		heap.Remove(&l.due, ec.hi)
	}
	_ = l.ep.Del(fd)
	syscall.Close(fd)
	l.rn.ctr.Connected.Add(-1)
	if err != nil && !l.rn.stopped() {
		l.rn.ctr.Closes.Add(1)
		l.rn.log.Debug("connection ended", "conn", ec.idx, "err", err)
	}
}

// dueHeap orders clients by their next announce.
type dueHeap []*eclient

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hi, h[j].hi = i, j
}
func (h *dueHeap) Push(x any) {
	ec := x.(*eclient)
	ec.hi = len(*h)
	*h = append(*h, ec)
}
func (h *dueHeap) Pop() any {
	old := *h
	ec := old[len(old)-1]
	old[len(old)-1] = nil
	ec.hi = -1
	*h = old[:len(old)-1]
	return ec
}
