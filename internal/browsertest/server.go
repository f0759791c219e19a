package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server is an HTTP server on 127.0.0.1 that serves the test page under /page/ and whatever
// else a test mounts on it (a stream origin, say), so that page and stream share one origin.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port (no trailing slash).
	URL string
	mux *http.ServeMux
}

// NewServer builds the test page and starts a server for it on 127.0.0.1, closed by
// tb.Cleanup.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle("/page/", http.StripPrefix("/page", Assets(tb)))
	ts := httptest.NewServer(mux) // httptest listens on 127.0.0.1:0
	tb.Cleanup(ts.Close)
	return &Server{URL: ts.URL, mux: mux}
}

// Handle mounts h on the server (http.ServeMux patterns).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// PageURL returns the URL of the test page on this server for opts.
func (s *Server) PageURL(opts PageOptions) string { return PageURL(s.URL+"/page/", opts) }
