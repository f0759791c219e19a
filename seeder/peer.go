package seeder

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"swarmcast/seeder/pml"
	"swarmcast/seeder/rtc"
	"swarmcast/seeder/source"
)

// chunkSize is the data message size, P2P Media Loader's webRtcMaxMessageSize.
const chunkSize = pml.MaxMessageSize

// readBufferSize bounds one received message: browsers send at most 64 KiB − 1 bytes, so a
// larger message is a protocol error (oversized) and drops the peer.
const readBufferSize = 64 << 10

// request is one segment request from a browser.
type request struct {
	id       int64  // binary protocol: externalId
	req      int64  // binary protocol: request id r
	offset   int64  // binary protocol: resume offset b
	legacyID string // 0.6: full segment id
}

func (r *request) same(o *request) bool {
	return r.id == o.id && r.req == o.req && r.legacyID == o.legacyID
}

// peer is one open data channel to a browser in one swarm. The reader goroutine owns the
// joiner; the writer goroutine (run) owns every write and the upload state.
type peer struct {
	// Static after construction.
	sw       *swarm
	conn     *rtc.Conn
	remoteID string
	log      *slog.Logger
	limit    *limiter // per-peer cap; nil = unlimited

	mu        sync.Mutex
	next      *request // guarded by mu: newest request not yet started
	cancelled *request // guarded by mu: the last Cancel received

	wake     chan struct{} // capacity 1: a request or cancel arrived
	stop     chan struct{} // capacity 1: the same, for an upload waiting on a rate cap
	announce chan struct{} // capacity 1: the window changed
	lastRecv atomic.Int64  // unix nanoseconds of the last message received
	reason   atomic.Uint32 // closeReason, first one wins

	// Owned by the writer goroutine.
	buf      []byte // command encoding scratch
	lastSent string // last announcement sent (skip duplicates)
}

func newPeer(sw *swarm, conn *rtc.Conn, remoteID string) *peer {
	p := &peer{sw: sw, conn: conn, remoteID: remoteID, limit: newLimiter(sw.s.cfg.PeerUploadMbps),
		wake: make(chan struct{}, 1), stop: make(chan struct{}, 1), announce: make(chan struct{}, 1)}
	p.log = sw.log.With("peer", remoteID, "addr", conn.RemoteAddr())
	p.log.Debug("transport", "sctp_zero_checksum", conn.ZeroChecksum())
	p.lastRecv.Store(time.Now().UnixNano())
	p.announce <- struct{}{} // announce right after open
	return p
}

func (p *peer) setReason(r closeReason) {
	p.reason.CompareAndSwap(uint32(reasonUnknown), uint32(r))
}

func (p *peer) notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run serves the peer until it fails, misbehaves, idles out or ctx ends.
func (p *peer) run(ctx context.Context) closeReason {
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		p.readLoop()
	}()
	p.writeLoop(ctx, readerDone)
	p.conn.Close()
	<-readerDone
	r := closeReason(p.reason.Load())
	if r == reasonUnknown {
		r = reasonPeerClosed
	}
	return r
}

func (p *peer) protocolError(r closeReason, err error) {
	p.setReason(r)
	p.sw.s.metrics.protocolErrors.WithLabelValues(p.sw.gen.String()).Inc()
	p.sw.s.protocolErrors.Add(1)
	p.log.Info("dropping peer: bad message", "err", err)
	p.conn.Close()
}

func (p *peer) readLoop() {
	buf := make([]byte, readBufferSize)
	var joiner pml.Joiner
	for {
		n, err := p.conn.ReadMessage(buf)
		if err != nil {
			if errors.Is(err, io.ErrShortBuffer) {
				p.protocolError(reasonOversized, err)
			} else if p.conn.ICEFailed() {
				p.setReason(reasonICEFailed)
			}
			p.conn.Close()
			return
		}
		p.lastRecv.Store(time.Now().UnixNano())
		m := buf[:n]
		var rq *request
		var cancel bool
		if p.sw.gen.Binary() {
			if !pml.IsCommandChunk(m) {
				p.protocolError(reasonProtocolError, errors.New("segment data that was never requested"))
				return
			}
			payload, err := joiner.Add(m)
			if err != nil {
				r := reasonProtocolError
				if errors.Is(err, pml.ErrTooLarge) {
					r = reasonOversized
				}
				p.protocolError(r, err)
				return
			}
			if payload == nil {
				continue
			}
			c, err := pml.Decode(payload)
			if err != nil {
				p.protocolError(reasonProtocolError, err)
				return
			}
			switch c.Type {
			case pml.CmdRequest:
				rq = &request{id: c.ID, req: c.Req, offset: c.Offset}
			case pml.CmdCancel:
				rq, cancel = &request{id: c.ID, req: c.Req}, true
			}
		} else {
			if !pml.IsLegacyCommand(m) {
				p.protocolError(reasonProtocolError, errors.New("segment data that was never requested"))
				return
			}
			c, err := pml.DecodeLegacy(m)
			if err != nil {
				p.protocolError(reasonProtocolError, err)
				return
			}
			switch c.Type {
			case pml.LegacyRequest:
				rq = &request{legacyID: c.ID}
			case pml.LegacyCancel:
				rq, cancel = &request{legacyID: c.ID}, true
			}
		}
		if rq == nil {
			continue // announcements and segment maps: the seeder downloads nothing
		}
		p.mu.Lock()
		if cancel {
			p.cancelled = rq
			if p.next != nil && p.next.same(rq) {
				p.next = nil
			}
		} else {
			p.next = rq
		}
		p.mu.Unlock()
		p.notify(p.wake)
		p.notify(p.stop)
	}
}

