// Package source keeps the live window of an HLS stream in memory for the seeder: it reads a
// master playlist and its media playlists from a local folder (the hlsgen output) or from any
// HTTP origin, polls the media playlists, downloads each new segment once, verifies it against
// the origin's segments-sha256.json when there is one, and publishes immutable snapshots of
// the verified segments. It is shared by the P2P Media Loader seeder and the WebTorrent half.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"swarmcast/seeder/pml"
)

// ManifestFile is the integrity manifest's name, in the HLS root folder next to the master
// playlist: {"version":1,"segments":{"v0/seg1.ts":"<lowercase hex sha256>", ...}}.
const ManifestFile = "segments-sha256.json"

// Defaults.
const (
	DefaultMaxSegmentBytes = 64 << 20
	DefaultHTTPTimeout     = 10 * time.Second
	DefaultMaxWindow       = 60
	minPollInterval        = 100 * time.Millisecond
	maxVerifyAttempts      = 3
	maxManifestBytes       = 16 << 20
)

// Config configures a Source.
type Config struct {
	// Origin is the master (or media) playlist: an http(s) URL or a local file path.
	Origin string
	// PublicURL is the master playlist URL the players load; swarm ids derive from it. Empty:
	// Origin when that is an http(s) URL (required for a folder origin).
	PublicURL string
	// PollInterval between playlist polls; 0: half the smallest target duration.
	PollInterval time.Duration
	// Window is the number of newest segments kept per rendition; 0: DefaultMaxWindow.
	Window int
	// MaxSegmentBytes rejects larger segments; 0: DefaultMaxSegmentBytes.
	MaxSegmentBytes int64
	// RequireManifest refuses every segment while segments-sha256.json is missing.
	RequireManifest bool
	// HTTPTimeout bounds one HTTP request; 0: DefaultHTTPTimeout.
	HTTPTimeout time.Duration
	// HTTPClient for an HTTP origin; nil: a client with no redirects limit changes.
	HTTPClient *http.Client
}

// Rendition is one stream the players see (a level or a separate audio track).
type Rendition struct {
	// Stream is the metadata P2P Media Loader derives swarm ids from; Stream.URL is the
	// public media-playlist URL.
	Stream pml.Stream
	// OriginURL is where the source polls the media playlist ("" for an audio track carried
	// inside the main rendition, which is not polled).
	OriginURL string
}

// Segment is one complete, verified segment. Segments are immutable once published.
type Segment struct {
	Rendition int     // index into Snapshot.Renditions
	URI       string  // path relative to the HLS root folder, e.g. "v0/seg1700000000.ts"
	URL       string  // public URL (resolved against the public playlist URL)
	Seq       int64   // media sequence number
	Index     int     // position in the media playlist when it was fetched (VOD external id)
	Duration  float64 // seconds (EXTINF)
	Data      []byte
	SHA256    [32]byte
	Verified  bool // checked against segments-sha256.json
}

// Window is the live window of one rendition, oldest first.
type Window struct {
	Live     bool // the playlist has no EXT-X-ENDLIST
	Segments []*Segment
}

// Snapshot is an immutable view of every rendition's window.
type Snapshot struct {
	Version    uint64 // increases with every change
	Renditions []Rendition
	Windows    []Window // parallel to Renditions
}

// Find returns the segment of rendition r with media sequence number seq, or nil.
func (s *Snapshot) Find(r int, seq int64) *Segment {
	if s == nil || r < 0 || r >= len(s.Windows) {
		return nil
	}
	segs := s.Windows[r].Segments
	// Windows are short; a linear scan from the newest end is cheapest for live requests.
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].Seq == seq {
			return segs[i]
		}
	}
	return nil
}

// Stats are cumulative counters of a Source.
type Stats struct {
	Polls          uint64 `json:"polls"`
	PollErrors     uint64 `json:"pollErrors"`
	SegmentsAdded  uint64 `json:"segmentsAdded"`
	BytesFetched   uint64 `json:"bytesFetched"`
	VerifyFailures uint64 `json:"verifyFailures"`
	Evicted        uint64 `json:"evicted"`
}

