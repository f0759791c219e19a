package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// stream writes a tiny live HLS folder: master.m3u8, v0/index.m3u8, a0/index.m3u8 (audio),
// segments and the integrity manifest.
type stream struct {
	t        *testing.T
	dir      string
	mu       sync.Mutex
	manifest map[string]string
}

func newStream(t *testing.T) *stream {
	t.Helper()
	dir := t.TempDir()
	s := &stream{t: t, dir: dir, manifest: map[string]string{}}
	s.write("master.m3u8", `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",CHANNELS="2",URI="a0/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aud"
v0/index.m3u8
`)
	return s
}

func (s *stream) write(name, body string) {
	s.t.Helper()
	p := filepath.Join(s.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		s.t.Fatal(err)
	}
}

func segData(rend string, seq int64) string {
	return fmt.Sprintf("%s segment %d %s", rend, seq, strings.Repeat("x", int(seq%7)))
}

// publish writes segments first..last of both renditions, then the manifest, then playlists.
func (s *stream) publish(first, last int64, corrupt map[string]bool, ended bool) {
	s.t.Helper()
	for _, r := range []string{"v0", "a0"} {
		var pl strings.Builder
		fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
		for q := first; q <= last; q++ {
			name := fmt.Sprintf("%s/seg%d.ts", r, q)
			data := segData(r, q)
			sum := sha256.Sum256([]byte(data))
			s.mu.Lock()
			s.manifest[name] = hex.EncodeToString(sum[:])
			s.mu.Unlock()
			if corrupt[name] {
				data = "corrupted " + data
			}
			s.write(name, data)
			fmt.Fprintf(&pl, "#EXTINF:1.000,\nseg%d.ts\n", q)
		}
		if ended {
			pl.WriteString("#EXT-X-ENDLIST\n")
		}
		s.mu.Lock()
		m, _ := json.Marshal(map[string]any{"version": 1, "segments": s.manifest})
		s.mu.Unlock()
		s.write(ManifestFile, string(m))
		s.write(r+"/index.m3u8", pl.String())
	}
}

func runSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	src, err := New(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return src
}

func seqs(w Window) []int64 {
	var out []int64
	for _, s := range w.Segments {
		out = append(out, s.Seq)
	}
	return out
}

func TestFolderSource(t *testing.T) {
	st := newStream(t)
	st.publish(100, 103, map[string]bool{"v0/seg102.ts": true}, false)
	src := runSource(t, Config{Origin: filepath.Join(st.dir, "master.m3u8"), PublicURL: "https://cdn.example/live/master.m3u8?tok=1", PollInterval: 20 * time.Millisecond, Window: 3})

	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		snap := src.Snapshot()
		if snap == nil {
			return fmt.Errorf("no snapshot")
		}
		if got := fmt.Sprint(seqs(snap.Windows[0]), seqs(snap.Windows[1])); got != "[101 103] [101 102 103]" {
			return fmt.Errorf("windows %s", got)
		}
		return nil
	})
	snap := src.Snapshot()
	if len(snap.Renditions) != 2 || snap.Renditions[0].Stream.URL != "https://cdn.example/live/v0/index.m3u8" {
		t.Fatalf("renditions %+v", snap.Renditions)
	}
	seg := snap.Find(0, 103)
	if seg == nil || string(seg.Data) != segData("v0", 103) || seg.URI != "v0/seg103.ts" || !seg.Verified ||
		seg.URL != "https://cdn.example/live/v0/seg103.ts" || seg.SHA256 != sha256.Sum256(seg.Data) || !snap.Windows[0].Live {
		t.Fatalf("segment %+v", seg)
	}
	if snap.Find(0, 102) != nil {
		t.Fatal("a segment that fails verification was published")
	}
	if src.Stats().VerifyFailures == 0 {
		t.Error("verify failure not counted")
	}

	// The window moves: old segments go, new ones come, and subscribers hear about it.
	ch, unsub := src.Subscribe()
	t.Cleanup(unsub)
	st.publish(104, 106, nil, true)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		snap := src.Snapshot()
		if got := fmt.Sprint(seqs(snap.Windows[0])); got != "[104 105 106]" || snap.Windows[0].Live {
			return fmt.Errorf("window %s live=%v", got, snap.Windows[0].Live)
		}
		return nil
	})
	if src.Stats().Evicted == 0 {
		t.Error("evictions not counted")
	}
}

func TestHTTPSourceWithoutManifest(t *testing.T) {
	st := newStream(t)
	st.publish(7, 8, nil, false)
	if err := os.Remove(filepath.Join(st.dir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(st.dir)))
	t.Cleanup(srv.Close)
	src := runSource(t, Config{Origin: srv.URL + "/master.m3u8", PollInterval: 20 * time.Millisecond})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		snap := src.Snapshot()
		if snap == nil || len(snap.Windows[0].Segments) != 2 {
			return fmt.Errorf("no segments yet")
		}
		return nil
	})
	seg := src.Snapshot().Find(0, 8)
	if seg.Verified || seg.URL != srv.URL+"/v0/seg8.ts" || string(seg.Data) != segData("v0", 8) {
		t.Fatalf("segment %+v", seg)
	}
	if src.PublicURL() != srv.URL+"/master.m3u8" {
		t.Errorf("PublicURL = %q", src.PublicURL())
	}
}

func TestRequireManifest(t *testing.T) {
	st := newStream(t)
	st.publish(1, 2, nil, false)
	os.Remove(filepath.Join(st.dir, ManifestFile))
	src := runSource(t, Config{Origin: filepath.Join(st.dir, "master.m3u8"), PublicURL: "http://127.0.0.1/master.m3u8", PollInterval: 10 * time.Millisecond, RequireManifest: true})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if src.Stats().Polls < 3 {
			return fmt.Errorf("polls %d", src.Stats().Polls)
		}
		return nil
	})
	if snap := src.Snapshot(); snap != nil && len(snap.Windows[0].Segments) > 0 {
		t.Fatal("segments published without the required manifest")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no origin", Config{}, "origin"},
		{"folder without public URL", Config{Origin: "/tmp/x/master.m3u8"}, "publicUrl"},
		{"relative public URL", Config{Origin: "/tmp/x/master.m3u8", PublicURL: "/live/master.m3u8"}, "publicUrl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want mention of %s", err, tc.want)
			}
		})
	}
}

func TestFolderFetcherStaysInRoot(t *testing.T) {
	st := newStream(t)
	st.write("v0/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n../../../../etc/passwd\n")
	src := runSource(t, Config{Origin: filepath.Join(st.dir, "master.m3u8"), PublicURL: "http://127.0.0.1/m.m3u8", PollInterval: 10 * time.Millisecond})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if src.Stats().Polls < 3 {
			return fmt.Errorf("polls %d", src.Stats().Polls)
		}
		return nil
	})
	if snap := src.Snapshot(); snap != nil && len(snap.Windows[0].Segments) > 0 {
		t.Fatalf("read a file outside the folder: %+v", snap.Windows[0].Segments[0].URI)
	}
}

func FuzzParseMediaPlaylist(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n#EXTINF:2.0,\na.ts\n#EXT-X-BYTERANGE:10@0\n#EXTINF:2,\nb.ts\n#EXT-X-ENDLIST\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseMediaPlaylist(b)
		if err != nil {
			return
		}
		for i, s := range p.Segments {
			if s.Seq != p.MediaSequence+int64(i) || s.URI == "" {
				t.Fatalf("segment %d: %+v", i, s)
			}
		}
	})
}