func (p *peer) writeLoop(ctx context.Context, readerDone <-chan struct{}) {
	idle := p.sw.s.cfg.idleTimeout()
	check := time.NewTicker(min(idle/4, 5*time.Second))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			p.setReason(reasonShutdown)
			return
		case <-readerDone:
			return
		case <-p.conn.Done():
			if p.conn.ICEFailed() {
				p.setReason(reasonICEFailed)
			}
			return
		case <-check.C:
			if time.Since(time.Unix(0, p.lastRecv.Load())) > idle {
				p.setReason(reasonIdle)
				return
			}
		case <-p.announce:
			if err := p.sendAnnouncement(); err != nil {
				p.writeFailed(err)
				return
			}
		case <-p.wake:
			if err := p.serveRequests(ctx); err != nil {
				p.writeFailed(err)
				return
			}
		}
	}
}

func (p *peer) writeFailed(err error) {
	switch {
	case errors.Is(err, rtc.ErrWriteTimeout):
		p.setReason(reasonWriteTimeout)
	case errors.Is(err, rtc.ErrClosed), errors.Is(err, context.Canceled):
		p.setReason(reasonShutdown)
	default:
		p.setReason(reasonWriteError)
	}
	p.log.Debug("peer write failed", "err", err)
}

// takeRequest returns the newest pending request (nil if none).
func (p *peer) takeRequest() *request {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.next
	p.next = nil
	if r != nil {
		// A cancel that arrived before this request was taken already removed it from next;
		// forget older cancels so a reused (id, r) pair is not cancelled by mistake.
		p.cancelled = nil
	}
	return r
}

// interrupted reports whether cur must stop: a newer request arrived or cur was cancelled.
func (p *peer) interrupted(cur *request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next != nil {
		return true
	}
	return p.cancelled != nil && p.cancelled.same(cur)
}

func (p *peer) serveRequests(ctx context.Context) error {
	for {
		rq := p.takeRequest()
		if rq == nil {
			return nil
		}
		if err := p.serve(ctx, rq); err != nil {
			return err
		}
	}
}

// lookup finds the requested segment in the live window.
func (p *peer) lookup(rq *request) *source.Segment {
	snap := p.sw.s.src.Snapshot()
	if snap == nil || p.sw.rendition >= len(snap.Windows) {
		return nil
	}
	if !p.sw.gen.Binary() {
		seqStr, ok := strings.CutPrefix(rq.legacyID, p.sw.streamSwarmID+"+")
		if !ok {
			return nil
		}
		seq, err := strconv.ParseInt(seqStr, 10, 64)
		if err != nil {
			return nil
		}
		return snap.Find(p.sw.rendition, seq)
	}
	w := snap.Windows[p.sw.rendition]
	if w.Live {
		return snap.Find(p.sw.rendition, rq.id)
	}
	for _, s := range w.Segments {
		if int64(s.Index) == rq.id {
			return s
		}
	}
	return nil
}

func (p *peer) write(b []byte) error { return p.conn.WriteMessage(b) }