// Source polls an HLS stream. Create it with New, then call Run.
type Source struct {
	// Static after New.
	cfg        Config
	log        *slog.Logger
	fetcher    fetcher
	masterURL  *url.URL // origin master URL (file:// for a folder)
	publicURL  *url.URL
	rootURL    string // masterURL's directory, with a trailing slash
	ready      chan struct{}
	readyOnce  sync.Once
	snap       atomic.Pointer[Snapshot]
	stats      struct{ polls, pollErrors, added, bytes, verifyFailures, evicted atomic.Uint64 }
	subMu      sync.Mutex
	subs       map[chan struct{}]struct{} // guarded by subMu
	renditions []Rendition                // written once by Run before ready is closed

	// Owned by Run's goroutine.
	manifest     map[string]string
	manifestSeen bool
	attempts     map[string]int // verify failures per segment URI
}

// New validates cfg and returns a Source. It starts nothing.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Origin == "" {
		return nil, errors.New("origin: required (an http(s) URL or a path to master.m3u8)")
	}
	if cfg.MaxSegmentBytes <= 0 {
		cfg.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultMaxWindow
	}
	s := &Source{cfg: cfg, log: log, ready: make(chan struct{}), subs: map[chan struct{}]struct{}{},
		manifest: map[string]string{}, attempts: map[string]int{}}
	if strings.HasPrefix(cfg.Origin, "http://") || strings.HasPrefix(cfg.Origin, "https://") {
		u, err := url.Parse(cfg.Origin)
		if err != nil {
			return nil, fmt.Errorf("origin: %w", err)
		}
		s.masterURL = u
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{}
		}
		s.fetcher = httpFetcher{client: client, timeout: cfg.HTTPTimeout}
		if cfg.PublicURL == "" {
			cfg.PublicURL = cfg.Origin
		}
	} else {
		abs, err := filepath.Abs(cfg.Origin)
		if err != nil {
			return nil, fmt.Errorf("origin: %w", err)
		}
		s.masterURL = &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
		s.fetcher = fileFetcher{root: filepath.Dir(abs)}
		if cfg.PublicURL == "" {
			return nil, errors.New("publicUrl: required when the origin is a folder (the master playlist URL players load)")
		}
	}
	pu, err := url.Parse(cfg.PublicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("publicUrl: %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	s.publicURL = pu
	s.cfg = cfg
	dir := s.masterURL.String()
	s.rootURL = dir[:strings.LastIndexByte(dir, '/')+1]
	return s, nil
}

// PublicURL returns the master playlist URL players load.
func (s *Source) PublicURL() string { return s.cfg.PublicURL }

// Ready is closed once the master playlist has been read and Renditions is valid.
func (s *Source) Ready() <-chan struct{} { return s.ready }

// Renditions returns the streams of the master playlist (nil before Ready).
func (s *Source) Renditions() []Rendition {
	select {
	case <-s.ready:
		return s.renditions
	default:
		return nil
	}
}

// Snapshot returns the latest snapshot (nil before the first poll). It never blocks.
func (s *Source) Snapshot() *Snapshot { return s.snap.Load() }

// Subscribe returns a channel that receives a value after every change of the snapshot
// (notifications coalesce), and a function that unsubscribes.
func (s *Source) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	return ch, func() {
		s.subMu.Lock()
		delete(s.subs, ch)
		s.subMu.Unlock()
	}
}

// Stats returns the cumulative counters.
func (s *Source) Stats() Stats {
	return Stats{
		Polls: s.stats.polls.Load(), PollErrors: s.stats.pollErrors.Load(), SegmentsAdded: s.stats.added.Load(),
		BytesFetched: s.stats.bytes.Load(), VerifyFailures: s.stats.verifyFailures.Load(), Evicted: s.stats.evicted.Load(),
	}
}

