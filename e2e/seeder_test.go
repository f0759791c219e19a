package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"swarmcast/internal/browsertest"
	"swarmcast/seeder"
)

// seederPlay is how long the seeder test's pages play once both are playing.
const seederPlay = 40 * time.Second

// startSeeder runs swarmcast's seeder on the stream folder, announcing streamURL (the master
// playlist URL the pages load, from which swarm ids derive) to trackerURL, with ICE held to
// loopback. It waits until the seeder has joined its swarms, and returns each generation's
// peer id ("2.3", "2.2", "0.6" → peer_id).
func startSeeder(t *testing.T, dir, streamURL, trackerURL string) (*seeder.Seeder, map[string]string) {
	t.Helper()
	cfg := &seeder.Config{
		Origin:       filepath.Join(dir, masterPlaylist),
		PublicURL:    streamURL,
		Trackers:     []string{trackerURL},
		LoopbackOnly: true,
	}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := seeder.New(cfg, seeder.Options{Logger: log})
	if err != nil {
		t.Fatalf("seeder.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("seeder: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("seeder did not stop within 15 s")
		}
	})
	ids := map[string]string{}
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the seeder joined no swarm within 30 s")
		}
		for _, sw := range s.Swarms() {
			if sw.Rendition == 0 {
				ids[sw.Generation] = sw.PeerID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("seeder swarms: %+v, udp %v", s.Swarms(), s.UDPAddrs())
	return s, ids
}

// TestSeederServesPMLPages (issue 4): one page with hls.js 1.6 + p2p-media-loader-hlsjs 2.3.1
// and one with hls.js 0.14 + p2p-media-loader-hlsjs 0.6.2, each alone in its swarm apart from
// swarmcast's seeder, play the live test card through our tracker. Each video plays, and each
// page's P2P Media Loader reports bytes downloaded from the seeder's peer of its generation
// (and from no other peer).
func TestSeederServesPMLPages(t *testing.T) {
	t.Parallel()
	browsertest.Require(t)
	live := stream(t)
	site := startSite(t, map[string]http.Handler{
		"/page/":  http.StripPrefix("/page", browsertest.Assets(t)),
		hlsPrefix: live.origin(),
	})
	streamURL := site.URL + hlsPrefix + masterPlaylist
	sd, ids := startSeeder(t, live.dir, streamURL, site.Tracker)

	gens := []struct {
		gen    browsertest.Generation
		seeder string // seeder generation name
	}{{browsertest.PML2, "2.3"}, {browsertest.PML06, "0.6"}}
	b := browsertest.Launch(t)
	var ps []*browsertest.Page
	for _, g := range gens {
		if ids[g.seeder] == "" {
			t.Fatalf("the seeder did not join a %s swarm (joined %v)", g.seeder, ids)
		}
		url := browsertest.PageURL(site.URL+"/page/", browsertest.PageOptions{
			Stream: streamURL, Tracker: site.Tracker, Gen: g.gen, HLS: hlsConfig(g.gen),
		})
		ps = append(ps, b.Open(url))
	}

	first := waitPlaying(t, ps)
	start := time.Now()
	for time.Since(start) < seederPlay {
		time.Sleep(10 * time.Second)
		logStats(t, fmt.Sprintf("after %v", time.Since(start).Round(time.Second)), browsertest.StatsAll(t, ps))
	}
	last := browsertest.StatsAll(t, ps)
	wall := time.Since(start)
	for _, p := range ps {
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(drain)
	final := browsertest.StatsAll(t, ps)
	logStats(t, "final", final)
	st, _ := sd.Stats().(seeder.Stats)
	t.Logf("seeder: uploaded %d bytes, %d segments served, %d absent, %d cancelled, peers %v",
		st.UploadedBytes, st.SegmentsServed, st.SegmentsAbsent, st.SegmentsCancelled, st.PeersByGeneration)

	var fromSeeder int64
	for i, g := range gens {
		if adv := last[i].CurrentTime - first[i].CurrentTime; adv < minAdvance*wall.Seconds() {
			t.Errorf("%s page: video advanced %.1f s in %.1f s", g.gen, adv, wall.Seconds())
		}
		id := ids[g.seeder]
		got := final[i].P2PFrom[id]
		fromSeeder += got
		if got == 0 {
			t.Errorf("%s page: no bytes from the seeder's peer %s (P2P from %v, http %d bytes)", g.gen, id, final[i].P2PFrom, final[i].HTTPBytes)
		}
		for peer := range final[i].P2PFrom {
			if peer != id {
				t.Errorf("%s page: bytes from %s, which is not the seeder's peer %s", g.gen, peer, id)
			}
		}
		t.Logf("%s page: %d bytes from the seeder, %d over HTTP (P2P share %.1f%%)", g.gen, got, final[i].HTTPBytes, 100*final[i].P2PShare())
	}
	// The seeder counts what it wrote to its data channels; after draining, the pages have
	// received all of it except what a closed connection lost.
	if st.UploadedBytes < uint64(fromSeeder) {
		t.Errorf("pages got %d bytes from the seeder, but it uploaded only %d", fromSeeder, st.UploadedBytes)
	}
	checkLoopback(t, final)
}
