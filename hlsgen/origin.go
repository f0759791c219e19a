package hlsgen

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OriginOptions configures NewOrigin. The zero value serves the folder at "/".
type OriginOptions struct {
	// Prefix is the URL path the origin answers under, e.g. "/hls/". The origin strips it
	// itself: mount it as mux.Handle(prefix, origin), without http.StripPrefix. Requests
	// outside the prefix get 404. "" means "/".
	Prefix string
	// SegmentMaxAge is the max-age sent with media segments (.ts, .m4s); default 24 h.
	SegmentMaxAge time.Duration
	// Log receives one debug line per refused request; nil discards.
	Log *slog.Logger
	// Registerer, when non-nil, gets the origin's request and byte counters (one origin per
	// registry; a second one logs a warning and runs without counters).
	Registerer prometheus.Registerer
}

// contentTypes are the only files the origin serves, with their Content-Type. They are set
// explicitly: Debian's MIME tables map .ts to Qt translation files.
var contentTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/mp4",
	".mp4":  "video/mp4",
	".json": "application/json",
}

// origin serves one HLS folder. Static after construction, except root (guarded by mu).
type origin struct {
	dir      string
	prefix   string
	segCache string
	log      *slog.Logger
	requests *prometheus.CounterVec // by status class: 2xx, 3xx, 4xx, 5xx
	bytes    prometheus.Counter     // response body bytes

	mu   sync.Mutex
	root *os.Root // opened lazily: the folder may not exist yet
}

// NewOrigin returns an http.Handler serving the HLS files in dir (playlists, segments,
// init segments and segments-sha256.json) for live playback:
//
//   - Content-Type set explicitly per extension; X-Content-Type-Options: nosniff;
//   - Cache-Control: no-cache for playlists, the manifest and init segments; "public,
//     max-age=…, immutable" for media segments (their URLs never repeat); no-store on errors;
//   - CORS on every response, including errors; OPTIONS preflights get 204, with Range
//     allowed and Content-Range/Content-Length exposed;
//   - byte ranges (206), ETag, Last-Modified, conditional requests (via http.ServeContent);
//   - only regular files below dir with one of those extensions: no directory listings,
//     no hidden (dot) files, no *.tmp files, no "..", no encoded slashes or backslashes,
//     no symlinks leading outside dir (os.Root).
//
// The handler strips opts.Prefix itself. It is safe for concurrent use.
func NewOrigin(dir string, opts OriginOptions) http.Handler {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "/"
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	maxAge := opts.SegmentMaxAge
	if maxAge <= 0 {
		maxAge = DefaultSegmentMaxAge * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &origin{
		dir:      dir,
		prefix:   prefix,
		segCache: fmt.Sprintf("public, max-age=%d, immutable", int(maxAge/time.Second)),
		log:      log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmcast_hls_origin_requests_total", Help: "HLS origin responses by status class.",
		}, []string{"code"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmcast_hls_origin_response_bytes_total", Help: "HLS origin response body bytes sent.",
		}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{o.requests, o.bytes} {
			if err := opts.Registerer.Register(c); err != nil {
				// Not fatal: the origin works without its counters.
				log.Warn("hls origin metrics not registered", "err", err)
			}
		}
	}
	return o
}

func (o *origin) openRoot() (*os.Root, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.root != nil {
		return o.root, nil
	}
	r, err := os.OpenRoot(o.dir)
	if err != nil {
		return nil, err
	}
	o.root = r
	return r, nil
}

func (o *origin) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &originWriter{ResponseWriter: rw}
	defer func() {
		o.requests.WithLabelValues(statusClass(w.status)).Inc()
		o.bytes.Add(float64(w.n))
	}()
	h := w.Header()
	SetCORSHeaders(h)

	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		WritePreflight(w)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		o.fail(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}

	rel, ok := o.relPath(r)
	if !ok {
		o.fail(w, r, http.StatusNotFound, "refused path")
		return
	}
	ctype := contentTypes[path.Ext(rel)]
	root, err := o.openRoot()
	if err != nil {
		o.fail(w, r, http.StatusNotFound, "no stream folder")
		return
	}
	f, err := root.Open(rel)
	if err != nil {
		o.fail(w, r, http.StatusNotFound, "open: "+err.Error())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		o.fail(w, r, http.StatusNotFound, "not a regular file")
		return
	}
	h.Set("Content-Type", ctype)
	switch path.Ext(rel) {
	case ".ts", ".m4s":
		h.Set("Cache-Control", o.segCache)
	default: // playlists, manifest, init segments (their names repeat across restarts)
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	http.ServeContent(w, r, rel, st.ModTime(), f)
}

// relPath returns the slash-separated path below the folder, or false if the request must
// not be served.
func (o *origin) relPath(r *http.Request) (string, bool) {
	p := r.URL.Path
	if esc := strings.ToLower(r.URL.EscapedPath()); strings.Contains(esc, "%2f") || strings.Contains(esc, "%5c") || strings.Contains(esc, "%00") {
		return "", false
	}
	if !strings.HasPrefix(p, o.prefix) {
		return "", false
	}
	rel := p[len(o.prefix):]
	if rel == "" || strings.ContainsAny(rel, "\\\x00") {
		return "", false
	}
	for _, el := range strings.Split(rel, "/") {
		if el == "" || strings.HasPrefix(el, ".") || strings.HasSuffix(el, ".tmp") {
			return "", false
		}
	}
	if _, ok := contentTypes[path.Ext(rel)]; !ok {
		return "", false
	}
	if !fs.ValidPath(rel) {
		return "", false
	}
	return rel, true
}

// fail writes an error response; CORS headers are already set.
func (o *origin) fail(w http.ResponseWriter, r *http.Request, code int, why string) {
	o.log.Debug("hls origin refused request", "method", r.Method, "path", r.URL.Path, "status", code, "why", why)
	http.Error(w, http.StatusText(code), code)
}

// originWriter records the status and body size, and makes every error response
// uncacheable (http.ServeContent drops Cache-Control on errors, and 416 would otherwise
// carry none).
type originWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *originWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if code >= 400 {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Del("ETag")
			w.Header().Del("Last-Modified")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *originWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *originWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func statusClass(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	return strconv.Itoa(code/100) + "xx"
}

// SetCORSHeaders sets the headers every origin response carries (404s included), so that
// players and P2P libraries on any page can read the stream and its byte ranges. Other
// handlers that serve next to the stream (the WebTorrent torrents.json) use it too.
func SetCORSHeaders(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Date, Age, ETag")
	h.Set("X-Content-Type-Options", "nosniff")
}

// WritePreflight answers a CORS preflight (OPTIONS) with 204: GET and HEAD with Range and
// conditional headers allowed, cached by the browser for a day.
func WritePreflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Content-Type, If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
