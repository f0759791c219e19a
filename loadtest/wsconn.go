package loadtest

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"swarmcast/tracker/wsframe"
)

var zeroTime time.Time

// maxMessage bounds a received message; the trackers under test send far less.
const maxMessage = 1 << 20

var (
	errClosedByServer = errors.New("server sent a close frame")
	errTooLarge       = errors.New("received message exceeds 1 MiB")
)

// wsConn is a minimal client WebSocket: frames are read from a buffer the caller can
// keep across read timeouts, and written by the caller in whole batches.
type wsConn struct {
	nc       net.Conn // goroutine engine (and TLS); nil with the epoll engine
	fd       int      // epoll engine: the non-blocking socket
	buf      []byte   // read buffer; unparsed data is buf[r:w]
	r, w     int
	frag     []byte // payload of a fragmented message so far
	fragRSV1 bool
	fragging bool
	deflate  bool // permessage-deflate negotiated
	inflated []byte
}

// dialer opens connections for a run.
type dialer struct {
	u       *url.URL
	dst     netip.AddrPort // resolved target, for the epoll engine
	tls     *tls.Config    // nil for ws://
	deflate bool
	cfg     *Config
}

func newDialer(c *Config) (*dialer, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	d := &dialer{u: u, deflate: c.Deflate, cfg: c}
	if c.engine() == "epoll" {
		host, port, err := net.SplitHostPort(d.hostPort())
		if err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
		addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		ap, err := netip.ParseAddrPort(net.JoinHostPort(addrs[0].Unmap().String(), port))
		if err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
		d.dst = ap
	}
	if u.Scheme == "wss" || c.TLS {
		// The generator talks to a local test tracker whose certificate is usually
		// self-signed; it measures the tracker, not the PKI.
		d.tls = &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname()} //nolint:gosec // deliberate, documented
	}
	return d, nil
}

func (d *dialer) hostPort() string {
	if d.u.Port() != "" {
		return d.u.Host
	}
	if d.tls != nil {
		return net.JoinHostPort(d.u.Hostname(), "443")
	}
	return net.JoinHostPort(d.u.Hostname(), "80")
}

