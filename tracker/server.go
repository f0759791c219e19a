package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrServerClosed is returned by Run after Close (or a previous Run) ended the server.
var ErrServerClosed = errors.New("tracker: server closed")

// Options are a Server's dependencies.
type Options struct {
	Logger *slog.Logger // nil: discard logs
	// Registry receives the tracker's and the hub's metrics and is served at /metrics.
	// nil: a new registry with the Go runtime and process collectors.
	Registry *prometheus.Registry
}

// Server is the tracker's network side: one or more listeners ("servers" in config.json)
// that upgrade WebSocket connections for one shared Hub and serve the HTTP routes
// (/, /stats.json, /metrics, and whatever is mounted with Handle).
//
// Lifecycle: New binds every listener (Addrs is valid as soon as it returns), Handle and
// AddStats mount extras, Run serves until its context ends and then shuts down gracefully,
// Close ends it from anywhere. Run may be called once.
type Server struct {
	// Static after New.
	cfg            Config
	log            *slog.Logger
	reg            *prometheus.Registry
	hub            *Hub
	metrics        *serverMetrics
	metricsHandler http.Handler
	origins        originPolicy
	indexHTML      []byte // ./index.html read at start-up; nil when absent
	mux            *http.ServeMux
	listeners      []*listener
	writePool      *sync.Pool     // gorilla write buffers, shared by all connections
	poller         *poller        // event loops for plain-ws listeners (started on first use)
	connWG         sync.WaitGroup // one per open connection, one per running writer goroutine

	mu      sync.Mutex
	extra   []statsEntry       // guarded by mu; AddStats
	state   serverState        // guarded by mu
	cancel  context.CancelFunc // guarded by mu; ends a running Run
	runDone chan struct{}      // closed when Run returns
}

type serverState uint8

const (
	stateNew serverState = iota
	stateRunning
	stateClosed
)

// New validates cfg, creates the hub and binds every listener. It starts no goroutines.
// Errors name the config key at fault (a bad TLS file, an address in use).
func New(cfg Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Hub.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		log:       opts.Logger,
		reg:       opts.Registry,
		origins:   newOriginPolicy(cfg.Access),
		mux:       http.NewServeMux(),
		writePool: &sync.Pool{},
		runDone:   make(chan struct{}),
	}
	s.poller = newPoller(s)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.metricsHandler = promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)})
	var err error
	if s.metrics, err = newServerMetrics(s.reg); err != nil {
		return nil, err
	}
	if s.hub, err = NewHub(cfg.Hub, s.reg, s.log); err != nil {
		return nil, err
	}
	// Like wt-tracker, index.html is read once from the working directory.
	switch b, err := os.ReadFile("index.html"); {
	case err == nil:
		s.indexHTML = b
	case !errors.Is(err, os.ErrNotExist):
		s.log.Warn("tracker: cannot read index.html, GET / will not serve it", "err", err)
	}
	for i, lc := range cfg.Servers {
		l, err := newListener(s, i, lc)
		if err != nil {
			s.closeListeners()
			return nil, err
		}
		s.listeners = append(s.listeners, l)
		scheme := "ws"
		if l.tls != nil {
			scheme = "wss"
		}
		s.log.Info("listening "+l.name, "addr", l.ln.Addr().String(), "scheme", scheme, "path", lc.WebSockets.Path)
	}
	return s, nil
}

// Hub returns the hub shared by all listeners.
func (s *Server) Hub() *Hub { return s.hub }

// Registry returns the registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Addrs returns the bound address of every listener, in config order (the real port
// when the config says 0).
func (s *Server) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		addrs[i] = l.ln.Addr()
	}
	return addrs
}

// ReloadTLS reloads the certificate, key and CA files of every TLS listener now (the
// swarmcast command calls it on SIGHUP). On error the listener keeps its previous
// certificate; the error names the config key.
func (s *Server) ReloadTLS() error {
	var errs []error
	for _, l := range s.listeners {
		if l.tls == nil {
			continue
		}
		if err := l.tls.reload(true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run serves until ctx is done or Close is called, then shuts down: listeners stop
// accepting, every WebSocket gets a 1001 close frame, and connections still open after
// shutdownTimeout are cut. It returns nil after a clean shutdown, or the error that
// stopped a listener.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return ErrServerClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.state, s.cancel = stateRunning, cancel
	s.mu.Unlock()
	defer close(s.runDone)
	defer cancel()

	var wg sync.WaitGroup
	errc := make(chan error, len(s.listeners)+1)
	wg.Go(func() {
		if err := s.hub.Run(ctx); err != nil {
			errc <- fmt.Errorf("tracker hub: %w", err)
			cancel()
		}
	})
	for _, l := range s.listeners {
		wg.Go(func() {
			if err := l.http.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("tracker listener %s: %w", l.name, err)
				cancel()
			}
		})
		if l.cfg.WebSockets.IdleTimeout > 0 {
			wg.Go(func() { l.sweep(ctx) })
		}
		if l.tls != nil && s.cfg.TLSReloadInterval > 0 {
			wg.Go(func() { l.tls.watch(ctx, seconds(s.cfg.TLSReloadInterval)) })
		}
	}
	<-ctx.Done()
	s.shutdown()
	wg.Wait()
	s.poller.stop() // every connection is gone: the event loops have nothing left
	s.mu.Lock()
	s.state = stateClosed
	s.mu.Unlock()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// shutdown stops accepting, sends 1001 to every connection and waits for them, at most
// shutdownTimeout, before cutting the rest.
func (s *Server) shutdown() {
	start := time.Now()
	timeout := seconds(s.cfg.ShutdownTimeout)
	for _, l := range s.listeners {
		l.beginShutdown()
	}
	for _, l := range s.listeners {
		l.shutdownConns()
	}
	hctx, hcancel := context.WithTimeout(context.Background(), timeout)
	defer hcancel()
	var hwg sync.WaitGroup
	for _, l := range s.listeners {
		hwg.Go(func() {
			if err := l.http.Shutdown(hctx); err != nil {
				_ = l.http.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		for _, l := range s.listeners {
			l.killAll(ReasonServerShutdown)
		}
		<-done
	}
	hwg.Wait()
	s.log.Info("tracker: shut down", "took", time.Since(start).Round(time.Millisecond))
}

// Close ends the server: a running Run shuts down gracefully (bounded by shutdownTimeout)
// and Close waits for it; a server that never ran just releases its listeners. Close is
// idempotent and safe from any goroutine.
func (s *Server) Close() error {
	s.mu.Lock()
	switch s.state {
	case stateNew:
		s.state = stateClosed
		s.mu.Unlock()
		s.closeListeners()
		return nil
	case stateRunning:
		cancel := s.cancel
		s.mu.Unlock()
		cancel()
		<-s.runDone
		return nil
	default:
		s.mu.Unlock()
		<-s.runDoneIfRan()
		return nil
	}
}

// runDoneIfRan returns a channel that is closed once a Run that was started has returned.
func (s *Server) runDoneIfRan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.runDone
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		_ = l.ln.Close()
	}
}
