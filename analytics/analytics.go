// Package analytics aggregates what the demo page's viewers report about where their
// video bytes came from (HTTP origin, other viewers, the seeder) into swarm-wide figures:
// viewers online, bytes by source and the origin offload.
//
// Each page POSTs its cumulative counters every few seconds (see Report). The collector
// keeps one entry per viewer, bounded in number and expired after silence; a viewer's
// bytes stay in the totals after it leaves. Input is validated (size, types, ranges,
// counters that never go backwards) and rate-limited per viewer (one report a second) and
// overall (2 × MaxViewers reports a second), so a
// misbehaving page cannot grow memory or skew the totals by more than its own share.
package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/jsonconf"
)

// Config tunes the collector. The zero value means defaults.
type Config struct {
	MaxViewers     int           `json:"maxViewers"`     // default 1000; further new viewers are refused (429)
	ViewerTimeout  time.Duration `json:"-"`              // default 30 s without a report: viewer gone
	MinInterval    time.Duration `json:"-"`              // default 1 s between two reports of one viewer
	TimeoutSeconds int           `json:"timeoutSeconds"` // config form of ViewerTimeout
}

// Validate fills defaults and rejects impossible values, naming the key under prefix.
func (c *Config) Validate(prefix string) error {
	if c.MaxViewers < 0 {
		return jsonconf.Errorf(jsonconf.Join(prefix, "maxViewers"), "must be ≥ 0 (0 means the default 1000)")
	}
	if c.MaxViewers == 0 {
		c.MaxViewers = 1000
	}
	if c.TimeoutSeconds < 0 {
		return jsonconf.Errorf(jsonconf.Join(prefix, "timeoutSeconds"), "must be ≥ 0 (0 means the default 30)")
	}
	if c.TimeoutSeconds > 0 {
		c.ViewerTimeout = time.Duration(c.TimeoutSeconds) * time.Second
	}
	if c.ViewerTimeout == 0 {
		c.ViewerTimeout = 30 * time.Second
	}
	if c.MinInterval == 0 {
		c.MinInterval = time.Second
	}
	return nil
}

// Report is one viewer's cumulative counters since its page loaded.
type Report struct {
	Viewer     string `json:"viewer"`     // random id the page picked (8–64 of [A-Za-z0-9_-])
	HTTPBytes  int64  `json:"http"`       // bytes downloaded from the HTTP origin
	P2PBytes   int64  `json:"p2p"`        // bytes downloaded from peers, seeder included
	SeederByte int64  `json:"seeder"`     // the part of P2PBytes that came from the seeder
	Uploaded   int64  `json:"uploaded"`   // bytes this viewer uploaded to other viewers
	Peers      int    `json:"peers"`      // peers connected now
	Generation string `json:"generation"` // optional free label, e.g. "pml-2.3.1" (≤ 32 bytes)
}

// maxReportBytes bounds one request body.
const maxReportBytes = 1024

// maxCounter bounds each counter (1 PiB): larger values are rejected as nonsense.
const maxCounter = 1 << 50

var viewerRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// Totals are the swarm-wide figures.
type Totals struct {
	Viewers     int     `json:"viewers"`        // viewers that reported within the timeout
	HTTPBytes   int64   `json:"httpBytes"`      // all viewers ever, from the origin
	P2PBytes    int64   `json:"p2pBytes"`       // all viewers ever, from peers (seeder included)
	SeederBytes int64   `json:"seederBytes"`    // the seeder's part of P2PBytes
	Uploaded    int64   `json:"uploadedBytes"`  // uploaded by viewers to viewers
	OffloadPct  float64 `json:"offloadPercent"` // P2PBytes / (HTTPBytes+P2PBytes) × 100
}

type viewer struct {
	last Report
	seen time.Time
}

// Collector aggregates reports. It is safe for concurrent use.
type Collector struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	viewers map[string]*viewer // guarded by mu
	gone    Totals             // guarded by mu: bytes of expired viewers
	// Overall rate limit, a token bucket refilled at 2 × MaxViewers reports per second (pages
	// report every few seconds, so legitimate load stays well below): guarded by mu.
	tokens   float64
	bucketAt time.Time

	metrics *metrics
}

type metrics struct {
	reports *prometheus.CounterVec
	viewers prometheus.GaugeFunc
	bytes   *prometheus.GaugeVec
	offload prometheus.GaugeFunc
}

