package torrent

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"time"

	atorrent "github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are the Seeder's injected dependencies.
type Options struct {
	// Logger receives the seeder's and anacrolix/torrent's logs (nil: slog.Default()).
	Logger *slog.Logger
	// Registry receives the seeder's metrics (nil: none are registered).
	Registry prometheus.Registerer
}

// Seeder seeds every live segment as its own WebTorrent torrent. Its methods are safe for
// concurrent use.
type Seeder struct {
	// Set by New, never changed.
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time // time.Now; tests replace it before the first Add

	// opMu serialises Add, Remove and Close (the goroutines that change the client's set of
	// torrents), so a torrent is never dropped while another call is re-adding it.
	opMu sync.Mutex

	// mu guards the fields below. Add, Remove and Close hold opMu as well when they change
	// them; anacrolix's status callbacks (onStatus) update trackers under mu alone; readers
	// (the HTTP handler, metrics, Stats) take only mu. mu is never held while calling into
	// anacrolix.
	mu     sync.Mutex
	closed bool
	byURI  map[string]*entry
	byHash map[metainfo.Hash]*seeded
	order  *list.List // of *entry, oldest first: the eviction order
	index  []byte     // cached torrents.json; nil when the set changed since it was built
	// indexVersion counts changes of the set of live torrents (torrents.json's ETag).
	indexVersion uint64
	dropped      map[string]uint64
	added        uint64
	trackers     map[string]*TrackerStats // by anacrolix's spelling of the URL (url.URL.String)
	// gens are the anacrolix clients, oldest first; the last one takes new torrents
	// (generation.go). Never empty.
	gens            []*generation
	rotations       uint64
	retiredUploaded int64         // bytes uploaded by closed generations
	closeCh         chan struct{} // closed by Close
}

// entry is one live segment.
type entry struct {
	b     *built
	added time.Time
	elem  *list.Element // in Seeder.order
}

// seeded is one torrent in the client. Identical segments (same name and bytes) share it.
type seeded struct {
	b    *built
	t    *atorrent.Torrent
	gen  *generation
	refs int
}

