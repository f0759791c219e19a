package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"swarmcast/tracker"
)

// testLogWriter sends slog output to the test log until the test ends.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("%s", p)
	return len(p), nil
}

// site is one 127.0.0.1 listener of our tracker that also serves the test page and the
// stream, so that page, playlist, segments and WebSocket share one origin.
type site struct {
	URL     string // http://127.0.0.1:port
	Tracker string // ws://127.0.0.1:port
	srv     *tracker.Server
}

// startSite starts swarmcast's tracker on 127.0.0.1 with an ephemeral port, mounts handlers
// (pattern -> handler) on it, and stops it when the test ends.
func startSite(t *testing.T, handlers map[string]http.Handler) *site {
	t.Helper()
	cfg := tracker.DefaultConfig()
	cfg.Servers[0].Server.Host = "127.0.0.1"
	cfg.Servers[0].Server.Port = 0
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := tracker.New(cfg, tracker.Options{Logger: log})
	if err != nil {
		t.Fatalf("tracker.New: %v", err)
	}
	for pattern, h := range handlers {
		srv.Handle(pattern, h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("tracker: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("tracker did not stop within 15 s")
		}
	})
	addr := srv.Addrs()[0].String()
	return &site{URL: "http://" + addr, Tracker: "ws://" + addr, srv: srv}
}
