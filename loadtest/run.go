package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

var errStopped = errors.New("the run has ended")

// runner is the state of one Run shared by its connections.
type runner struct {
	cfg         *Config
	tpl         *templates
	ctr         Counters
	rtt         Histogram
	base        time.Time // origin of the monotonic timestamps in rttQueue
	seed        uint64
	peerPrefix  string // 8 bytes, unique per run, so two runs never share peer_ids
	offerPrefix string
	log         *slog.Logger

	mu    sync.Mutex
	conns map[*wsConn]struct{}
	done  bool
}

// slowAnswer builds an answer whose ids could not go into a template (escaped or of
// another length), copying the received JSON literals as they are.
func (rn *runner) slowAnswer(m *Msg, ih, pid []byte, closed bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"action":"announce","info_hash":`)
	if m.InfoHash != nil {
		b.Write(m.InfoHash)
	} else {
		b.WriteString(`"` + string(ih) + `"`)
	}
	b.WriteString(`,"peer_id":"` + string(pid) + `",`)
	if closed {
		b.WriteString(`"numwant":0,"offers":null,`)
	}
	b.WriteString(`"to_peer_id":`)
	b.Write(m.PeerID)
	b.WriteString(`,"answer":{"type":"answer","sdp":` + rn.tpl.sdp + `}`)
	if m.OfferID != nil {
		b.WriteString(`,"offer_id":`)
		b.Write(m.OfferID)
	}
	b.WriteString("}")
	return b.Bytes()
}

func (rn *runner) track(ws *wsConn) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.done {
		return false
	}
	rn.conns[ws] = struct{}{}
	return true
}

func (rn *runner) untrack(ws *wsConn) {
	rn.mu.Lock()
	delete(rn.conns, ws)
	rn.mu.Unlock()
}

// closeAll stops every connection; later dials are closed as soon as they finish.
func (rn *runner) closeAll() {
	rn.mu.Lock()
	rn.done = true
	conns := rn.conns
	rn.conns = nil
	rn.mu.Unlock()
	for ws := range conns {
		_ = ws.nc.Close()
	}
}

func (rn *runner) stopped() bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.done
}

// Run performs one load test and returns its measurements. It returns an error when the
// configuration is invalid, when the first connection cannot be made (tracker down,
// permessage-deflate refused), or when the tracker process cannot be sampled.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	tpl, err := buildTemplates(&cfg)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	d, err := newDialer(&cfg)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	tag := binary.LittleEndian.Uint64(rb[:])
	var pfx [IDLen]byte
	putID(pfx[:], "", tag)
	rn := &runner{
		cfg: &cfg, tpl: tpl, base: time.Now(), seed: tag, log: log,
		peerPrefix: "-LT" + string(pfx[15:]), offerPrefix: "o" + string(pfx[17:]),
		conns: map[*wsConn]struct{}{},
	}

	var base ProcSample
	if cfg.PID != 0 {
		if base, err = ReadProc(cfg.PID); err != nil {
			return nil, fmt.Errorf("loadtest: -pid: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup    // connection and event-loop goroutines
	var dials sync.WaitGroup // connection attempts not yet finished
	defer func() {
		rn.closeAll()
		cancel()
		dials.Wait()
		wg.Wait()
	}()

	var loops []*eloop
	if cfg.engine() == "epoll" {
		for range cfg.loops() {
			l, err := newELoop(rn)
			if err != nil {
				return nil, fmt.Errorf("loadtest: %w", err)
			}
			loops = append(loops, l)
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.run(ctx)
			}()
		}
	}
	srcAt := func(i int) netip.Addr {
		if len(cfg.SourceAddrs) == 0 {
			return netip.Addr{}
		}
		return cfg.SourceAddrs[i%len(cfg.SourceAddrs)]
	}
	// connect makes connection i and starts driving it.
	connect := func(i int) error {
		var ws *wsConn
		var err error
		if loops != nil {
			ws, err = d.dialFD(d.dst, srcAt(i))
		} else {
			ws, err = d.dial(ctx, srcAt(i))
		}
		if err != nil {
			return err
		}
		c := newClient(rn, i, ws)
		first := time.Now()
		switch cfg.Mode {
		case ModeOpen:
			first = first.Add(time.Duration(c.rng.Int64N(int64(cfg.Interval))))
		case ModeClosed:
			first = time.Time{}
		}
		if loops != nil {
			return loops[i%len(loops)].add(c, first)
		}
		if !rn.track(ws) {
			_ = ws.nc.Close()
			return errStopped
		}
		rn.ctr.Connected.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rn.ctr.Connected.Add(-1)
			defer rn.untrack(ws)
			var err error
			if cfg.Mode == ModeClosed {
				err = c.runClosed()
			} else {
				err = c.runOpen(first)
			}
			if !rn.stopped() {
				rn.ctr.Closes.Add(1)
				log.Debug("connection ended", "conn", i, "err", err)
			}
			_ = ws.nc.Close()
		}()
		return nil
	}

	// The first connection is made synchronously so a down tracker fails fast.
	rampStart := time.Now()
	if err := connect(0); err != nil {
		return nil, fmt.Errorf("loadtest: first connection to %s: %w", cfg.URL, err)
	}
	var dialErrOnce sync.Once
	sem := make(chan struct{}, 64) // bounds concurrent handshakes (and OS threads in raw dials)
	for i := 1; i < cfg.Conns; i++ {
		at := rampStart.Add(time.Duration(i) * time.Second / time.Duration(cfg.RampRate))
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("loadtest: %w", ctx.Err())
			case <-time.After(wait):
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("loadtest: %w", ctx.Err())
		case sem <- struct{}{}:
		}
		dials.Add(1)
		go func(i int) {
			defer dials.Done()
			defer func() { <-sem }()
			if err := connect(i); err != nil && !rn.stopped() {
				rn.ctr.DialErrors.Add(1)
				dialErrOnce.Do(func() { log.Warn("connection failed", "conn", i, "err", err) })
			}
		}(i)
	}
	dials.Wait()
	rampDur := time.Since(rampStart)
	log.Info("connections open", "open", rn.ctr.Connected.Load(), "failed", rn.ctr.DialErrors.Load(), "ramp", rampDur.Round(time.Millisecond))

	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadtest: %w", ctx.Err())
		case <-time.After(d):
			return nil
		}
	}
	if err := sleep(cfg.Warmup); err != nil {
		return nil, err
	}

	w0 := takeWindowPoint(rn, cfg.PID)
	if err := sleep(cfg.Duration); err != nil {
		return nil, err
	}
	w1 := takeWindowPoint(rn, cfg.PID)
	if w0.procErr != nil || w1.procErr != nil {
		return nil, fmt.Errorf("loadtest: -pid: %w", errors.Join(w0.procErr, w1.procErr))
	}
	res := buildResult(&cfg, rn, base, w0, w1, rampDur)
	return res, nil
}

// windowPoint is everything sampled at one edge of the measuring window.
type windowPoint struct {
	at      time.Time
	ctr     CounterSnap
	rtt     *Snapshot
	self    time.Duration
	proc    ProcSample
	procErr error
}

func takeWindowPoint(rn *runner, pid int) windowPoint {
	p := windowPoint{at: time.Now(), ctr: rn.ctr.Snap(), rtt: rn.rtt.Snapshot(), self: selfCPU()}
	if pid != 0 {
		p.proc, p.procErr = ReadProc(pid)
	}
	return p
}