// New starts an anacrolix client configured for WebTorrent only. It opens no listening
// socket; the client dials the trackers when the first torrent is added.
func New(cfg Config, opts Options) (*Seeder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webtorrent seeder: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Seeder{
		cfg:      cfg,
		log:      logger,
		byURI:    make(map[string]*entry),
		byHash:   make(map[metainfo.Hash]*seeded),
		order:    list.New(),
		dropped:  make(map[string]uint64),
		closeCh:  make(chan struct{}),
		trackers: make(map[string]*TrackerStats),
		now:      time.Now,
	}
	for _, t := range cfg.Trackers {
		u, _ := url.Parse(t) // validated
		s.trackers[u.String()] = &TrackerStats{URL: t}
	}
	if opts.Registry != nil {
		m, err := newMetrics(opts.Registry, s)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	g, err := s.newGeneration()
	if err != nil {
		return nil, err
	}
	s.gens = []*generation{g}
	return s, nil
}

// clientConfig is anacrolix's configuration for a WebTorrent-only seeder.
func clientConfig(cfg Config, logger *slog.Logger) *atorrent.ClientConfig {
	cc := atorrent.NewDefaultClientConfig()
	cc.Seed = true // upload although peers give nothing back
	cc.NoDHT = true
	cc.PeriodicallyAnnounceTorrentsToDht = false
	cc.DisableTCP = true
	cc.DisableUTP = true
	cc.DisablePEX = true
	cc.NoDefaultPortForwarding = true
	cc.DisableWebseeds = true // the seeder has the data; it never downloads
	cc.DisableWebtorrent = false
	cc.DisableTrackers = false // would disable the ws:// trackers too
	cc.DialForPeerConns = false
	cc.ListenPort = 0
	cc.DropDuplicatePeerIds = true
	cc.EstablishedConnsPerTorrent = cfg.MaxPeersPerTorrent
	cc.DefaultStorage = noStorage{}
	cc.DataDir = "" // unused: every torrent brings its own storage
	cc.Slogger = logger
	if len(cfg.ICEServers) > 0 {
		cc.ICEServers = append([]string(nil), cfg.ICEServers...)
	}
	return cc
}

// Add seeds seg as a new torrent. Adding a URI that is already live with the same content is
// a no-op; with different content it is ErrConflict. When MaxTorrents torrents are live the
// oldest is dropped first.
func (s *Seeder) Add(seg Segment) error {
	b, err := buildTorrent(seg, s.cfg)
	if err != nil {
		s.countError()
		return fmt.Errorf("webtorrent seeder: %w", err)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()

	s.mu.Lock()
	closed, old := s.closed, s.byURI[b.seg.URI]
	s.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case old != nil && old.b.infoHash == b.infoHash:
		return nil
	case old != nil:
		s.countError()
		return fmt.Errorf("webtorrent seeder: %s: %w", b.seg.URI, ErrConflict)
	}

	for s.liveTorrents() >= s.cfg.MaxTorrents {
		s.mu.Lock()
		oldest := s.order.Front().Value.(*entry)
		s.mu.Unlock()
		s.log.Debug("webtorrent seeder: maxTorrents reached, dropping the oldest segment", "uri", oldest.b.seg.URI, "maxTorrents", s.cfg.MaxTorrents)
		s.removeLocked(oldest.b.seg.URI, dropEvicted)
	}

	s.mu.Lock()
	sd := s.byHash[b.infoHash]
	s.mu.Unlock()
	if sd == nil {
		g, err := s.currentGeneration()
		if err != nil {
			s.countError()
			return err
		}
		t, _, err := g.cl.AddTorrentSpec(&atorrent.TorrentSpec{
			AddTorrentOpts: atorrent.AddTorrentOpts{
				InfoHash:  b.infoHash,
				InfoBytes: b.infoBytes,
				Storage:   memStorage{data: b.seg.Data},
			},
			Trackers:    [][]string{s.cfg.Trackers},
			DisplayName: b.info.Name,
		})
		if err != nil {
			s.countError()
			return fmt.Errorf("webtorrent seeder: adding %s: %w", b.seg.URI, err)
		}
		sd = &seeded{b: b, t: t, gen: g}
		s.mu.Lock()
		g.live++
		s.mu.Unlock()
	}
	e := &entry{b: b, added: s.now()}
	s.mu.Lock()
	sd.refs++
	s.byHash[b.infoHash] = sd
	e.elem = s.order.PushBack(e)
	s.byURI[b.seg.URI] = e
	s.index = nil
	s.indexVersion++
	s.added++
	s.mu.Unlock()
	if s.metrics != nil {
		s.metrics.added.Inc()
	}
	s.log.Debug("webtorrent seeder: seeding segment", "rendition", b.seg.Rendition, "uri", b.seg.URI,
		"infohash", b.infoHash.HexString(), "bytes", len(b.seg.Data), "pieceLength", b.info.PieceLength)
	return nil
}

// Remove drops the torrent of the segment with this URI; call it before the segment leaves
// the live window. Unknown URIs are ignored.
func (s *Seeder) Remove(uri string) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.removeLocked(uri, dropRemoved)
}

// removeLocked drops uri's torrent; the caller holds opMu.
func (s *Seeder) removeLocked(uri, reason string) {
	s.mu.Lock()
	e := s.byURI[uri]
	if e == nil {
		s.mu.Unlock()
		return
	}
	delete(s.byURI, uri)
	s.order.Remove(e.elem)
	sd := s.byHash[e.b.infoHash]
	sd.refs--
	last := sd.refs == 0
	if last {
		delete(s.byHash, e.b.infoHash)
		sd.gen.live--
	}
	s.index = nil
	s.indexVersion++
	s.dropped[reason]++
	s.mu.Unlock()
	if last {
		// Drop closes the torrent's peer connections and its outstanding WebRTC offer. anacrolix
		// sends the tracker no "stopped": the tracker learns of it only when peers fail.
		sd.t.Drop()
		if err := s.retireIfIdle(sd.gen); err != nil {
			s.log.Warn("webtorrent seeder: closing an old torrent client", "err", err)
		}
	}
	if s.metrics != nil {
		s.metrics.removed.WithLabelValues(reason).Inc()
	}
	s.log.Debug("webtorrent seeder: dropped segment", "uri", uri, "reason", reason)
}

