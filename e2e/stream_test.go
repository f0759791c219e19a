package e2e

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swarmcast/hlsgen"
	"swarmcast/internal/testutil"
)

// Stream geometry shared by every browser test: one tiny rendition so that six pages and the
// encoder fit on two cores, 2 s segments and a window of 20. P2P Media Loader only exchanges
// segments when the player sits far enough behind live, which needs a full window
// (docs/browser-e2e-notes in the shared notes, docs/browser-tests.md).
const (
	segmentSeconds = 2
	windowSegments = 20
	hlsPrefix      = "/hls/"
	masterPlaylist = "master.m3u8"
)

// liveStream is swarmcast's live test card (hlsgen) writing into dir.
type liveStream struct {
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// startStream starts the hlsgen generator with the test geometry.
func startStream(dir string) (*liveStream, error) {
	cfg := hlsgen.Config{
		OutputDir:      dir,
		FPS:            15,
		SegmentSeconds: segmentSeconds,
		ListSize:       windowSegments,
		AudioKbps:      32,
		Renditions:     []hlsgen.Rendition{{Name: "v0", Width: 320, Height: 180, VideoKbps: 200}},
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gen, err := hlsgen.New(cfg, log, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &liveStream{dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- gen.Run(ctx) }()
	return s, nil
}

// stop stops the generator and waits for ffmpeg to exit.
func (s *liveStream) stop() {
	s.cancel()
	<-s.done
}

// segments returns how many segments the media playlist lists now.
func (s *liveStream) segments() int {
	f, err := os.Open(filepath.Join(s.dir, "v0", "index.m3u8"))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#EXTINF") {
			n++
		}
	}
	return n
}

// waitFull waits until the playlist holds its whole window.
func (s *liveStream) waitFull(ctx context.Context) error {
	for s.segments() < windowSegments {
		select {
		case err := <-s.done:
			return fmt.Errorf("the generator stopped: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("the playlist has %d of %d segments: %w", s.segments(), windowSegments, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

// origin returns a new origin for the stream (to be mounted at hlsPrefix) that counts the
// segment bytes it serves.
func (s *liveStream) origin() *countingHandler {
	return &countingHandler{h: hlsgen.NewOrigin(s.dir, hlsgen.OriginOptions{Prefix: hlsPrefix})}
}

// sharedStream is the one live stream all browser tests of this package play, so the time
// it takes to fill the window is paid once per `go test` run. TestMain stops it.
var sharedStream struct {
	once   sync.Once
	stream *liveStream
	err    error
}

// stream returns the shared live stream, started on first use and full when returned.
func stream(t *testing.T) *liveStream {
	t.Helper()
	testutil.RequireTools(t, "ffmpeg")
	sharedStream.once.Do(func() {
		dir, err := os.MkdirTemp("", "swarmcast-e2e-hls-")
		if err != nil {
			sharedStream.err = err
			return
		}
		s, err := startStream(dir)
		if err != nil {
			os.RemoveAll(dir)
			sharedStream.err = err
			return
		}
		sharedStream.stream = s
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(windowSegments*segmentSeconds+40)*time.Second)
		defer cancel()
		sharedStream.err = s.waitFull(ctx)
		t.Logf("live stream: %d segments after %v", s.segments(), time.Since(start).Round(time.Second))
	})
	if sharedStream.err != nil {
		t.Fatalf("live stream: %v", sharedStream.err)
	}
	return sharedStream.stream
}

func stopSharedStream() {
	if s := sharedStream.stream; s != nil {
		s.stop()
		os.RemoveAll(s.dir)
	}
}

// countingHandler counts the segment bytes an origin handler writes.
type countingHandler struct {
	h     http.Handler
	bytes atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".ts") {
		w = &countingWriter{ResponseWriter: w, n: &c.bytes}
	}
	c.h.ServeHTTP(w, r)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}