func (p *peer) serve(ctx context.Context, rq *request) error {
	gen := p.sw.gen.String()
	m := p.sw.s.metrics
	seg := p.lookup(rq)
	if seg == nil || rq.offset < 0 || rq.offset > int64(len(seg.Data)) {
		m.segments.WithLabelValues(gen, "absent").Inc()
		p.sw.s.absent.Add(1)
		if p.sw.gen.Binary() {
			b, _ := pml.AppendPayload(p.buf[:0], &pml.Command{Type: pml.CmdAbsent, ID: rq.id, Req: rq.req})
			p.buf = b
			return p.write(pml.Frame(b, pml.MaxMessageSize)[0])
		}
		return p.write(pml.AppendLegacyAbsent(nil, rq.legacyID))
	}
	data := seg.Data[rq.offset:]
	if p.sw.gen.Binary() {
		b, _ := pml.AppendPayload(p.buf[:0], &pml.Command{Type: pml.CmdData, ID: rq.id, Req: rq.req, Size: int64(len(data))})
		p.buf = b
		if err := p.write(pml.Frame(b, pml.MaxMessageSize)[0]); err != nil {
			return err
		}
	} else if err := p.write(pml.AppendLegacyData(nil, rq.legacyID, int64(len(data)))); err != nil {
		return err
	}
	for off := 0; off < len(data); {
		if p.interrupted(rq) {
			m.segments.WithLabelValues(gen, "cancelled").Inc()
			p.sw.s.cancelled.Add(1)
			return nil
		}
		end := min(off+chunkSize, len(data))
		// A chunk that looks like a command would be parsed as one by the browser: move
		// the boundary by a byte (the next chunk starts with that byte instead).
		for end-off > 1 && p.looksLikeCommand(data[off:end]) {
			end--
		}
		n := end - off
		if err := p.pace(ctx, n, rq); err != nil {
			return err
		}
		if p.interrupted(rq) {
			m.segments.WithLabelValues(gen, "cancelled").Inc()
			p.sw.s.cancelled.Add(1)
			return nil
		}
		if err := p.write(data[off:end]); err != nil {
			return err
		}
		off = end
		m.uploaded.WithLabelValues(gen).Add(float64(n))
		p.sw.s.uploaded.Add(uint64(n))
	}
	if p.sw.gen.Binary() {
		b, _ := pml.AppendPayload(p.buf[:0], &pml.Command{Type: pml.CmdCompleted, ID: rq.id, Req: rq.req})
		p.buf = b
		if err := p.write(pml.Frame(b, pml.MaxMessageSize)[0]); err != nil {
			return err
		}
	}
	m.segments.WithLabelValues(gen, "served").Inc()
	p.sw.s.served.Add(1)
	return nil
}

func (p *peer) looksLikeCommand(b []byte) bool {
	if p.sw.gen.Binary() {
		return pml.IsCommandChunk(b)
	}
	return pml.IsLegacyCommand(b)
}

// pace waits until the global and per-peer upload caps allow n more bytes of rq, or rq is
// replaced or cancelled.
func (p *peer) pace(ctx context.Context, n int, rq *request) error {
	now := time.Now()
	d := max(p.sw.s.limit.reserve(now, n), p.limit.reserve(now, n))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-p.stop:
			if p.interrupted(rq) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-p.conn.Done():
			return rtc.ErrClosed
		}
	}
}

// sendAnnouncement tells the peer which segments of its stream the seeder holds.
func (p *peer) sendAnnouncement() error {
	snap := p.sw.s.src.Snapshot()
	var msgs [][]byte
	if snap != nil && p.sw.rendition < len(snap.Windows) {
		w := snap.Windows[p.sw.rendition]
		ids := make([]int64, 0, len(w.Segments))
		for _, s := range w.Segments {
			if p.sw.gen.Binary() && !w.Live {
				ids = append(ids, int64(s.Index))
			} else {
				ids = append(ids, s.Seq)
			}
		}
		if p.sw.gen.Binary() {
			for len(ids) > 0 {
				var err error
				msgs, err = pml.Encode(&pml.Command{Type: pml.CmdAnnouncement, Loaded: ids}, pml.MaxMessageSize)
				if err == nil {
					break
				}
				ids = ids[len(ids)/2:] // too many groups: keep the newest half
			}
		} else {
			msgs = [][]byte{pml.AppendLegacyMap(nil, p.sw.streamSwarmID, ids)}
		}
	}
	if msgs == nil {
		if p.sw.gen.Binary() {
			msgs, _ = pml.Encode(&pml.Command{Type: pml.CmdAnnouncement}, pml.MaxMessageSize)
		} else {
			msgs = [][]byte{pml.AppendLegacyMap(nil, p.sw.streamSwarmID, nil)}
		}
	}
	key := string(msgs[len(msgs)-1])
	if len(msgs) == 1 && key == p.lastSent {
		return nil
	}
	for _, m := range msgs {
		if err := p.write(m); err != nil {
			return err
		}
	}
	p.lastSent = key
	return nil
}
