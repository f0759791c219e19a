package hlsgen

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOriginSegment measures serving one 1000-byte segment through the origin
// (path checks, os.Root open, headers, ServeContent).
func BenchmarkOriginSegment(b *testing.B) {
	dir, seg := originFixture(b)
	h := NewOrigin(dir, OriginOptions{Prefix: "/hls/"})
	r := httptest.NewRequest("GET", "/hls/v0/seg100.ts", nil)
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkPublisherIdleTick measures one publishing round when nothing changed: the cost
// paid every 100 ms between segments, with a full 20-segment window in two renditions.
func BenchmarkPublisherIdleTick(b *testing.B) {
	dir := b.TempDir()
	cfg := Config{OutputDir: dir}
	cfg.SetDefaults()
	if err := cleanOutput(&cfg); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 200<<10)
	for _, r := range cfg.Renditions {
		pl := "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:100\n"
		for n := 100; n < 120; n++ {
			name := filepath.Join(dir, r.Name, "seg"+itoa(n)+".ts")
			if err := os.WriteFile(name, data, 0o644); err != nil {
				b.Fatal(err)
			}
			pl += "#EXTINF:2.000000,\nseg" + itoa(n) + ".ts\n"
		}
		if err := os.WriteFile(filepath.Join(dir, r.Name, privateMedia), []byte(pl), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	m, _ := newMetrics(nil)
	p := newPublisher(&cfg, make(chan struct{}, 1), slog.New(slog.DiscardHandler), m)
	if err := p.tick(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.tick(); err != nil {
			b.Fatal(err)
		}
	}
}