// Run reads the master playlist (retrying until it succeeds) and polls until ctx ends. It
// returns nil when ctx is cancelled.
func (s *Source) Run(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		err := s.loadMaster(ctx)
		if err == nil {
			break
		}
		s.log.Warn("cannot read master playlist, retrying", "url", s.masterURL.String(), "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	s.readyOnce.Do(func() { close(s.ready) })

	windows := make([]Window, len(s.renditions))
	var version uint64
	interval := s.cfg.PollInterval
	for {
		targets, changed := s.poll(ctx, windows)
		if changed {
			version++
			s.publish(version, windows)
		}
		if s.cfg.PollInterval == 0 {
			interval = time.Second
			if targets > 0 {
				interval = time.Duration(targets * float64(time.Second) / 2)
			}
		}
		interval = max(interval, minPollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (s *Source) loadMaster(ctx context.Context) error {
	body, err := s.fetcher.fetch(ctx, s.masterURL, maxPlaylistBytes)
	if err != nil {
		return err
	}
	origin, err := pml.ParseMaster(body, s.masterURL.String())
	if err != nil {
		return err
	}
	public, err := pml.ParseMaster(body, s.cfg.PublicURL)
	if err != nil {
		return err
	}
	r := make([]Rendition, len(origin))
	for i := range origin {
		r[i] = Rendition{Stream: public[i], OriginURL: origin[i].URL}
		if origin[i].MediaOnly {
			r[i].OriginURL = s.masterURL.String()
		}
	}
	s.renditions = r
	s.log.Info("master playlist read", "url", s.masterURL.String(), "public", s.cfg.PublicURL, "renditions", len(r))
	return nil
}

// poll refreshes every window in place and reports the smallest target duration and whether
// anything changed.
func (s *Source) poll(ctx context.Context, windows []Window) (float64, bool) {
	s.stats.polls.Add(1)
	changed := false
	target := 0.0
	manifestTried := false
	for i, r := range s.renditions {
		if r.OriginURL == "" {
			continue
		}
		u, _ := url.Parse(r.OriginURL)
		body, err := s.fetcher.fetch(ctx, u, maxPlaylistBytes)
		var pl *mediaPlaylist
		if err == nil {
			pl, err = parseMediaPlaylist(body)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.stats.pollErrors.Add(1)
				s.log.Warn("media playlist poll failed", "rendition", i, "err", err)
			}
			continue
		}
		if pl.TargetDuration > 0 && (target == 0 || pl.TargetDuration < target) {
			target = pl.TargetDuration
		}
		live := !pl.Ended
		if windows[i].Live != live {
			windows[i].Live = live
			changed = true
		}
		segs := pl.Segments
		if len(segs) > s.cfg.Window {
			segs = segs[len(segs)-s.cfg.Window:]
		}
		have := make(map[int64]*Segment, len(windows[i].Segments))
		for _, sg := range windows[i].Segments {
			have[sg.Seq] = sg
		}
		next := make([]*Segment, 0, len(segs))
		for _, ms := range segs {
			if old, ok := have[ms.Seq]; ok && old.URI == s.relative(u, ms.URI) {
				next = append(next, old)
				continue
			}
			if ms.Ranged {
				continue
			}
			seg, err := s.fetchSegment(ctx, i, u, ms, &manifestTried)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("segment not added", "rendition", i, "seq", ms.Seq, "err", err)
				}
				continue
			}
			next = append(next, seg)
			changed = true
		}
		if evicted := len(windows[i].Segments) + countNew(next, have) - len(next); evicted > 0 {
			s.stats.evicted.Add(uint64(evicted))
			changed = true
		}
		windows[i].Segments = next
	}
	return target, changed
}

func countNew(next []*Segment, have map[int64]*Segment) int {
	n := 0
	for _, sg := range next {
		if have[sg.Seq] != sg {
			n++
		}
	}
	return n
}

// relative returns the segment's path relative to the HLS root folder (the manifest key), or
// its absolute URL when it lies outside the root.
func (s *Source) relative(playlist *url.URL, uri string) string {
	ref, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	abs := playlist.ResolveReference(ref)
	abs.RawQuery, abs.Fragment = "", ""
	str := abs.String()
	if rel, ok := strings.CutPrefix(str, s.rootURL); ok {
		if p, err := url.PathUnescape(rel); err == nil {
			return p
		}
		return rel
	}
	return str
}

var errVerify = errors.New("segment failed verification")

func (s *Source) fetchSegment(ctx context.Context, rend int, playlist *url.URL, ms mediaSegment, manifestTried *bool) (*Segment, error) {
	rel := s.relative(playlist, ms.URI)
	if s.attempts[rel] >= maxVerifyAttempts {
		return nil, fmt.Errorf("%s: %w %d times, given up", rel, errVerify, maxVerifyAttempts)
	}
	want, listed := s.manifest[rel]
	if !listed && !*manifestTried {
		*manifestTried = true
		s.refreshManifest(ctx)
		want, listed = s.manifest[rel]
	}
	if !listed && (s.manifestSeen || s.cfg.RequireManifest) {
		return nil, fmt.Errorf("%s: not (yet) listed in %s", rel, ManifestFile)
	}
	ref, err := url.Parse(ms.URI)
	if err != nil {
		return nil, fmt.Errorf("segment URI %q: %w", ms.URI, err)
	}
	data, err := s.fetcher.fetch(ctx, playlist.ResolveReference(ref), s.cfg.MaxSegmentBytes)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if listed && hex.EncodeToString(sum[:]) != want {
		s.attempts[rel]++
		s.stats.verifyFailures.Add(1)
		return nil, fmt.Errorf("%s: %w: sha256 %x, manifest says %s", rel, errVerify, sum, want)
	}
	s.stats.added.Add(1)
	s.stats.bytes.Add(uint64(len(data)))
	pub := s.publicURL.String()
	if r := s.renditions[rend].Stream.URL; r != "" {
		pub = r
	}
	pu, _ := url.Parse(pub)
	return &Segment{
		Rendition: rend, URI: rel, URL: pu.ResolveReference(ref).String(), Seq: ms.Seq, Index: ms.Index,
		Duration: ms.Duration, Data: data, SHA256: sum, Verified: listed,
	}, nil
}

// manifestJSON is segments-sha256.json.
type manifestJSON struct {
	Version  int               `json:"version"`
	Segments map[string]string `json:"segments"`
}

func (s *Source) refreshManifest(ctx context.Context) {
	u, _ := url.Parse(s.rootURL + ManifestFile)
	body, err := s.fetcher.fetch(ctx, u, maxManifestBytes)
	if errors.Is(err, errNotFound) {
		if s.manifestSeen {
			s.log.Warn("integrity manifest disappeared; no segment is added until it is back", "url", u.String())
		}
		return
	}
	if err != nil {
		s.log.Warn("cannot read integrity manifest", "url", u.String(), "err", err)
		s.manifestSeen = true // be strict: a manifest that exists but fails to load verifies nothing
		return
	}
	var m manifestJSON
	if err := json.Unmarshal(body, &m); err != nil || m.Version != 1 {
		s.log.Warn("bad integrity manifest; no segment is added until it is fixed", "url", u.String(), "err", err, "version", m.Version)
		s.manifestSeen = true
		s.manifest = map[string]string{}
		return
	}
	if !s.manifestSeen {
		s.log.Info("verifying segments against the integrity manifest", "url", u.String())
	}
	s.manifestSeen = true
	s.manifest = make(map[string]string, len(m.Segments))
	for k, v := range m.Segments {
		s.manifest[k] = strings.ToLower(v)
	}
	for k := range s.attempts {
		if _, ok := s.manifest[k]; !ok {
			delete(s.attempts, k)
		}
	}
}

func (s *Source) publish(version uint64, windows []Window) {
	snap := &Snapshot{Version: version, Renditions: s.renditions, Windows: make([]Window, len(windows))}
	for i, w := range windows {
		snap.Windows[i] = Window{Live: w.Live, Segments: append([]*Segment(nil), w.Segments...)}
	}
	s.snap.Store(snap)
	s.subMu.Lock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.subMu.Unlock()
}
