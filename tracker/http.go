package tracker

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// pathPattern is a compiled websockets.path: a uWS route pattern. Static after construction.
type pathPattern struct {
	segs     []string // literal segments, or ":name" for one parameter segment
	wildcard bool     // the pattern ended in "/*": any number of further segments
}

// compilePath parses a uWS route pattern: "/*" (any path), "/prefix/*" (the prefix and
// everything below it), "/a/:id/b" (":id" matches one non-empty segment) or an exact path.
func compilePath(p string) (pathPattern, error) {
	if !strings.HasPrefix(p, "/") {
		return pathPattern{}, fmt.Errorf("must start with \"/\", got %q", p)
	}
	if strings.Contains(p, "//") {
		return pathPattern{}, fmt.Errorf("empty path segment (\"//\") in %q", p)
	}
	var pp pathPattern
	rest := strings.TrimPrefix(p, "/")
	if rest == "*" {
		return pathPattern{wildcard: true}, nil
	}
	if strings.HasSuffix(rest, "/*") {
		pp.wildcard = true
		rest = strings.TrimSuffix(rest, "/*")
	}
	if rest != "" {
		pp.segs = strings.Split(rest, "/")
	}
	for _, s := range pp.segs {
		if strings.Contains(s, "*") {
			return pathPattern{}, errors.New("\"*\" may only end the pattern, as \"/*\" or \"/prefix/*\"")
		}
		if s == ":" {
			return pathPattern{}, errors.New("a \":\" parameter segment needs a name")
		}
	}
	return pp, nil
}

// match reports whether the URL path matches the pattern.
func (p pathPattern) match(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	if len(p.segs) == 0 {
		return p.wildcard || path == "/"
	}
	rest := path[1:]
	for i, seg := range p.segs {
		cur, after, more := strings.Cut(rest, "/")
		if strings.HasPrefix(seg, ":") {
			if cur == "" {
				return false
			}
		} else if cur != seg {
			return false
		}
		if !more {
			return i == len(p.segs)-1
		}
		rest = after
	}
	return p.wildcard
}

// notFound answers like wt-tracker's catch-all route: status 404 with body "404 Not Found".
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 Not Found"))
}

// serveHTTP routes a request that is not a WebSocket upgrade: GET / (index.html or a
// mounted "/" handler), GET /stats.json, GET /metrics, routes mounted with Handle, else 404.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet && s.indexHTML != nil:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(s.indexHTML)
		return
	case r.URL.Path == "/stats.json" && r.Method == http.MethodGet:
		s.serveStats(w)
		return
	case r.URL.Path == "/metrics" && r.Method == http.MethodGet && s.cfg.Metrics.Enabled:
		s.metricsHandler.ServeHTTP(w, r)
		return
	}
	if h, pattern := s.mux.Handler(r); pattern != "" {
		h.ServeHTTP(w, r)
		return
	}
	notFound(w)
}

// Handle mounts h at pattern (http.ServeMux syntax, e.g. "/hls/" or "GET /demo") next to the
// tracker's own routes, which take precedence: WebSocket upgrades on websockets.path,
// GET / when ./index.html exists, GET /stats.json and GET /metrics. Call it before Run. A
// pattern that is invalid or conflicts with an earlier one is logged and ignored.
func (s *Server) Handle(pattern string, h http.Handler) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("tracker: cannot mount HTTP handler", "pattern", pattern, "err", v)
		}
	}()
	s.mux.Handle(pattern, h)
}
