package hlsgen

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// originFixture builds an HLS folder (plus a secret file next to it) and returns its path
// and the content of the 1000-byte segment v0/seg100.ts.
func originFixture(t testing.TB) (dir string, seg []byte) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "hls")
	seg = make([]byte, 1000)
	for i := range seg {
		seg[i] = byte(i)
	}
	files := map[string][]byte{
		"master.m3u8":                 []byte("#EXTM3U\nv0/index.m3u8\n"),
		".master.m3u8":                []byte("private"),
		"segments-sha256.json":        []byte(`{"version":1,"segments":{}}`),
		".segments-sha256.json.1.tmp": []byte("temp"),
		"v0/index.m3u8":               []byte("#EXTM3U\nseg100.ts\n"),
		"v0/.index.m3u8":              []byte("private"),
		"v0/seg100.ts":                seg,
		"v0/seg101.ts.tmp":            []byte("partial"),
		"v0/seg101.m4s":               []byte("fmp4 segment"),
		"v0/init_0.mp4":               []byte("init"),
		"v0/notes.txt":                []byte("not a stream file"),
		"../secret.ts":                []byte("secret"),
		"../hls-other/x.m3u8":         []byte("sibling folder"),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Symlinks: one escaping the folder, one to a directory outside, one staying inside.
	for link, target := range map[string]string{
		"v0/evil.ts":  "../../secret.ts",
		"v1":          "..",
		"v0/alias.ts": "seg100.ts",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return dir, seg
}

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func checkCORS(t *testing.T, res *http.Response) {
	t.Helper()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
	}
	if got := res.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Content-Range") || !strings.Contains(got, "Content-Length") {
		t.Errorf("Access-Control-Expose-Headers = %q, want Content-Range and Content-Length", got)
	}
}

func TestOriginServesStreamFiles(t *testing.T) {
	dir, seg := originFixture(t)
	h := NewOrigin(dir, OriginOptions{Prefix: "/hls/"})
	tests := []struct {
		path, ctype, cache string
		body               []byte
	}{
		{"/hls/master.m3u8", "application/vnd.apple.mpegurl", "no-cache", []byte("#EXTM3U\nv0/index.m3u8\n")},
		{"/hls/v0/index.m3u8", "application/vnd.apple.mpegurl", "no-cache", nil},
		{"/hls/v0/seg100.ts", "video/mp2t", "public, max-age=86400, immutable", seg},
		{"/hls/v0/seg101.m4s", "video/mp4", "public, max-age=86400, immutable", nil},
		{"/hls/v0/init_0.mp4", "video/mp4", "no-cache", nil},
		{"/hls/segments-sha256.json", "application/json", "no-cache", nil},
		{"/hls/v0/alias.ts", "video/mp2t", "public, max-age=86400, immutable", seg},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := serve(t, h, "GET", tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			checkCORS(t, res)
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
				t.Errorf("ETag %q, Last-Modified %q: want both", res.Header.Get("ETag"), res.Header.Get("Last-Modified"))
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if tt.body != nil && !bytes.Equal(body, tt.body) {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
		})
	}
}

func TestOriginRangesAndConditionals(t *testing.T) {
	dir, seg := originFixture(t)
	h := NewOrigin(dir, OriginOptions{Prefix: "/hls/", SegmentMaxAge: 3600e9})
	t.Run("range", func(t *testing.T) {
		res := serve(t, h, "GET", "/hls/v0/seg100.ts", map[string]string{"Range": "bytes=900-"})
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusPartialContent {
			t.Fatalf("status %d, want 206", res.StatusCode)
		}
		if got := res.Header.Get("Content-Range"); got != "bytes 900-999/1000" {
			t.Errorf("Content-Range = %q", got)
		}
		if !bytes.Equal(body, seg[900:]) {
			t.Errorf("range body has %d bytes, want the last 100", len(body))
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=3600, immutable" {
			t.Errorf("Cache-Control = %q", got)
		}
		checkCORS(t, res)
	})
	t.Run("unsatisfiable range", func(t *testing.T) {
		res := serve(t, h, "GET", "/hls/v0/seg100.ts", map[string]string{"Range": "bytes=5000-"})
		if res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("status %d, want 416", res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control on 416 = %q, want no-store", got)
		}
		checkCORS(t, res)
	})
	t.Run("if-none-match", func(t *testing.T) {
		first := serve(t, h, "GET", "/hls/v0/seg100.ts", nil)
		etag := first.Header.Get("ETag")
		res := serve(t, h, "GET", "/hls/v0/seg100.ts", map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("status %d with matching ETag, want 304", res.StatusCode)
		}
		checkCORS(t, res)
	})
	t.Run("head", func(t *testing.T) {
		res := serve(t, h, "HEAD", "/hls/v0/seg100.ts", nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Length") != "1000" || res.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("HEAD: status %d, Content-Length %q, Accept-Ranges %q", res.StatusCode,
				res.Header.Get("Content-Length"), res.Header.Get("Accept-Ranges"))
		}
	})
}

func TestOriginPreflightAndMethods(t *testing.T) {
	dir, _ := originFixture(t)
	h := NewOrigin(dir, OriginOptions{Prefix: "/hls/"})
	res := serve(t, h, "OPTIONS", "/hls/v0/seg100.ts", map[string]string{
		"Origin": "https://example.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range",
	})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("OPTIONS status %d, want 204", res.StatusCode)
	}
	checkCORS(t, res)
	if got := res.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Range") {
		t.Errorf("Access-Control-Allow-Headers = %q, want Range", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "GET") {
		t.Errorf("Access-Control-Allow-Methods = %q", got)
	}
	// Preflight also works for files that do not exist yet.
	if res := serve(t, h, "OPTIONS", "/hls/v0/seg999.ts", nil); res.StatusCode != http.StatusNoContent {
		t.Errorf("OPTIONS on a future segment: %d, want 204", res.StatusCode)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		res := serve(t, h, m, "/hls/v0/seg100.ts", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: status %d, Cache-Control %q; want 405, no-store", m, res.StatusCode, res.Header.Get("Cache-Control"))
		}
		checkCORS(t, res)
	}
}

