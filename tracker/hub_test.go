package tracker

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/jsonconf"
	"swarmcast/tracker/wire"
)

// fakeSender records the frames a session receives. It copies them and returns the buffer
// to the pool, as the connection writer does after writing.
type fakeSender struct {
	mu     sync.Mutex
	frames []string
	refuse bool
}

func (f *fakeSender) Send(b []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		return false
	}
	f.frames = append(f.frames, string(b))
	wire.PutBuffer(b)
	return true
}

// take returns and forgets the frames received so far.
func (f *fakeSender) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	fr := f.frames
	f.frames = nil
	return fr
}

type testHub struct {
	*Hub
	t   *testing.T
	reg *prometheus.Registry
}

// client is one connection: its session and what it received.
type client struct {
	h    *testHub
	sess *Session
	out  *fakeSender
}

func newTestHub(t *testing.T, cfg HubConfig) *testHub {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := NewHub(cfg, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.rng = rand.New(rand.NewPCG(1, 2))
	th := &testHub{Hub: h, t: t, reg: reg}
	t.Cleanup(func() {
		if err := th.checkInvariants(); err != nil {
			t.Errorf("hub invariants: %v", err)
		}
	})
	return th
}

func (h *testHub) client() *client {
	s := &fakeSender{}
	return &client{h: h, sess: h.NewSession(s), out: s}
}

// send handles frame and fails the test on an error.
func (c *client) send(frame string) {
	c.h.t.Helper()
	if err := c.h.Handle(c.sess, []byte(frame)); err != nil {
		c.h.t.Fatalf("Handle(%s): %v", frame, err)
	}
}

// expect checks the frames received since the last check.
func (c *client) expect(want ...string) {
	c.h.t.Helper()
	got := c.out.take()
	if len(got) != len(want) {
		c.h.t.Fatalf("received %d frames, want %d:\n got %q\nwant %q", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			c.h.t.Fatalf("frame %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// metric returns the value of a counter or gauge (with the given label value, if any).
func (h *testHub) metric(name, label string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	h.t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

// checkInvariants verifies the hub's cross-links and counters.
func (h *Hub) checkInvariants() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	n := 0
	for sw := h.swarmHead; sw != nil; sw = sw.next {
		n++
		if h.swarms[sw.infoHash] != sw {
			return fmt.Errorf("swarm %q listed but not in the map", sw.infoHash)
		}
		if len(sw.members) == 0 {
			return fmt.Errorf("empty swarm %q kept", sw.infoHash)
		}
		completed := 0
		for i, ms := range sw.members {
			if ms.index != i || ms.swarm != sw {
				return fmt.Errorf("swarm %q member %d has index %d", sw.infoHash, i, ms.index)
			}
			if ms.completed {
				completed++
			}
			if h.peers[ms.peer.id] != ms.peer || ms.peer.find(sw) != ms {
				return fmt.Errorf("swarm %q member %q not linked to its peer", sw.infoHash, ms.peer.id)
			}
		}
		if completed != sw.completed {
			return fmt.Errorf("swarm %q completed %d, counted %d", sw.infoHash, sw.completed, completed)
		}
		total += len(sw.members)
	}
	if n != len(h.swarms) || int64(n) != h.numSwarms.Load() {
		return fmt.Errorf("%d swarms listed, %d in map, gauge %d", n, len(h.swarms), h.numSwarms.Load())
	}
	if int64(total) != h.numPeers.Load() {
		return fmt.Errorf("peer gauge %d, swarm sizes sum to %d", h.numPeers.Load(), total)
	}
	np := 0
	for p := h.peerHead; p != nil; p = p.next {
		np++
		if len(p.memberships) == 0 {
			return fmt.Errorf("peer %q without swarms kept", p.id)
		}
		found := false
		for q := p.sess.peers; q != nil; q = q.sessNext {
			if q == p {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("peer %q not in its session's list", p.id)
		}
	}
	if np != len(h.peers) {
		return fmt.Errorf("%d peers listed, %d in map", np, len(h.peers))
	}
	return nil
}

func TestHubConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      HubConfig
		want    HubConfig
		errKey  string
		errText string
	}{
		{"defaults", HubConfig{}, HubConfig{MaxOffers: 20, AnnounceInterval: 20, Expiry: "announce"}, "", ""},
		{"sample config", HubConfig{MaxOffers: 20, AnnounceInterval: 120}, HubConfig{MaxOffers: 20, AnnounceInterval: 120, Expiry: "announce"}, "", ""},
		{"expiry connection", HubConfig{Expiry: "connection"}, HubConfig{MaxOffers: 20, AnnounceInterval: 20, Expiry: "connection"}, "", ""},
		{"bad expiry", HubConfig{Expiry: "never"}, HubConfig{}, "tracker.expiry", "must be"},
		{"negative offers", HubConfig{MaxOffers: -1}, HubConfig{}, "tracker.maxOffers", "must be between"},
		{"huge offers", HubConfig{MaxOffers: 1 << 20}, HubConfig{}, "tracker.maxOffers", "must be between"},
		{"negative interval", HubConfig{AnnounceInterval: -5}, HubConfig{}, "tracker.announceInterval", "seconds"},
		{"huge interval", HubConfig{AnnounceInterval: 1 << 40}, HubConfig{}, "tracker.announceInterval", "seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			err := c.Validate()
			if tt.errKey == "" {
				if err != nil || c != tt.want {
					t.Fatalf("got %+v, %v; want %+v", c, err, tt.want)
				}
				return
			}
			var je *jsonconf.Error
			if !errors.As(err, &je) || je.Key != tt.errKey || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("error %v, want key %s", err, tt.errKey)
			}
			if _, err := NewHub(tt.in, nil, nil); err == nil {
				t.Fatal("NewHub accepted an invalid config")
			}
		})
	}
}

func TestNewHubRegistersMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewHub(HubConfig{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	// A second hub on the same registry must fail cleanly, not panic.
	if _, err := NewHub(HubConfig{}, reg, nil); err == nil {
		t.Fatal("duplicate registration not reported")
	}
}

func TestStats(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	a.send(`{"action":"announce","event":"started","info_hash":"\u00ff\u0001ih2","peer_id":"pa"}`)
	a.send(`{"action":"announce","event":"started","info_hash":"ih1","peer_id":"pa"}`)
	b.send(`{"action":"announce","event":"started","info_hash":"ih1","peer_id":"pb"}`)
	st := h.Stats(false)
	if st.Torrents != 2 || st.Peers != 3 || st.PerInfoHash != nil {
		t.Fatalf("stats %+v", st)
	}
	st = h.Stats(true)
	want := []SwarmCount{{"ff01696832", 1}, {"696831", 2}}
	if fmt.Sprint(st.PerInfoHash) != fmt.Sprint(want) {
		t.Fatalf("per info_hash %v, want %v", st.PerInfoHash, want)
	}
	if h.metric("swarmcast_tracker_swarms", "") != 2 || h.metric("swarmcast_tracker_peers", "") != 3 {
		t.Fatal("gauges disagree with Stats")
	}
	h.Disconnect(a.sess)
	if st := h.Stats(true); st.Torrents != 1 || st.Peers != 1 || len(st.PerInfoHash) != 1 {
		t.Fatalf("after disconnect: %+v", st)
	}
}
