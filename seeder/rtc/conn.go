package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"
)

// Pending is a peer connection whose data channel is not open yet.
type Pending struct {
	// Static after construction.
	api    *API
	pc     *webrtc.PeerConnection
	opened chan *webrtc.DataChannel // capacity 1; the first channel to open
	failed chan struct{}            // closed when the connection fails or closes
	once   sync.Once
	// iceFailed is set (before failed is closed) when ICE itself failed.
	iceFailed bool
}

func newPending(a *API, pc *webrtc.PeerConnection) *Pending {
	p := &Pending{api: a, pc: pc, opened: make(chan *webrtc.DataChannel, 1), failed: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.once.Do(func() {
				p.iceFailed = s == webrtc.PeerConnectionStateFailed
				close(p.failed)
			})
		}
	})
	return p
}

func (p *Pending) onDataChannel(dc *webrtc.DataChannel) {
	dc.OnOpen(func() { p.onOpen(dc) })
}

func (p *Pending) onOpen(dc *webrtc.DataChannel) {
	select {
	case p.opened <- dc:
	default: // a second channel: P2P Media Loader uses one; ignore others
	}
}

// Accept applies the remote answer to an offer made with API.Offer.
func (p *Pending) Accept(answerSDP string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answerSDP}); err != nil {
		return fmt.Errorf("set remote answer: %w", err)
	}
	return nil
}

// ErrICEFailed is returned by Wait when ICE could not connect.
var ErrICEFailed = errors.New("ICE failed")

// Wait blocks until the data channel is open and returns the connection. On error (ctx
// ended, ICE failed) the peer connection is closed.
func (p *Pending) Wait(ctx context.Context) (*Conn, error) {
	select {
	case dc := <-p.opened:
		rwc, err := dc.Detach()
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("detach data channel: %w", err)
		}
		return newConn(p, dc, rwc), nil
	case <-p.failed:
		p.Close()
		if p.iceFailed {
			return nil, ErrICEFailed
		}
		return nil, ErrClosed
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
}

// Close closes the peer connection.
func (p *Pending) Close() { _ = p.pc.Close() }

// Conn is an open data channel. ReadMessage may be called by one goroutine and
// WriteMessage by another at the same time.
type Conn struct {
	// Static after construction.
	p            *Pending
	dc           *webrtc.DataChannel
	rwc          datachannel.ReadWriteCloser
	low          chan struct{} // capacity 1: signalled when the buffered amount drops low
	maxBuffered  uint64
	writeTimeout time.Duration
	closed       chan struct{}
	closeOnce    sync.Once
	timer        *time.Timer // owned by the writer goroutine
}

func newConn(p *Pending, dc *webrtc.DataChannel, rwc datachannel.ReadWriteCloser) *Conn {
	c := &Conn{p: p, dc: dc, rwc: rwc, low: make(chan struct{}, 1), maxBuffered: p.api.cfg.MaxBufferedAmount,
		writeTimeout: p.api.cfg.WriteTimeout, closed: make(chan struct{})}
	dc.SetBufferedAmountLowThreshold(c.maxBuffered / 2)
	dc.OnBufferedAmountLow(func() {
		select {
		case c.low <- struct{}{}:
		default:
		}
	})
	go func() {
		select {
		case <-p.failed:
			c.Close()
		case <-c.closed:
		}
	}()
	return c
}

// ReadMessage reads one whole message into buf. A message larger than buf fails with
// io.ErrShortBuffer.
func (c *Conn) ReadMessage(buf []byte) (int, error) {
	n, _, err := c.rwc.ReadDataChannel(buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return n, io.EOF
		}
		return n, err
	}
	return n, nil
}

// WriteMessage sends one message. While the channel holds more than MaxBufferedAmount it
// waits for the peer to drain it, at most WriteTimeout.
func (c *Conn) WriteMessage(b []byte) error {
	if c.dc.BufferedAmount() > c.maxBuffered {
		if c.timer == nil {
			c.timer = time.NewTimer(c.writeTimeout)
		} else {
			c.timer.Reset(c.writeTimeout)
		}
		for c.dc.BufferedAmount() > c.maxBuffered {
			select {
			case <-c.low:
			case <-c.timer.C:
				return ErrWriteTimeout
			case <-c.closed:
				c.timer.Stop()
				return ErrClosed
			}
		}
		c.timer.Stop()
	}
	if _, err := c.rwc.Write(b); err != nil {
		return fmt.Errorf("data channel write: %w", err)
	}
	return nil
}

// BufferedAmount is the number of bytes queued in the data channel.
func (c *Conn) BufferedAmount() uint64 { return c.dc.BufferedAmount() }

// Done is closed when the connection is closed or failed.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// ICEFailed reports whether the connection ended because ICE failed.
func (c *Conn) ICEFailed() bool {
	select {
	case <-c.p.failed:
		return c.p.iceFailed
	default:
		return false
	}
}

// ZeroChecksum reports whether the SCTP association sends packets without a CRC32c checksum
// (RFC 9653, negotiated in the SCTP handshake: the remote must accept it).
func (c *Conn) ZeroChecksum() bool {
	sctp := c.p.pc.SCTP()
	if sctp == nil {
		return false
	}
	md, ok := sctp.Metadata()
	return ok && md.ZeroChecksumSendingEnabled
}

// RemoteAddr is the remote address of the selected candidate pair ("" if unknown).
func (c *Conn) RemoteAddr() string {
	sctp := c.p.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return ""
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", pair.Remote.Address, pair.Remote.Port)
}

// Close closes the data channel and the peer connection. It is idempotent.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		_ = c.rwc.Close()
		_ = c.p.pc.Close()
	})
}
