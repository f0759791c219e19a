package tracker

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// TestDebugTracing: every message kind is traced at debug level, and nothing is logged
// per message at info level.
func TestDebugTracing(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			var buf testutil.SyncBuffer
			h, err := NewHub(HubConfig{}, nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
			if err != nil {
				t.Fatal(err)
			}
			a, b := h.NewSession(&fakeSender{}), h.NewSession(&fakeSender{})
			frames := []struct {
				s     *Session
				frame string
			}{
				{a, announce("ih", "a", "")},
				{b, announce("ih", "a", "")}, // takeover
				{a, `{"action":"announce","peer_id":"q","to_peer_id":"a","answer":{}}`},
				{a, `{"action":"announce","peer_id":"q","to_peer_id":"nobody","answer":{}}`},
				{a, `{"action":"scrape"}`},
				{b, announce("ih", "a", `,"event":"stopped"`)},
				{a, `null`},
				{a, `{"action":"x"}`},
			}
			for _, f := range frames {
				_ = h.Handle(f.s, []byte(f.frame)) // errors are traced; the log is checked below
			}
			_ = h.Handle(a, []byte(announce("ih2", "z", "")))
			h.expire(time.Now().Add(time.Hour))
			out := buf.String()
			want := []string{"tracker: announce", "peer changed connection", "tracker: answer routed",
				"answer to unknown peer dropped", "tracker: scrape", "tracker: stopped", "tracker: invalid frame",
				"tracker: protocol error", "tracker: expired", "info_hash=6968", "peer_id=61"}
			for _, w := range want {
				if got := strings.Contains(out, w); got != (level == slog.LevelDebug) {
					t.Errorf("log contains %q: %v, want %v\n%s", w, got, level == slog.LevelDebug, out)
				}
			}
		})
	}
}
