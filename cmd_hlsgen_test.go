package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmcast/hlsgen"
	"swarmcast/internal/testutil"
)

// TestRunHLSGenStandalone runs `swarmcast hlsgen` with the small test stream and fetches
// the master playlist, a media playlist and the manifest from its origin.
func TestRunHLSGenStandalone(t *testing.T) {
	testutil.RequireTools(t, "ffmpeg")
	// A free loopback port for hls.listen.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cfg := hlsgen.SmallConfig(t.TempDir())
	cfg.Listen = addr
	cfg.Prefix = "/live/"
	env := &cmdEnv{
		cfg:    &fileConfig{HLS: &cfg},
		log:    slog.New(slog.NewTextHandler(t.Output(), nil)),
		stdout: io.Discard,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runHLSGen(ctx, env) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runHLSGen: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("runHLSGen did not return after cancel")
		}
	})

	get := func(path string) (int, string, http.Header) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error(), nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if code, body, _ := get("/live/" + hlsgen.MasterPlaylist); code != 200 {
			return fmt.Errorf("master: %d %s", code, body)
		}
		return nil
	})
	code, body, hdr := get("/live/v1/" + hlsgen.MediaPlaylist)
	if code != 200 || !strings.Contains(body, "#EXT-X-MEDIA-SEQUENCE:") ||
		hdr.Get("Content-Type") != "application/vnd.apple.mpegurl" || hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("media playlist: %d %q %v", code, body, hdr)
	}
	if code, body, _ := get("/live/" + hlsgen.ManifestFile); code != 200 || !strings.HasPrefix(body, `{"version":1,"segments":{"v0/seg`) {
		t.Errorf("manifest: %d %q", code, body)
	}
	if code, _, _ := get("/hls/" + hlsgen.MasterPlaylist); code != 404 {
		t.Errorf("outside the prefix: %d, want 404", code)
	}
}