// Run blocks until ctx is cancelled, then closes the seeder.
func (s *Seeder) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.closeCh:
	}
	return s.Close()
}

// Close drops every torrent and stops the anacrolix client (its tracker websockets and
// WebRTC connections). It is idempotent.
func (s *Seeder) Close() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closeCh)
	uris := make([]string, 0, len(s.byURI))
	for e := s.order.Front(); e != nil; e = e.Next() {
		uris = append(uris, e.Value.(*entry).b.seg.URI)
	}
	s.mu.Unlock()
	for _, u := range uris {
		s.removeLocked(u, dropClosed)
	}
	var errs []error
	for _, g := range s.generations() {
		errs = append(errs, g.cl.Close()...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("webtorrent seeder: closing the torrent client: %w", errors.Join(errs...))
	}
	return nil
}

func (s *Seeder) liveTorrents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byURI)
}

func (s *Seeder) countError() {
	if s.metrics != nil {
		s.metrics.errors.Inc()
	}
}

// clientTotals are the anacrolix client's aggregate figures.
type clientTotals struct {
	Peers         int
	UploadedBytes int64
	Clients       int    // anacrolix clients (generations) alive
	Rotations     uint64 // generations started after the first
}

func (s *Seeder) clientStats() clientTotals {
	var ct clientTotals
	for _, g := range s.generations() {
		st := g.cl.Stats()
		ct.Peers += st.ActivePeers
		ct.UploadedBytes += st.BytesWrittenData.Int64()
	}
	s.mu.Lock()
	ct.UploadedBytes += s.retiredUploaded
	ct.Clients = len(s.gens)
	ct.Rotations = s.rotations
	s.mu.Unlock()
	return ct
}

// Stats is the seeder's section of /stats.json.
type Stats struct {
	Torrents      int               `json:"torrents"`
	MaxTorrents   int               `json:"maxTorrents"`
	Peers         int               `json:"peers"`
	UploadedBytes int64             `json:"uploadedBytes"`
	Added         uint64            `json:"added"`
	Dropped       map[string]uint64 `json:"dropped"`
	Renditions    map[string]int    `json:"renditions"` // live torrents per rendition
	Trackers      []TrackerStats    `json:"trackers"`
	Clients       int               `json:"clients"`   // anacrolix clients alive (see ClientRotation)
	Rotations     uint64            `json:"rotations"` // clients started after the first
}

// Stats returns a snapshot for /stats.json (a Stats value).
func (s *Seeder) Stats() any {
	ct := s.clientStats()
	trackers := s.trackerStats()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Torrents:      len(s.byURI),
		MaxTorrents:   s.cfg.MaxTorrents,
		Peers:         ct.Peers,
		UploadedBytes: ct.UploadedBytes,
		Added:         s.added,
		Dropped:       make(map[string]uint64, len(s.dropped)),
		Renditions:    make(map[string]int),
		Trackers:      trackers,
		Clients:       ct.Clients,
		Rotations:     ct.Rotations,
	}
	for k, v := range s.dropped {
		st.Dropped[k] = v
	}
	for _, e := range s.byURI {
		st.Renditions[e.b.seg.Rendition]++
	}
	return st
}

// liveURIs returns the live segment URIs, sorted (for tests and the index).
func (s *Seeder) liveURIs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byURI))
	for u := range s.byURI {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}
