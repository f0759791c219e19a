//go:build !linux

package loadtest

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Without epoll every connection uses the goroutine engine.
const epollAvailable = false

type eloop struct{}

func newELoop(*runner) (*eloop, error) { return nil, errors.New("the epoll engine needs Linux") }

func (*eloop) run(context.Context)          {}
func (*eloop) add(*client, time.Time) error { return errors.New("the epoll engine needs Linux") }
func (*dialer) dialFD(netip.AddrPort, netip.Addr) (*wsConn, error) {
	return nil, errors.New("the epoll engine needs Linux")
}
