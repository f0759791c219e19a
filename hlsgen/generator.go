package hlsgen

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Generator runs the live test card: it supervises one ffmpeg process and publishes its
// playlists and the integrity manifest into Config.OutputDir.
type Generator struct {
	// Static after New.
	cfg     Config
	ffmpeg  string // resolved path of the ffmpeg program
	args    []string
	log     *slog.Logger
	metrics *Metrics
	start   startFunc // starts ffmpeg; replaced by tests

	// Supervisor timings (static after New; tests shorten them).
	stallAfter, startGrace, stopGrace, minBackoff, maxBackoff time.Duration

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	mu        sync.Mutex    // guards running
	running   bool
}

// Errors returned by Run.
var (
	// ErrRunning means Run was called while another Run of the same Generator was active.
	ErrRunning = errors.New("hlsgen: generator is already running")
)

// New validates cfg (after applying defaults), checks that ffmpeg and the clock font are
// installed, and registers the generator's metrics on reg (nil: not registered). It starts
// nothing.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Generator, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ffmpeg, err := checkTools(&cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "hlsgen")
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	seg := time.Duration(cfg.SegmentSeconds) * time.Second
	g := &Generator{
		cfg:        cfg,
		ffmpeg:     ffmpeg,
		args:       BuildArgs(cfg),
		log:        log,
		metrics:    m,
		stallAfter: 3 * seg,
		startGrace: 3*seg + 10*time.Second,
		stopGrace:  5 * time.Second,
		minBackoff: 500 * time.Millisecond,
		maxBackoff: 30 * time.Second,
		closed:     make(chan struct{}),
	}
	g.start = func() (process, error) { return startFFmpeg(g.ffmpeg, g.args, g.cfg.OutputDir, g.log) }
	return g, nil
}

// Config returns the effective configuration (defaults applied).
func (g *Generator) Config() Config { return g.cfg }

// Metrics returns the generator's collectors.
func (g *Generator) Metrics() *Metrics { return g.metrics }

// Origin returns an HLS origin (see NewOrigin) for the generator's output folder, answering
// under Config.Prefix, which it strips itself: mount it with mux.Handle(cfg.Prefix, origin).
// Its metrics are registered on reg when non-nil. Call it at most once per registry.
func (g *Generator) Origin(reg prometheus.Registerer) http.Handler {
	return NewOrigin(g.cfg.OutputDir, OriginOptions{
		Prefix:        g.cfg.Prefix,
		SegmentMaxAge: time.Duration(g.cfg.SegmentMaxAge) * time.Second,
		Log:           g.log,
		Registerer:    reg,
	})
}

// Args returns ffmpeg's argument list.
func (g *Generator) Args() []string { return append([]string(nil), g.args...) }

// Run cleans the output folder, then keeps ffmpeg running and the playlists and manifest
// published until ctx is done or Close is called. It returns only after ffmpeg has exited
// (SIGINT, then SIGKILL after 5 s). It returns nil on shutdown, or an error if the output
// folder cannot be prepared. Run may be called only once at a time.
func (g *Generator) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.running {
		g.mu.Unlock()
		return ErrRunning
	}
	g.running = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running = false
		g.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	select {
	case <-g.closed:
		return nil
	default:
	}
	go func() {
		select {
		case <-g.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	if err := cleanOutput(&g.cfg); err != nil {
		return err
	}
	g.log.Info("hls test card starting", "dir", g.cfg.OutputDir, "renditions", len(g.cfg.Renditions),
		"segment_seconds", g.cfg.SegmentSeconds, "fps", g.cfg.FPS, "segment_type", g.cfg.SegmentType)

	progress := make(chan struct{}, 1)
	pub := newPublisher(&g.cfg, progress, g.log, g.metrics)
	pubCtx, pubCancel := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		pub.run(pubCtx)
	}()

	sup := &supervisor{
		start:      g.start,
		progress:   progress,
		stallAfter: g.stallAfter,
		startGrace: g.startGrace,
		stopGrace:  g.stopGrace,
		minBackoff: g.minBackoff,
		maxBackoff: g.maxBackoff,
		log:        g.log,
		metrics:    g.metrics,
	}
	sup.run(ctx)
	pubCancel()
	<-pubDone
	return nil
}

// Close stops a running Run (as cancelling its context does) and makes later Runs return
// at once. It does not wait; Run returns once ffmpeg has exited. Close is idempotent.
func (g *Generator) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return nil
}
