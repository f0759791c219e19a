package tracker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/jsonconf"
)

// readBufferSize is gorilla's per-connection read buffer, held for the connection's whole
// life. Small, so idle connections stay small: frame headers and small frames go through
// it, and once it is empty a larger payload is read straight into the pooled frame buffer
// (bufio's bypass), so a 1.3 KB answer still takes two reads, as with 1 KiB.
const readBufferSize = 256

// listener is one "servers" entry: a listening socket (TLS when configured), its HTTP
// server and the WebSocket connections it accepted.
type listener struct {
	// Static after construction.
	srv      *Server
	cfg      ListenerConfig
	prefix   string // "servers[i]", for messages
	name     string // host:port as configured; /stats.json and the metric label
	ln       net.Listener
	tls      *tlsState // nil for plain ws
	http     *http.Server
	path     pathPattern
	upgrader websocket.Upgrader
	gauge    prometheus.Gauge
	accepted prometheus.Counter

	tick  atomic.Int64 // idle-detection clock, advanced by sweep
	count atomic.Int64 // WebSocket connections open or being upgraded

	mu      sync.Mutex
	conns   map[liveConn]struct{} // guarded by mu
	closing bool                  // guarded by mu; set when shutdown starts, no new connections
}

// liveConn is what the listener's registry, idle sweep and shutdown need of a connection,
// whichever transport carries it (conn: goroutines; fastConn: event loops).
type liveConn interface {
	idle() *idleState
	queuePing() bool    // send a ping; false when busy or closing
	kill(r CloseReason) // record r (unless a reason is set) and cut the connection
	cut(r CloseReason)  // cut the connection even if a reason is set
	beginShutdown()     // send 1001 and let the client answer
	logAttrs() []any
}

// idleState is a connection's idle-detection clock, written by its reader and read by the
// listener's sweeper.
type idleState struct {
	lastSeen atomic.Int64 // listener tick of the last frame received
	pinged   atomic.Bool  // a ping was sent since lastSeen last moved
}

// newListener binds the socket of servers[idx]. Errors name the config key.
func newListener(s *Server, idx int, cfg ListenerConfig) (*listener, error) {
	prefix := fmt.Sprintf("%s[%d]", keyServers, idx)
	path, err := compilePath(cfg.WebSockets.Path)
	if err != nil {
		return nil, jsonconf.Errorf(prefix+".websockets.path", "%v", err)
	}
	l := &listener{
		srv:    s,
		cfg:    cfg,
		prefix: prefix,
		name:   cfg.Server.address(),
		path:   path,
		conns:  make(map[liveConn]struct{}),
	}
	l.gauge = s.metrics.connections.WithLabelValues(l.name)
	l.accepted = s.metrics.accepted.WithLabelValues(l.name)
	if cfg.Server.TLS() {
		if l.tls, err = newTLSState(cfg.Server, prefix+".server", s.log, s.metrics); err != nil {
			return nil, err
		}
	}
	// uWS binds an IPv4 literal as IPv4 only, "::" as dual stack.
	network := "tcp"
	if ip := net.ParseIP(cfg.Server.Host); ip != nil && ip.To4() != nil {
		network = "tcp4"
	}
	addr := net.JoinHostPort(cfg.Server.Host, strconv.Itoa(cfg.Server.Port))
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, jsonconf.Errorf(prefix+".server", "cannot listen on %s: %v", addr, err)
	}
	l.ln = ln
	if l.tls != nil {
		l.ln = tls.NewListener(ln, l.tls.listenerConfig())
	}
	l.upgrader = websocket.Upgrader{
		HandshakeTimeout:  10 * time.Second,
		ReadBufferSize:    readBufferSize,
		WriteBufferPool:   s.writePool,
		EnableCompression: cfg.WebSockets.Compression != 0,
		CheckOrigin:       func(*http.Request) bool { return true }, // checked before Upgrade
	}
	l.http = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return l, nil
}

// ServeHTTP upgrades WebSocket requests on websockets.path and hands everything else to
// the server's HTTP routes, like the uWS ws route that yields to plain GETs.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.path.match(r.URL.Path) && websocket.IsWebSocketUpgrade(r) {
		l.serveWebSocket(w, r)
		return
	}
	l.srv.serveHTTP(w, r)
}

// reject refuses an upgrade with a plain HTTP status (uWS closes the TCP connection).
func (l *listener) reject(w http.ResponseWriter, status int, reason string) {
	l.srv.metrics.rejected.WithLabelValues(reason).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s", status, http.StatusText(status))
}