func TestOriginRefuses(t *testing.T) {
	dir, _ := originFixture(t)
	h := NewOrigin(dir, OriginOptions{Prefix: "/hls/"})
	for _, target := range []string{
		"/hls/v0/seg999.ts",                // not (yet) there
		"/hls/v0/seg101.ts.tmp",            // being written
		"/hls/.segments-sha256.json.1.tmp", // manifest temp file
		"/hls/.master.m3u8",                // ffmpeg's private playlist
		"/hls/v0/.index.m3u8",              // ffmpeg's private playlist
		"/hls/v0/notes.txt",                // not a stream file type
		"/hls/",                            // no directory listings
		"/hls/v0/",                         // no directory listings
		"/hls/v0",                          // a directory
		"/hls/../secret.ts",                // traversal
		"/hls/v0/../../secret.ts",          // traversal
		"/hls/%2e%2e/secret.ts",            // encoded traversal
		"/hls/..%2fsecret.ts",              // encoded slash
		"/hls/v0%2fseg100.ts",              // encoded slash to a real file
		"/hls/v0%5cseg100.ts",              // encoded backslash
		"/hls/v0\\seg100.ts",               // backslash
		"/hls/./master.m3u8",               // dot element
		"/hls//master.m3u8",                // empty element
		"/hls/v0/evil.ts",                  // symlink escaping the folder
		"/hls/v1/secret.ts",                // symlinked directory escaping the folder
		"/hls/../hls-other/x.m3u8",         // sibling folder sharing the prefix
		"/hls-other/x.m3u8",                // outside the prefix
		"/master.m3u8",                     // outside the prefix
		"/hls/v0/seg100.ts%00.m3u8",        // NUL
	} {
		t.Run(target, func(t *testing.T) {
			res := serve(t, h, "GET", target, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404 (body %q)", res.StatusCode, body)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			checkCORS(t, res)
			for _, leak := range []string{"secret", "private", "partial", "temp"} {
				if bytes.Contains(body, []byte(leak)) {
					t.Errorf("body leaks %q: %q", leak, body)
				}
			}
		})
	}
}

func TestOriginMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	h := NewOrigin(dir, OriginOptions{})
	if res := serve(t, h, "GET", "/master.m3u8", nil); res.StatusCode != 404 {
		t.Fatalf("status %d before the folder exists, want 404", res.StatusCode)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.m3u8"), []byte("#EXTM3U\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := serve(t, h, "GET", "/master.m3u8", nil); res.StatusCode != 200 {
		t.Fatalf("status %d once the folder exists, want 200", res.StatusCode)
	}
}

// TestOriginOverHTTP mounts the origin on a ServeMux the way the tracker's listener does and
// fetches through a real loopback connection, counting requests and bytes.
func TestOriginOverHTTP(t *testing.T) {
	dir, seg := originFixture(t)
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.Handle("/hls/", NewOrigin(dir, OriginOptions{Prefix: "/hls/", Registerer: reg}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	get := func(path string) *http.Response {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res := get("/hls/v0/seg100.ts")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Equal(body, seg) || res.Header.Get("Content-Type") != "video/mp2t" {
		t.Fatalf("GET segment: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	if res := get("/hls/v0/seg999.ts"); res.StatusCode != 404 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("missing segment: %d, ACAO %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	if got := counterValue(t, reg, "swarmcast_hls_origin_response_bytes_total"); got < 1000 {
		t.Errorf("bytes counter = %v, want ≥ 1000", got)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// FuzzOriginPath checks that whatever path is asked for, the origin serves nothing but the
// stream files of its folder.
func FuzzOriginPath(f *testing.F) {
	for _, s := range []string{"/hls/master.m3u8", "/hls/v0/seg100.ts", "/hls/../secret.ts", "/hls/%2e%2e/x", "/hls/v0/evil.ts", "/hls/.master.m3u8"} {
		f.Add(s)
	}
	dir, _ := originFixture(f)
	o := NewOrigin(dir, OriginOptions{Prefix: "/hls/"}).(*origin)
	f.Fuzz(func(t *testing.T, p string) {
		r, err := http.NewRequest("GET", "http://x"+p, nil)
		if err != nil {
			return
		}
		rel, ok := o.relPath(r)
		if !ok {
			return
		}
		for _, el := range strings.Split(rel, "/") {
			if el == "" || el == "." || el == ".." || strings.HasPrefix(el, ".") || strings.HasSuffix(el, ".tmp") {
				t.Fatalf("relPath(%q) = %q: contains %q", p, rel, el)
			}
		}
		if strings.ContainsAny(rel, "\\\x00") {
			t.Fatalf("relPath(%q) = %q", p, rel)
		}
		if _, ok := contentTypes[filepath.Ext(rel)]; !ok {
			t.Fatalf("relPath(%q) = %q: not a stream file type", p, rel)
		}
		w := httptest.NewRecorder()
		o.ServeHTTP(w, r)
		if body := w.Body.String(); strings.Contains(body, "secret") || strings.Contains(body, "private") {
			t.Fatalf("GET %q served %q", p, fmt.Sprint(body))
		}
	})
}