// New returns a collector whose metrics are registered on reg (nil: not registered).
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Collector, error) {
	if err := cfg.Validate("analytics"); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: cfg, log: log, now: time.Now, viewers: make(map[string]*viewer)}
	m := &metrics{
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "swarmcast", Subsystem: "analytics", Name: "reports_total",
			Help: "Viewer reports received, by result (accepted, invalid, rate_limited, full).",
		}, []string{"result"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "swarmcast", Subsystem: "analytics", Name: "viewer_bytes",
			Help: "Bytes the viewers reported, by source (http, p2p, seeder, uploaded).",
		}, []string{"source"}),
	}
	m.viewers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "swarmcast", Subsystem: "analytics", Name: "viewers",
		Help: "Viewers that reported within the timeout.",
	}, func() float64 { return float64(c.Totals().Viewers) })
	m.offload = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "swarmcast", Subsystem: "analytics", Name: "offload_ratio",
		Help: "Share of the viewers' bytes that did not come from the HTTP origin (0–1).",
	}, func() float64 { return c.Totals().OffloadPct / 100 })
	c.metrics = m
	if reg != nil {
		for _, col := range []prometheus.Collector{m.reports, m.bytes, m.viewers, m.offload} {
			if err := reg.Register(col); err != nil {
				return nil, fmt.Errorf("analytics: registering metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Errors returned by Add; their text is safe to show to the client.
var (
	ErrInvalid     = errors.New("invalid report")
	ErrRateLimited = errors.New("too many reports")
	ErrFull        = errors.New("too many viewers")
)

func (r *Report) validate() error {
	if !viewerRE.MatchString(r.Viewer) {
		return fmt.Errorf("%w: viewer must be 8–64 characters of A-Z a-z 0-9 _ -", ErrInvalid)
	}
	for _, v := range []int64{r.HTTPBytes, r.P2PBytes, r.SeederByte, r.Uploaded} {
		if v < 0 || v > maxCounter {
			return fmt.Errorf("%w: byte counters must be between 0 and 2^50", ErrInvalid)
		}
	}
	if r.SeederByte > r.P2PBytes {
		return fmt.Errorf("%w: seeder bytes exceed p2p bytes", ErrInvalid)
	}
	if r.Peers < 0 || r.Peers > 10000 {
		return fmt.Errorf("%w: peers out of range", ErrInvalid)
	}
	if len(r.Generation) > 32 {
		return fmt.Errorf("%w: generation too long", ErrInvalid)
	}
	return nil
}

// allowLocked takes one token from the overall bucket.
func (c *Collector) allowLocked(now time.Time) bool {
	rate := 2 * float64(c.cfg.MaxViewers)
	if c.bucketAt.IsZero() {
		c.tokens = rate
	} else if d := now.Sub(c.bucketAt).Seconds(); d > 0 {
		c.tokens = min(rate, c.tokens+d*rate)
	}
	c.bucketAt = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// Add records one report. Every report, valid or not, counts against the overall rate
// limit of 2 × MaxViewers reports per second.
func (c *Collector) Add(r Report) error {
	c.mu.Lock()
	ok := c.allowLocked(c.now())
	c.mu.Unlock()
	if !ok {
		c.metrics.reports.WithLabelValues("rate_limited").Inc()
		return ErrRateLimited
	}
	if err := r.validate(); err != nil {
		c.metrics.reports.WithLabelValues("invalid").Inc()
		return err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	v, ok := c.viewers[r.Viewer]
	switch {
	case !ok && len(c.viewers) >= c.cfg.MaxViewers:
		c.metrics.reports.WithLabelValues("full").Inc()
		return ErrFull
	case !ok:
		v = &viewer{}
		c.viewers[r.Viewer] = v
	case now.Sub(v.seen) < c.cfg.MinInterval:
		c.metrics.reports.WithLabelValues("rate_limited").Inc()
		return ErrRateLimited
	case r.HTTPBytes < v.last.HTTPBytes || r.P2PBytes < v.last.P2PBytes ||
		r.SeederByte < v.last.SeederByte || r.Uploaded < v.last.Uploaded:
		c.metrics.reports.WithLabelValues("invalid").Inc()
		return fmt.Errorf("%w: counters are cumulative and may not decrease", ErrInvalid)
	}
	v.last, v.seen = r, now
	c.metrics.reports.WithLabelValues("accepted").Inc()
	c.updateGaugesLocked()
	return nil
}

// expireLocked moves viewers silent for longer than the timeout into the departed totals.
func (c *Collector) expireLocked(now time.Time) {
	for id, v := range c.viewers {
		if now.Sub(v.seen) > c.cfg.ViewerTimeout {
			c.gone.HTTPBytes += v.last.HTTPBytes
			c.gone.P2PBytes += v.last.P2PBytes
			c.gone.SeederBytes += v.last.SeederByte
			c.gone.Uploaded += v.last.Uploaded
			delete(c.viewers, id)
		}
	}
}

func (c *Collector) totalsLocked() Totals {
	t := c.gone
	t.Viewers = len(c.viewers)
	for _, v := range c.viewers {
		t.HTTPBytes += v.last.HTTPBytes
		t.P2PBytes += v.last.P2PBytes
		t.SeederBytes += v.last.SeederByte
		t.Uploaded += v.last.Uploaded
	}
	if sum := t.HTTPBytes + t.P2PBytes; sum > 0 {
		t.OffloadPct = float64(t.P2PBytes) * 100 / float64(sum)
	}
	return t
}

func (c *Collector) updateGaugesLocked() {
	t := c.totalsLocked()
	c.metrics.bytes.WithLabelValues("http").Set(float64(t.HTTPBytes))
	c.metrics.bytes.WithLabelValues("p2p").Set(float64(t.P2PBytes))
	c.metrics.bytes.WithLabelValues("seeder").Set(float64(t.SeederBytes))
	c.metrics.bytes.WithLabelValues("uploaded").Set(float64(t.Uploaded))
}

// Totals returns the swarm-wide figures now.
func (c *Collector) Totals() Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(c.now())
	return c.totalsLocked()
}

// Handler serves POST (a Report as JSON; 204 on success) and GET (the Totals as JSON).
func (c *Collector) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(c.Totals())
		case http.MethodPost:
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReportBytes))
			if err != nil {
				c.metrics.reports.WithLabelValues("invalid").Inc()
				http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
				return
			}
			var rep Report
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil {
				c.metrics.reports.WithLabelValues("invalid").Inc()
				http.Error(w, "invalid report: want a JSON object with viewer, http, p2p, seeder, uploaded, peers", http.StatusBadRequest)
				return
			}
			switch err := c.Add(rep); {
			case err == nil:
				w.WriteHeader(http.StatusNoContent)
			case errors.Is(err, ErrRateLimited), errors.Is(err, ErrFull):
				http.Error(w, err.Error(), http.StatusTooManyRequests)
			default:
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}
