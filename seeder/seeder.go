// Package seeder is swarmcast's super-peer for unmodified P2P Media Loader clients: it joins
// the stream's swarms of every enabled client generation (2.3.x, 1.0.4–2.2.x, 0.6.x) on
// WebSocket trackers, connects to browsers over WebRTC (pion), announces the live segments
// it holds and uploads them on request, so the first viewers of a stream get P2P data.
//
// Pieces: source (segments from the hlsgen folder or any HLS origin, verified against
// segments-sha256.json), pml (swarm ids and wire codecs), rtc (pion, one UDP port),
// trackerclient (tracker membership). The WebTorrent half lives in seeder/torrent.
//
// Use: New(cfg, Options{Logger, Registry}), then Run(ctx) until ctx ends. Stats returns the
// value for /stats.json's "seeder" object.
package seeder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/seeder/pml"
	"swarmcast/seeder/rtc"
	"swarmcast/seeder/source"
	"swarmcast/seeder/trackerclient"
)

// Options are a Seeder's dependencies.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Registry receives the seeder's metrics; nil: a private registry.
	Registry prometheus.Registerer
	// Source, when set, is a running (or to-be-run by its owner) segment source to share,
	// e.g. with the WebTorrent half; nil: the seeder creates and runs its own from cfg.
	Source *source.Source
}

// Seeder is the P2P Media Loader super-peer.
type Seeder struct {
	// Static after New.
	cfg      Config
	log      *slog.Logger
	src      *source.Source
	ownSrc   bool
	api      *rtc.API
	metrics  *metrics
	limit    *limiter // global upload cap; nil = unlimited
	maxPeers int64

	slots atomic.Int64 // peers connected or connecting, across swarms

	uploaded, served, absent, cancelled, protocolErrors, iceFailures atomic.Uint64

	mu      sync.Mutex
	swarms  []*swarm        // guarded by mu; set once when the source is ready
	peerCtx context.Context // guarded by mu; nil before Run and after shutdown begins
	peerWG  sync.WaitGroup
	ran     bool // guarded by mu
	closed  bool // guarded by mu
}

// New validates cfg, opens the UDP port and registers metrics. It starts no goroutines.
func New(cfg *Config, opts Options) (*Seeder, error) {
	if cfg == nil {
		return nil, errors.New("seeder: no configuration")
	}
	c := *cfg
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "seeder")
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Seeder{cfg: c, log: log, limit: newLimiter(c.UploadMbps), maxPeers: int64(c.MaxPeers)}
	if opts.Source != nil {
		s.src = opts.Source
	} else {
		src, err := source.New(source.Config{
			Origin: c.Origin, PublicURL: c.PublicURL, Window: c.Window, RequireManifest: c.RequireManifest,
			PollInterval: time.Duration(c.PollIntervalSeconds * float64(time.Second)),
		}, log.With("part", "source"))
		if err != nil {
			return nil, fmt.Errorf("seeder: %w", err)
		}
		s.src, s.ownSrc = src, true
	}
	m, err := newMetrics(reg, s.src)
	if err != nil {
		return nil, fmt.Errorf("seeder: register metrics: %w", err)
	}
	s.metrics = m
	api, err := rtc.New(rtc.Config{ICEServers: c.iceServers(), UDPPort: c.UDPPort, PublicIPs: c.PublicIPs,
		LoopbackOnly: c.LoopbackOnly}, log.With("part", "rtc"))
	if err != nil {
		return nil, fmt.Errorf("seeder.udpPort: %w", err)
	}
	s.api = api
	return s, nil
}

// Source returns the segment source (for the WebTorrent half).
func (s *Seeder) Source() *source.Source { return s.src }

// UDPAddrs returns the UDP addresses peers connect to.
func (s *Seeder) UDPAddrs() []string {
	var out []string
	for _, a := range s.api.LocalAddrs() {
		out = append(out, a.String())
	}
	return out
}

// Swarms returns the swarms joined (empty until the master playlist has been read).
func (s *Seeder) Swarms() []SwarmInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SwarmInfo, 0, len(s.swarms))
	for _, sw := range s.swarms {
		out = append(out, sw.info())
	}
	return out
}

func (s *Seeder) full() bool { return s.slots.Load() >= s.maxPeers }

func (s *Seeder) acquire() bool {
	for {
		n := s.slots.Load()
		if n >= s.maxPeers {
			return false
		}
		if s.slots.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *Seeder) release() { s.slots.Add(-1) }

// goPeer runs f in a tracked goroutine with the peers' context; after shutdown began it
// runs f with an already-cancelled context so resources are still released.
func (s *Seeder) goPeer(f func(ctx context.Context)) {
	s.mu.Lock()
	ctx := s.peerCtx
	if ctx == nil {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		ctx = c
	}
	s.peerWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.peerWG.Done()
		f(ctx)
	}()
}

