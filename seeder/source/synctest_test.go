package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// TestRetryAndPollTiming checks, in a synctest bubble (virtual time), that a missing master
// playlist is retried with backoff until it appears, and that playlists are then polled every
// half target duration.
func TestRetryAndPollTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		src, err := New(Config{Origin: filepath.Join(dir, "master.m3u8"), PublicURL: "http://127.0.0.1/m.m3u8"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()

		time.Sleep(5 * time.Second)
		synctest.Wait()
		select {
		case <-src.Ready():
			t.Fatal("ready without a master playlist")
		default:
		}
		st := newStreamIn(t, dir)
		st.publish(1, 3, nil, false) // target duration 1 s: polls every 500 ms
		time.Sleep(10 * time.Second) // more than the longest backoff step
		synctest.Wait()
		select {
		case <-src.Ready():
		default:
			t.Fatal("not ready after the master playlist appeared")
		}
		before := src.Stats().Polls
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := src.Stats().Polls - before; got < 9 || got > 11 {
			t.Errorf("%d polls in 5 s, want 10 (every 500 ms)", got)
		}
		if snap := src.Snapshot(); snap == nil || len(snap.Windows[0].Segments) != 3 {
			t.Errorf("snapshot %+v", snap)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// newStreamIn is newStream writing into an existing folder.
func newStreamIn(t *testing.T, dir string) *stream {
	t.Helper()
	s := &stream{t: t, dir: dir, manifest: map[string]string{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.write("master.m3u8", "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English\",LANGUAGE=\"en\",URI=\"a0/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS=\"avc1.4d401f,mp4a.40.2\",AUDIO=\"aud\"\nv0/index.m3u8\n")
	return s
}
