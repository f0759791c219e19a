//go:build linux

// Package epoll is a thin epoll(7) instance for event loops written in Go (the tracker's
// transport and the load generator): raw non-blocking sockets registered by file
// descriptor, and a Wait that never blocks an OS thread.
//
// Wait polls with a zero timeout and, when nothing is ready, parks the goroutine on Go's
// own network poller until the epoll descriptor becomes readable or the deadline passes.
// A goroutine blocked in epoll_wait itself would hold a thread and make the runtime's
// sysmon hand its P to another thread and back on every wait; on a 2-core machine that
// cost about a third of the tracker's CPU per message.
package epoll

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Event bits, re-exported for callers' convenience.
const (
	In    = syscall.EPOLLIN
	Out   = syscall.EPOLLOUT
	RdHup = syscall.EPOLLRDHUP
	Hup   = syscall.EPOLLHUP
	Err   = syscall.EPOLLERR
)

// Poller is one epoll instance. Add, Mod and Del may be called from any goroutine; Wait
// from one goroutine at a time.
type Poller struct {
	fd       int
	f        *os.File // owns fd; registered with Go's poller
	rc       syscall.RawConn
	deadline time.Time // the read deadline currently set on f (owned by the Wait caller)
}

// New creates an epoll instance.
func New() (*Poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// Non-blocking, so that os.NewFile hands the descriptor to Go's poller.
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("epoll: set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &Poller{fd: fd, f: f, rc: rc}, nil
}

// Add watches fd for events (level-triggered).
func (p *Poller) Add(fd int, events uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// Mod changes the events watched on fd.
func (p *Poller) Mod(fd int, events uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl mod: %w", err)
	}
	return nil
}

// Del stops watching fd (closing fd does so too).
func (p *Poller) Del(fd int) error {
	if err := syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("epoll_ctl del: %w", err)
	}
	return nil
}

// Wait fills events with ready descriptors. It returns at once when some are ready, else
// it parks until one is or until deadline (zero: no deadline), and then returns 0.
func (p *Poller) Wait(events []syscall.EpollEvent, deadline time.Time) (int, error) {
	n, err := poll(p.fd, events)
	if n > 0 || err != nil {
		return n, err
	}
	if !deadline.Equal(p.deadline) {
		if err := p.f.SetReadDeadline(deadline); err != nil {
			return 0, fmt.Errorf("epoll: %w", err)
		}
		p.deadline = deadline
	}
	err = p.rc.Read(func(uintptr) bool {
		n, err = poll(p.fd, events)
		return n > 0 || err != nil
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	return n, err
}

// Close releases the epoll instance.
func (p *Poller) Close() error { return p.f.Close() }

// poll is epoll_pwait with a zero timeout. It never blocks, so it is a raw syscall.
func poll(epfd int, events []syscall.EpollEvent) (int, error) {
	if len(events) == 0 {
		return 0, errors.New("epoll: no room for events")
	}
	return raw(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), unsafe.Pointer(&events[0]), uintptr(len(events)))
}

// raw makes a system call that never blocks (a zero-timeout wait, or I/O on a
// non-blocking descriptor), without the scheduler's blocking-syscall hooks, and retries
// it when a signal interrupts it. p is passed as a pointer, and turned into an integer only
// in the syscall expression itself, so that the memory it points to (perhaps on the
// caller's stack) stays valid and in place during the call.
func raw(trap, a1 uintptr, p unsafe.Pointer, a3 uintptr) (int, error) {
	for {
		r, _, e := syscall.RawSyscall6(trap, a1, uintptr(p), a3, 0, 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// Read is one read(2) on a non-blocking descriptor; 0 bytes and no error is the end of
// the stream. It is a raw syscall: it never blocks.
func Read(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return raw(syscall.SYS_READ, uintptr(fd), unsafe.Pointer(&p[0]), uintptr(len(p)))
}

// Writev is one writev(2) of a then b (either may be empty) on a non-blocking descriptor.
// A peer that has gone away makes it fail with EPIPE (Go ignores SIGPIPE on descriptors
// other than 1 and 2).
func Writev(fd int, a, b []byte) (int, error) {
	var iov [2]syscall.Iovec
	n := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			iov[n].Base = &p[0]
			iov[n].SetLen(len(p))
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return raw(syscall.SYS_WRITEV, uintptr(fd), unsafe.Pointer(&iov[0]), uintptr(n))
}