// Run joins the swarms and serves peers until ctx ends, then closes every peer, leaves the
// trackers and releases the UDP port. It may be called once.
func (s *Seeder) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran || s.closed {
		s.mu.Unlock()
		return errors.New("seeder: Run called twice or after Close")
	}
	s.ran = true
	peerCtx, cancelPeers := context.WithCancel(context.Background())
	s.peerCtx = peerCtx
	s.mu.Unlock()

	var wg sync.WaitGroup
	defer func() {
		s.mu.Lock()
		s.peerCtx = nil
		s.closed = true
		swarms := s.swarms
		s.mu.Unlock()
		cancelPeers()
		wg.Wait()
		for _, sw := range swarms {
			sw.closePending()
		}
		s.peerWG.Wait()
		_ = s.api.Close()
	}()

	if s.ownSrc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.src.Run(ctx)
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case <-s.src.Ready():
	}

	swarms := s.buildSwarms(s.src.Renditions())
	for _, sw := range swarms {
		for _, tr := range s.cfg.Trackers {
			c, err := trackerclient.New(trackerclient.Config{URL: tr, InfoHash: sw.infoHash, PeerID: sw.peerID,
				Offers: s.cfg.OffersPerAnnounce}, sw, sw.log)
			if err != nil {
				return fmt.Errorf("seeder: %w", err)
			}
			sw.clients = append(sw.clients, c)
		}
		info := sw.info()
		s.log.Info("joining swarm", "generation", info.Generation, "rendition", info.Rendition, "type", info.StreamType,
			"info_hash", info.InfoHash, "stream_swarm_id", info.StreamSwarmID, "peer_id", info.PeerID)
	}
	s.mu.Lock()
	s.swarms = swarms
	s.mu.Unlock()
	s.log.Info("seeder running", "swarms", len(swarms), "udp", s.UDPAddrs(), "trackers", s.cfg.Trackers)

	for _, sw := range swarms {
		for _, c := range sw.clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.Run(ctx)
			}()
		}
	}

	changes, unsubscribe := s.src.Subscribe()
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			for _, sw := range swarms {
				sw.notifyPeers()
			}
		}
	}
}

// Close releases the UDP port of a Seeder whose Run was never called. Run releases
// everything itself when its context ends.
func (s *Seeder) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ran || s.closed {
		return nil
	}
	s.closed = true
	return s.api.Close()
}

// Stats is the seeder's /stats.json object.
type Stats struct {
	Swarms            []SwarmStats       `json:"swarms"`
	PeersByGeneration map[string]int     `json:"peersByGeneration"`
	UploadedBytes     uint64             `json:"uploadedBytes"`
	SegmentsServed    uint64             `json:"segmentsServed"`
	SegmentsAbsent    uint64             `json:"segmentsAbsent"`
	SegmentsCancelled uint64             `json:"segmentsCancelled"`
	ProtocolErrors    uint64             `json:"protocolErrors"`
	ICEFailures       uint64             `json:"iceFailures"`
	UDP               []string           `json:"udp"`
	Source            source.Stats       `json:"source"`
	Window            map[string][]int64 `json:"window"` // rendition index -> sequence numbers held
}

// SwarmStats is one swarm in Stats.
type SwarmStats struct {
	SwarmInfo
	Peers    int                   `json:"peers"`
	Trackers []trackerclient.Stats `json:"trackers"`
}

// Stats returns a snapshot of the seeder's state for /stats.json. Safe for concurrent use.
func (s *Seeder) Stats() any {
	st := Stats{PeersByGeneration: map[string]int{}, UploadedBytes: s.uploaded.Load(), SegmentsServed: s.served.Load(),
		SegmentsAbsent: s.absent.Load(), SegmentsCancelled: s.cancelled.Load(), ProtocolErrors: s.protocolErrors.Load(),
		ICEFailures: s.iceFailures.Load(), UDP: s.UDPAddrs(), Source: s.src.Stats(), Window: map[string][]int64{}}
	for _, g := range pml.Generations {
		st.PeersByGeneration[g.String()] = 0
	}
	s.mu.Lock()
	swarms := s.swarms
	s.mu.Unlock()
	for _, sw := range swarms {
		ss := SwarmStats{SwarmInfo: sw.info(), Peers: sw.peerCount()}
		for _, c := range sw.clients {
			ss.Trackers = append(ss.Trackers, c.Stats())
		}
		st.PeersByGeneration[sw.gen.String()] += ss.Peers
		st.Swarms = append(st.Swarms, ss)
	}
	if snap := s.src.Snapshot(); snap != nil {
		for i, w := range snap.Windows {
			seqs := make([]int64, 0, len(w.Segments))
			for _, sg := range w.Segments {
				seqs = append(seqs, sg.Seq)
			}
			st.Window[fmt.Sprint(i)] = seqs
		}
	}
	return st
}