// dial connects from src (zero: any), performs the TLS and WebSocket handshakes.
func (d *dialer) dial(ctx context.Context, src netip.Addr) (*wsConn, error) {
	nd := net.Dialer{Timeout: d.cfg.DialTimeout}
	if src.IsValid() {
		nd.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	nc, err := nd.DialContext(ctx, "tcp", d.hostPort())
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if d.tls != nil {
		tc := tls.Client(nc, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c := &wsConn{nc: nc, fd: -1, buf: make([]byte, d.cfg.ReadBufBytes)}
	if err := c.handshake(d, nc); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(zeroTime)
	return c, nil
}

// handshake sends the upgrade request and checks the 101 response (RFC 6455 §4).
func (c *wsConn) handshake(d *dialer, rw io.ReadWriter) error {
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	path := d.u.RequestURI()
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, d.u.Host)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: http://%s\r\n", k, d.u.Host)
	if d.deflate {
		req.WriteString("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(rw, req.String()); err != nil {
		return fmt.Errorf("handshake: write: %w", err)
	}
	var end int
	for {
		if i := bytes.Index(c.buf[:c.w], []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
			break
		}
		if c.w == len(c.buf) {
			return errors.New("handshake: response headers too large")
		}
		n, err := rw.Read(c.buf[c.w:])
		c.w += n
		if err != nil && n == 0 {
			return fmt.Errorf("handshake: read: %w", err)
		}
	}
	head := string(c.buf[:end])
	c.r = end
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	if f := strings.Fields(lines[0]); len(f) < 2 || f[1] != "101" {
		return fmt.Errorf("handshake: server answered %q", lines[0])
	}
	want := wsframe.AcceptKey(k)
	var accept, ext string
	for _, l := range lines[1:] {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "sec-websocket-accept":
			accept = strings.TrimSpace(val)
		case "sec-websocket-extensions":
			ext += strings.TrimSpace(val)
		}
	}
	if accept != want {
		return fmt.Errorf("handshake: bad Sec-WebSocket-Accept %q", accept)
	}
	c.deflate = strings.Contains(ext, "permessage-deflate")
	if d.deflate && !c.deflate {
		return errNoDeflate
	}
	return nil
}

var errNoDeflate = errors.New("handshake: the server did not accept permessage-deflate")

// next returns the next complete data message, reading from the network as needed. The
// payload aliases internal buffers and is valid until the next call. Pings are answered
// (the pong is appended to *out for the caller to flush), pongs are skipped.
func (c *wsConn) next(out *[]byte) (payload []byte, err error) {
	for {
		p, ok, err := c.buffered(out)
		if err != nil || ok {
			return p, err
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// buffered is next without reading: ok is false when the buffer holds no complete
// message.
func (c *wsConn) buffered(out *[]byte) (payload []byte, ok bool, err error) {
	for {
		op, fin, rsv1, p, ok, err := c.parse()
		if err != nil || !ok {
			return nil, false, err
		}
		switch op {
		case opPing:
			*out = appendFrame(*out, opPong, false, p)
			continue
		case opPong:
			continue
		case opClose:
			*out = appendFrame(*out, opClose, false, nil)
			if len(p) >= 2 {
				return nil, false, fmt.Errorf("%w: code %d %q", errClosedByServer, binary.BigEndian.Uint16(p), p[2:])
			}
			return nil, false, errClosedByServer
		case opText, opBinary:
			if c.fragging {
				return nil, false, errors.New("new message inside a fragmented one")
			}
			if !fin {
				c.fragging, c.fragRSV1 = true, rsv1
				c.frag = append(c.frag[:0], p...)
				continue
			}
			p, err := c.finish(rsv1, p)
			return p, err == nil, err
		case opCont:
			if !c.fragging {
				return nil, false, errors.New("continuation frame without a message")
			}
			if len(c.frag)+len(p) > maxMessage {
				return nil, false, errTooLarge
			}
			c.frag = append(c.frag, p...)
			if !fin {
				continue
			}
			c.fragging = false
			p, err := c.finish(c.fragRSV1, c.frag)
			return p, err == nil, err
		default:
			return nil, false, fmt.Errorf("unknown opcode %#x", op)
		}
	}
}

var inflaters sync.Pool

// finish inflates a compressed message.
func (c *wsConn) finish(rsv1 bool, p []byte) ([]byte, error) {
	if !rsv1 {
		return p, nil
	}
	if !c.deflate {
		return nil, errors.New("compressed frame without permessage-deflate")
	}
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff}))
	var fr io.ReadCloser
	if v := inflaters.Get(); v != nil {
		fr = v.(io.ReadCloser)
		_ = fr.(flate.Resetter).Reset(src, nil)
	} else {
		fr = flate.NewReader(src)
	}
	defer inflaters.Put(fr)
	c.inflated = c.inflated[:0]
	var tmp [4096]byte
	for {
		n, err := fr.Read(tmp[:])
		c.inflated = append(c.inflated, tmp[:n]...)
		if len(c.inflated) > maxMessage {
			return nil, errTooLarge
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			// The stream has no final block: running out of input ends the message.
			return c.inflated, nil
		}
		if err != nil {
			return nil, fmt.Errorf("inflate: %w", err)
		}
	}
}

// parse takes one frame from the buffer; ok is false when more bytes are needed.
func (c *wsConn) parse() (op byte, fin, rsv1 bool, payload []byte, ok bool, err error) {
	b := c.buf[c.r:c.w]
	if len(b) < 2 {
		return 0, false, false, nil, false, nil
	}
	fin, rsv1, op = b[0]&0x80 != 0, b[0]&0x40 != 0, b[0]&0x0F
	masked := b[1]&0x80 != 0
	n := uint64(b[1] & 0x7F)
	h := 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, false, false, nil, false, nil
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, false, nil, false, nil
		}
		n, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if n > maxMessage {
		return 0, false, false, nil, false, errTooLarge
	}
	var mask []byte
	if masked {
		if len(b) < h+4 {
			return 0, false, false, nil, false, nil
		}
		mask = b[h : h+4]
		h += 4
	}
	total := h + int(n)
	if len(b) < total {
		if total > len(c.buf) {
			nb := make([]byte, total)
			c.w = copy(nb, b)
			c.r = 0
			c.buf = nb
		}
		return 0, false, false, nil, false, nil
	}
	payload = b[h:total]
	if mask != nil {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	c.r += total
	return op, fin, rsv1, payload, true, nil
}

// compact moves unparsed bytes to the front of the buffer and returns the free space.
func (c *wsConn) compact() []byte {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	return c.buf[c.w:]
}

// fill reads more bytes from nc.
func (c *wsConn) fill() error {
	n, err := c.nc.Read(c.compact())
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// complete reports whether the buffer holds at least one whole frame.
func (c *wsConn) complete() bool {
	b := c.buf[c.r:c.w]
	if len(b) < 2 {
		return false
	}
	n, h := uint64(b[1]&0x7F), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return false
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return false
		}
		n, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if b[1]&0x80 != 0 {
		h += 4
	}
	return uint64(len(b)) >= uint64(h)+n
}
