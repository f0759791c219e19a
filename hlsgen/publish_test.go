package hlsgen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeFFmpeg writes what ffmpeg would: segments first, then the private playlists.
type fakeFFmpeg struct {
	t   *testing.T
	dir string
}

func (f fakeFFmpeg) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f fakeFFmpeg) playlist(rendition string, first, last int) {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for n := first; n <= last; n++ {
		fmt.Fprintf(&b, "#EXTINF:1.000000,\nseg%d.ts\n", n)
	}
	f.write(rendition+"/"+privateMedia, b.String())
}

func readManifest(t *testing.T, dir string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %q: %v", b, err)
	}
	if m.Version != 1 {
		t.Errorf("manifest version %d, want 1", m.Version)
	}
	return m
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestPublisher(t *testing.T) {
	dir := t.TempDir()
	cfg := SmallConfig(dir)
	if err := cleanOutput(&cfg); err != nil {
		t.Fatal(err)
	}
	m, _ := newMetrics(nil)
	progress := make(chan struct{}, 1)
	p := newPublisher(&cfg, progress, slog.New(slog.DiscardHandler), m)
	ff := fakeFFmpeg{t, dir}
	tick := func() {
		t.Helper()
		if err := p.tick(); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing yet: an empty manifest, no public playlists.
	tick()
	if got := readManifest(t, dir); len(got.Segments) != 0 {
		t.Errorf("manifest before any segment: %v", got.Segments)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if string(raw) != `{"version":1,"segments":{}}` {
		t.Errorf("empty manifest = %s", raw)
	}

	ff.write(privateMaster, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/.index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv1/.index.m3u8\n")
	for _, r := range []string{"v0", "v1"} {
		ff.write(r+"/seg100.ts", r+" segment 100")
		ff.write(r+"/seg101.ts", r+" segment 101")
		ff.write(r+"/seg102.ts.tmp", "being written")
	}
	ff.playlist("v0", 100, 101)
	tick()
	// v0 is published; v1 has no playlist yet, so the master is held back.
	if _, err := os.Stat(filepath.Join(dir, "v0", MediaPlaylist)); err != nil {
		t.Errorf("v0 playlist not published: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, MasterPlaylist)); err == nil {
		t.Errorf("master published before every rendition has a playlist")
	}
	select {
	case <-progress:
	default:
		t.Errorf("no progress signal for new segments")
	}

	ff.playlist("v1", 100, 101)
	tick()
	master, err := os.ReadFile(filepath.Join(dir, MasterPlaylist))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(master), privateMedia) || !strings.Contains(string(master), "\nv1/index.m3u8\n") {
		t.Errorf("master not rewritten to public playlists:\n%s", master)
	}
	want := map[string]string{}
	for _, r := range []string{"v0", "v1"} {
		for _, n := range []int{100, 101} {
			want[fmt.Sprintf("%s/seg%d.ts", r, n)] = sum(fmt.Sprintf("%s segment %d", r, n))
		}
	}
	checkManifest := func(want map[string]string) {
		t.Helper()
		got := readManifest(t, dir).Segments
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("manifest segments:\n got %v\nwant %v", got, want)
		}
	}
	checkManifest(want)
	if got := testutil.ToFloat64(m.Segments.WithLabelValues("v1")); got != 2 {
		t.Errorf("segments metric for v1 = %v, want 2", got)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "v1", MediaPlaylist))
	priv, _ := os.ReadFile(filepath.Join(dir, "v1", privateMedia))
	if string(pub) != string(priv) {
		t.Errorf("public playlist differs from ffmpeg's:\n%s\n%s", pub, priv)
	}

	// ffmpeg slides the window and deletes seg100: the entry goes, the new one comes.
	for _, r := range []string{"v0", "v1"} {
		if err := os.Rename(filepath.Join(dir, r, "seg102.ts.tmp"), filepath.Join(dir, r, "seg102.ts")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, r, "seg100.ts")); err != nil {
			t.Fatal(err)
		}
		ff.playlist(r, 101, 102)
		delete(want, r+"/seg100.ts")
		want[r+"/seg102.ts"] = sum("being written")
	}
	tick()
	checkManifest(want)
	if got := testutil.ToFloat64(m.Entries); got != 4 {
		t.Errorf("entries gauge = %v, want 4", got)
	}

	// A file rewritten under the same name (an fMP4 init segment after a restart) is rehashed.
	later := time.Now().Add(time.Second)
	ff.write("v0/seg102.ts", "rewritten")
	if err := os.Chtimes(filepath.Join(dir, "v0/seg102.ts"), later, later); err != nil {
		t.Fatal(err)
	}
	ff.playlist("v0", 101, 102) // unchanged content: no rehash needed yet
	ff.write("v0/"+privateMedia, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:101\nseg101.ts\nseg102.ts\n")
	want["v0/seg102.ts"] = sum("rewritten")
	tick()
	checkManifest(want)

	// Leftovers of an earlier run that no playlist lists are collected once old enough.
	ff.write("v1/seg50.ts", "old run")
	ff.write("v1/seg51.ts.tmp", "killed while writing")
	old := time.Now().Add(-p.retention - time.Second)
	for _, n := range []string{"v1/seg50.ts", "v1/seg51.ts.tmp", "v1/seg101.ts"} {
		if err := os.Chtimes(filepath.Join(dir, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	ff.write("v1/seg60.ts", "recent leftover")
	p.collect()
	for n, keep := range map[string]bool{"v1/seg50.ts": false, "v1/seg51.ts.tmp": false, "v1/seg101.ts": true, "v1/seg60.ts": true} {
		_, err := os.Stat(filepath.Join(dir, n))
		if (err == nil) != keep {
			t.Errorf("%s: exists=%v, want %v", n, err == nil, keep)
		}
	}
	// No temp files left behind by the publisher itself.
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(tmps) != 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

func TestPlaylistURIs(t *testing.T) {
	pl := "#EXTM3U\n#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXTINF:1.0,\nseg1.m4s\r\n\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z\nseg2.m4s\n"
	if got, want := strings.Join(playlistURIs([]byte(pl)), ","), "init_0.mp4,seg1.m4s,seg2.m4s"; got != want {
		t.Errorf("playlistURIs = %q, want %q", got, want)
	}
	for s, want := range map[string]bool{"seg1.ts": true, "../x.ts": false, "a/b.ts": false, ".x.ts": false, "x.ts.tmp": false, "": false, "http://x/y.ts": false} {
		if got := plainFileName(s); got != want {
			t.Errorf("plainFileName(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCleanOutputKeepsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := SmallConfig(dir)
	ff := fakeFFmpeg{t, dir}
	for _, n := range []string{MasterPlaylist, ManifestFile, "v0/index.m3u8", "v0/seg1.ts", "v1/init_1.mp4", "v1/seg2.m4s.tmp"} {
		ff.write(n, "old")
	}
	ff.write("README.txt", "keep")
	ff.write("v0/keep.txt", "keep")
	if err := cleanOutput(&cfg); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	if got := strings.Join(left, ","); got != "README.txt,v0/keep.txt" {
		t.Errorf("after cleanOutput: %s", got)
	}
}

// TestPublisherHoldsPlaylistsUntilManifestWritten checks the ordering guarantee: when the
// manifest cannot be written, no playlist referencing the new segments is published.
func TestPublisherHoldsPlaylistsUntilManifestWritten(t *testing.T) {
	dir := t.TempDir()
	cfg := SmallConfig(dir)
	cfg.Renditions = cfg.Renditions[:1]
	if err := cleanOutput(&cfg); err != nil {
		t.Fatal(err)
	}
	m, _ := newMetrics(nil)
	p := newPublisher(&cfg, make(chan struct{}, 1), slog.New(slog.DiscardHandler), m)
	ff := fakeFFmpeg{t, dir}
	ff.write(privateMaster, "#EXTM3U\nv0/.index.m3u8\n")
	public := filepath.Join(dir, "v0", MediaPlaylist)
	manifest := filepath.Join(dir, ManifestFile)
	// A directory where the manifest goes makes its rename fail.
	block := func() {
		t.Helper()
		if err := os.Remove(manifest); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.Mkdir(manifest, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unblock := func() {
		t.Helper()
		if err := os.Remove(manifest); err != nil {
			t.Fatal(err)
		}
	}

	// The very first playlist.
	ff.write("v0/seg7.ts", "seven")
	ff.playlist("v0", 7, 7)
	block()
	if err := p.tick(); err == nil {
		t.Fatal("tick succeeded although the manifest could not be written")
	}
	for _, n := range []string{public, filepath.Join(dir, MasterPlaylist)} {
		if _, err := os.Stat(n); err == nil {
			t.Errorf("%s published before the manifest listed its segments", n)
		}
	}
	unblock()
	if err := p.tick(); err != nil {
		t.Fatal(err)
	}
	if got := readManifest(t, dir).Segments["v0/seg7.ts"]; got != sum("seven") {
		t.Errorf("manifest entry = %q", got)
	}
	if _, err := os.Stat(public); err != nil {
		t.Errorf("playlist not published once the manifest was written: %v", err)
	}

	// A later playlist: the segment is hashed on a tick whose manifest write fails; the
	// next tick must still write the manifest before publishing the playlist.
	ff.write("v0/seg8.ts", "eight")
	ff.playlist("v0", 7, 8)
	block()
	if err := p.tick(); err == nil {
		t.Fatal("tick succeeded although the manifest could not be written")
	}
	if b, _ := os.ReadFile(public); strings.Contains(string(b), "seg8.ts") {
		t.Errorf("playlist listing seg8.ts published before the manifest had it")
	}
	unblock()
	if err := p.tick(); err != nil {
		t.Fatal(err)
	}
	if got := readManifest(t, dir).Segments["v0/seg8.ts"]; got != sum("eight") {
		t.Errorf("manifest entry for seg8.ts = %q", got)
	}
	if b, _ := os.ReadFile(public); !strings.Contains(string(b), "seg8.ts") {
		t.Errorf("playlist with seg8.ts not published: %q", b)
	}
}
