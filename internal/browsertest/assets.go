package browsertest

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

//go:embed pages
var pagesFS embed.FS

// Generation selects the P2P Media Loader generation a test page runs. Generations do not
// share swarms (see docs/browser-tests.md).
type Generation string

const (
	// PML2 is p2p-media-loader-core/-hlsjs 2.3.1 with hls.js 1.6, bundled by esbuild from the
	// packages' ES modules.
	PML2 Generation = "2"
	// PML06 is p2p-media-loader-core/-hlsjs 0.6.2 with hls.js 0.14.17, loaded as the classic
	// scripts those packages publish.
	PML06 Generation = "0.6"
)

// nodeModules are the npm packages the test page is built from, plus the CDP driver.
var nodeModules = []string{
	"hls.js", "p2p-media-loader-core", "p2p-media-loader-hlsjs",
	"hls.js-0.14", "p2p-media-loader-core-0.6", "p2p-media-loader-hlsjs-0.6",
	"esbuild", "playwright-core",
}

// Require checks that Chromium, node and the npm packages the harness uses are installed,
// skipping the test on a developer machine and failing it in CI (testutil.RequireE2EEnv). It
// returns the repository root.
func Require(tb testing.TB) string {
	tb.Helper()
	testutil.RequireTools(tb, "chromium", "node")
	return testutil.RequireNodeModules(tb, nodeModules...)
}

// classicScripts are copied as published: PML 0.6 and hls.js 0.14 break when re-bundled.
var classicScripts = map[string]string{
	"bundle/hls-0.14.min.js":                   "hls.js-0.14/dist/hls.min.js",
	"bundle/p2p-media-loader-core-0.6.min.js":  "p2p-media-loader-core-0.6/build/p2p-media-loader-core.min.js",
	"bundle/p2p-media-loader-hlsjs-0.6.min.js": "p2p-media-loader-hlsjs-0.6/build/p2p-media-loader-hlsjs.min.js",
}

// BuildPage writes the test page into dir: index.html, harness.js and pml06.js from this
// package, bundle/pml2.js built by esbuild from node_modules (hls.js 1.6 and
// p2p-media-loader-hlsjs 2.3.1 ES modules, with a process shim), and the classic scripts of
// PML 0.6.2 and hls.js 0.14.17. Nothing comes from a CDN. root is the repository root.
func BuildPage(root, dir string) error {
	sub, err := fs.Sub(pagesFS, "pages")
	if err != nil {
		return err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return fmt.Errorf("copying the page: %w", err)
	}
	nm := filepath.Join(root, "node_modules")
	if err := os.MkdirAll(filepath.Join(dir, "bundle"), 0o755); err != nil {
		return err
	}
	for dst, src := range classicScripts {
		b, err := os.ReadFile(filepath.Join(nm, src))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			return err
		}
	}
	// esbuild's own launcher (node_modules/esbuild/bin/esbuild) finds the native binary.
	cmd := exec.Command("node", filepath.Join(nm, "esbuild", "bin", "esbuild"),
		filepath.Join(dir, "pml2-entry.js"),
		"--bundle", "--format=iife", "--platform=browser", "--target=es2020",
		"--inject:"+filepath.Join(dir, "process-shim.js"),
		"--define:global=globalThis",
		"--log-level=warning",
		"--outfile="+filepath.Join(dir, "bundle", "pml2.js"))
	// The entry file lives in dir, outside the repository, so point module resolution at
	// the repository's node_modules.
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("esbuild: %v\n%s", err, out)
	}
	return nil
}

// Assets builds the test page into a temporary directory and returns a handler that serves
// it (index.html at the handler's root). Mount it under a prefix with http.StripPrefix, or
// use NewServer.
func Assets(tb testing.TB) http.Handler {
	tb.Helper()
	root := Require(tb)
	dir := tb.TempDir()
	start := time.Now()
	if err := BuildPage(root, dir); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("browsertest: page built in %v", time.Since(start).Round(time.Millisecond))
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
}

// PageOptions are what a test page plays and how.
type PageOptions struct {
	// Stream is the URL of the HLS playlist (master or media).
	Stream string
	// Tracker is the ws:// URL of the WebTorrent tracker.
	Tracker string
	// Gen is the P2P Media Loader generation (PML2 by default).
	Gen Generation
	// SwarmID overrides the swarm id (default: derived from the playlist URL by the library).
	SwarmID string
	// Core is merged into the PML core settings (2.x) or loader settings (0.6), e.g.
	// {"simultaneousP2PDownloads": 5}. Leave nil for the library defaults.
	Core map[string]any
	// HLS is merged into the hls.js config.
	HLS map[string]any
	// KeepRemoteCandidates keeps non-loopback ICE candidates in remote descriptions. Tests
	// must leave it false so that WebRTC only ever targets loopback.
	KeepRemoteCandidates bool
}

// PageURL returns the URL of the test page under base (the URL where Assets is mounted, e.g.
// "http://127.0.0.1:8000/page/") with opts in its query string.
func PageURL(base string, opts PageOptions) string {
	q := url.Values{}
	q.Set("stream", opts.Stream)
	q.Set("tracker", opts.Tracker)
	gen := opts.Gen
	if gen == "" {
		gen = PML2
	}
	q.Set("gen", string(gen))
	if opts.SwarmID != "" {
		q.Set("swarmId", opts.SwarmID)
	}
	if opts.Core != nil {
		q.Set("core", mustJSON(opts.Core))
	}
	if opts.HLS != nil {
		q.Set("hls", mustJSON(opts.HLS))
	}
	if opts.KeepRemoteCandidates {
		q.Set("strip", "0")
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + "index.html?" + q.Encode()
}