// serveWebSocket checks the origin and the connection limit, upgrades, registers the
// connection and starts its reader and writer goroutines.
func (l *listener) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	s := l.srv
	if !s.origins.allowed(r.Header.Get("Origin")) {
		s.log.Debug("tracker: upgrade refused: origin", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		l.reject(w, http.StatusForbidden, rejectOrigin)
		return
	}
	// Reserve a slot; a connection that opens keeps it until its reader ends.
	n := l.count.Add(1)
	keep := false
	defer func() {
		if !keep {
			l.count.Add(-1)
		}
	}()
	if limit := l.cfg.WebSockets.MaxConnections; limit > 0 && n > int64(limit) {
		s.log.Debug("tracker: upgrade refused: maxConnections", "listener", l.name, "limit", limit)
		l.reject(w, http.StatusServiceUnavailable, rejectMaxConnections)
		return
	}
	l.mu.Lock()
	closing := l.closing
	l.mu.Unlock()
	if closing {
		l.reject(w, http.StatusServiceUnavailable, rejectShutdown)
		return
	}
	if l.cfg.eventLoops() && onTCP(r) {
		keep = l.acceptFast(w, r)
		return
	}
	// uWS echoes the requested protocol; a browser accepts only one of the offered tokens,
	// so the first one is selected.
	var hdr http.Header
	if p := websocket.Subprotocols(r); len(p) > 0 {
		hdr = http.Header{"Sec-Websocket-Protocol": {p[0]}}
	}
	ws, err := l.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		s.metrics.rejected.WithLabelValues(rejectHandshake).Inc()
		s.log.Debug("tracker: upgrade failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	c := l.newConn(ws)
	if !l.register(c) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutdown"), time.Now().Add(time.Second))
		_ = c.raw.Close()
		s.metrics.rejected.WithLabelValues(rejectShutdown).Inc()
		return
	}
	l.gauge.Inc()
	l.accepted.Inc()
	keep = true // the slot is released by the reader when the connection ends
	// The reader runs on a goroutine of its own, not on this handler's: returning lets
	// net/http drop the request's buffers (about 10 KiB per idle connection). There is no
	// writer goroutine until something is queued (see conn.writeLoop).
	go c.run()
}

func (l *listener) newConn(ws *websocket.Conn) *conn {
	raw := ws.NetConn()
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	c := &conn{
		l:   l,
		ws:  ws,
		raw: raw,
	}
	c.sess = l.srv.hub.NewSession(c)
	c.lastSeen.Store(l.tick.Load())
	ws.SetReadLimit(int64(l.cfg.WebSockets.MaxPayloadLength))
	ws.EnableWriteCompression(false) // replies go out uncompressed, as uWS sends them
	writeTimeout := seconds(l.cfg.WebSockets.WriteTimeout)
	ws.SetPongHandler(func(string) error { c.touch(); return nil })
	ws.SetPingHandler(func(data string) error {
		c.touch()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	return c
}

// register adds c to the listener unless shutdown has started; on success the caller owns
// one connWG slot, the reader's (each writer goroutine takes its own while it runs), which
// release gives back.
func (l *listener) register(c liveConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.conns[c] = struct{}{}
	l.srv.connWG.Add(1)
	return true
}

// beginShutdown stops new registrations.
func (l *listener) beginShutdown() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
}

// shutdownConns asks every connection's writer to send a 1001 close frame.
func (l *listener) shutdownConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.beginShutdown() // only queues: no write under l.mu
	}
}

// killAll cuts every connection still open (after the shutdown timeout).
func (l *listener) killAll(r CloseReason) {
	l.mu.Lock()
	victims := make([]liveConn, 0, len(l.conns))
	for c := range l.conns {
		victims = append(victims, c)
	}
	l.mu.Unlock()
	for _, c := range victims {
		c.cut(r)
	}
}

// release removes an ended connection: the registry, its count slot, its connWG slot, and
// the close metric under its reason.
func (l *listener) release(c liveConn, reason CloseReason) {
	s := l.srv
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.count.Add(-1)
	l.gauge.Dec()
	s.metrics.closes.WithLabelValues(reason.String()).Inc()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("tracker: connection closed", append(c.logAttrs(), "reason", reason.String())...)
	}
	s.connWG.Done()
}

// sweep is the idle detector of websockets.idleTimeout: every idleTimeout/4 it advances
// the listener's clock, queues a ping on connections silent for 3 ticks and cuts those
// silent for 5. One goroutine per listener; connections carry no timers of their own.
func (l *listener) sweep(ctx context.Context) {
	t := time.NewTicker(seconds(l.cfg.WebSockets.IdleTimeout) / ticksPerIdleTimeout)
	defer t.Stop()
	var victims, pings []liveConn
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := l.tick.Add(1)
		victims, pings = victims[:0], pings[:0]
		l.mu.Lock()
		for c := range l.conns {
			st := c.idle()
			idle := now - st.lastSeen.Load()
			switch {
			case idle >= idleAfterTicks:
				victims = append(victims, c)
			case idle >= pingAfterTicks && !st.pinged.Load():
				pings = append(pings, c)
			}
		}
		l.mu.Unlock()
		// Pings and cuts happen outside l.mu: a ping may be a (non-blocking) write.
		for _, c := range pings {
			// Marked before the ping goes out: the pong may come back (and clear the mark)
			// before queuePing returns. A busy connection (full queue, pending output) gets
			// no ping and no mark.
			st := c.idle()
			st.pinged.Store(true)
			if !c.queuePing() {
				st.pinged.Store(false)
			}
		}
		for _, c := range victims {
			c.kill(ReasonIdleTimeout)
		}
		clear(victims)
		clear(pings)
	}
}

// openConnections is webSocketsCount in /stats.json.
func (l *listener) openConnections() int64 { return l.count.Load() }
