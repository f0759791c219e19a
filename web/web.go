// Package web serves the demo page: an HTML page, its stylesheet, and a script bundle
// (hls.js + P2P Media Loader 2.3.1 + web/src) that scripts/build-web.sh builds from npm
// packages into web/dist before `go build`, so everything is embedded in the binary and
// nothing is fetched from a third-party CDN at run time.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFiles embed.FS

//go:embed all:dist
var distFiles embed.FS

// missingBundle replaces app.js in a binary built without scripts/build-web.sh.
const missingBundle = `document.getElementById("status").textContent =
  "This swarmcast binary was built without the page bundle: run scripts/build-web.sh, then go build.";`

// HasBundle reports whether the script bundle was embedded at build time.
func HasBundle() bool {
	_, err := fs.Stat(distFiles, "dist/app.js")
	return err == nil
}

// Handler serves the page at "/" (and "/index.html") and its files under "/assets/".
// Anything else is 404. Mount it at "/" of the server.
func Handler() http.Handler {
	static, _ := fs.Sub(staticFiles, "static")
	dist, _ := fs.Sub(distFiles, "dist")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		switch {
		case p == "/" || p == "/index.html":
			w.Header().Set("Cache-Control", "no-cache")
			serveFile(w, r, static, "index.html")
		case strings.HasPrefix(p, "/assets/"):
			name := strings.TrimPrefix(p, "/assets/")
			w.Header().Set("Cache-Control", "no-cache")
			if _, err := fs.Stat(static, name); err == nil {
				serveFile(w, r, static, name)
				return
			}
			if name == "app.js" && !HasBundle() {
				w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
				_, _ = w.Write([]byte(missingBundle))
				return
			}
			if strings.HasPrefix(name, ".") {
				http.NotFound(w, r)
				return
			}
			serveFile(w, r, dist, name)
		default:
			http.NotFound(w, r)
		}
	})
}

func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	// ServeContent picks the Content-Type from the name and handles ranges and
	// conditional requests; embedded files have no modification time.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
