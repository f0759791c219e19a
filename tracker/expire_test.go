package tracker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestExpiry drives Run with a fake clock: memberships that did not announce for more than
// 2×announceInterval go at the next sweep (every announceInterval), others stay.
func TestExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHub(t, HubConfig{AnnounceInterval: 10})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()

		idle, busy := h.client(), h.client()
		idle.send(announce("x", "idle", ""))
		idle.send(announce("y", "idle", ""))
		busy.send(announce("x", "busy", ""))
		// Sweeps at 10, 20 and 30 s; "busy" re-announces right after each one.
		for range 2 {
			time.Sleep(10 * time.Second)
			synctest.Wait() // the sweep has run
			busy.send(announce("x", "busy", ""))
		}
		if st := h.Stats(false); st.Peers != 3 {
			t.Fatalf("expired at 20 s (exactly 2×interval): %+v", st)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// At 30 s the sweep removed memberships older than 20 s: idle's, not busy's.
		st := h.Stats(true)
		if st.Peers != 1 || st.Torrents != 1 || st.PerInfoHash[0].InfoHashHex != "78" {
			t.Fatalf("after expiry: %+v", st)
		}
		if h.metric("swarmcast_tracker_peers_expired_total", "") != 2 {
			t.Fatalf("expired counter %v", h.metric("swarmcast_tracker_peers_expired_total", ""))
		}
		// A peer that announces again comes back.
		idle.send(announce("x", "idle", ""))
		if st := h.Stats(false); st.Peers != 2 {
			t.Fatalf("re-announce: %+v", st)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestExpireBoundary: exactly 2×interval is kept (wt-tracker uses ">"), a nanosecond more
// is expired; memberships expire independently.
func TestExpireBoundary(t *testing.T) {
	h := newTestHub(t, HubConfig{AnnounceInterval: 20})
	t0 := time.Unix(1000, 0)
	now := t0
	h.now = func() time.Time { return now }
	c := h.client()
	c.send(announce("x", "p", ""))
	now = t0.Add(10 * time.Second)
	c.send(announce("y", "p", ""))
	h.expire(t0.Add(40 * time.Second))
	if st := h.Stats(false); st.Peers != 2 {
		t.Fatalf("expired at exactly 2×interval: %+v", st)
	}
	h.expire(t0.Add(40*time.Second + 1))
	if st := h.Stats(true); st.Peers != 1 || st.PerInfoHash[0].InfoHashHex != "79" {
		t.Fatalf("after first expiry: %+v", st)
	}
	h.expire(t0.Add(51 * time.Second))
	if st := h.Stats(false); st.Peers != 0 || st.Torrents != 0 {
		t.Fatalf("after second expiry: %+v", st)
	}
	// The peer is gone entirely: a new announce on another connection is no takeover.
	d := h.client()
	d.send(announce("x", "p", ""))
	if h.metric("swarmcast_tracker_peer_takeovers_total", "") != 0 {
		t.Fatal("expired peer still known")
	}
}

// TestExpiryConnection: with tracker.expiry "connection" (anacrolix-style clients that
// announce once), memberships survive any number of sweep intervals while the connection is
// open, and go when it disconnects.
func TestExpiryConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHub(t, HubConfig{AnnounceInterval: 10, Expiry: ExpiryConnection})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()

		seeder, other := h.client(), h.client()
		seeder.send(announce("x", "seeder", ""))
		other.send(announce("x", "other", ""))
		time.Sleep(10 * time.Minute) // 30 announce intervals without a re-announce
		synctest.Wait()
		if st := h.Stats(false); st.Peers != 2 {
			t.Fatalf("memberships expired while connected: %+v", st)
		}
		if n := h.metric("swarmcast_tracker_peers_expired_total", ""); n != 0 {
			t.Fatalf("expired counter %v, want 0", n)
		}
		h.Disconnect(seeder.sess)
		if st := h.Stats(false); st.Peers != 1 {
			t.Fatalf("after disconnect: %+v", st)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
