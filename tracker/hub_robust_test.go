package tracker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// realFrames returns the client frames in wire/testdata/frames.jsonl (P2P Media Loader,
// WebTorrent, anacrolix, libtorrent, aquatic load tester).
func realFrames(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("wire", "testdata", "frames.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var frames [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 && line[0] != '#' {
			frames = append(frames, bytes.Clone(line))
		}
	}
	return frames
}

// TestNeverPanics: hostile frames get a ClientError for their own connection (or are
// handled), and nobody else's state changes. wt-tracker exits on the first one.
func TestNeverPanics(t *testing.T) {
	bigOffers := `{"action":"announce","info_hash":"ih","peer_id":"me","numwant":1e9,"offers":[` +
		strings.Repeat(`{"offer":{"sdp":"x"},"offer_id":"y"},`, 1800) + `{"offer":{}}]}`
	tests := []struct {
		name   string
		frame  string
		reason CloseReason // ReasonUnknown: no error
	}{
		{"null", `null`, ReasonInvalidJSON},
		{"array", `[{"action":"announce"}]`, ReasonInvalidJSON},
		{"number", `12`, ReasonInvalidJSON},
		{"string", `"x"`, ReasonInvalidJSON},
		{"empty", ``, ReasonInvalidJSON},
		{"garbage", "\xff\xfe{", ReasonInvalidJSON},
		{"deep nesting", `{"a":` + strings.Repeat("[", 100000), ReasonInvalidJSON},
		{"deep objects", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000), ReasonInvalidJSON},
		{"invalid utf-8 in sdp", "{\"action\":\"announce\",\"info_hash\":\"ih\",\"peer_id\":\"me\",\"numwant\":1,\"offers\":[{\"offer\":{\"sdp\":\"\xff\xc0\"}}]}", ReasonUnknown},
		{"64 KiB of offers", bigOffers, ReasonUnknown},
		{"action object", `{"action":{"x":1}}`, ReasonProtocol},
		{"huge numbers", `{"action":"announce","info_hash":"ih","peer_id":"me","numwant":1e308,"left":-1e308,"offers":[]}`, ReasonUnknown},
		{"info_hash object", `{"action":"announce","info_hash":{},"peer_id":"me"}`, ReasonProtocol},
		{"scrape info_hash object", `{"action":"scrape","info_hash":{"a":1}}`, ReasonUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			other := h.client()
			other.send(announce("ih", "other", ""))
			other.out.take()
			c := h.client()
			err := h.Handle(c.sess, []byte(tt.frame))
			if tt.reason == ReasonUnknown {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			} else {
				var ce *ClientError
				if !errors.As(err, &ce) || ce.Reason != tt.reason || ce.Msg == "" {
					t.Fatalf("error %v, want reason %v", err, tt.reason)
				}
				h.Disconnect(c.sess)
			}
			if st := h.Stats(false); st.Peers < 1 {
				t.Fatalf("the other connection's peer is gone: %+v", st)
			}
		})
	}
}

// TestRealClientFrames replays the recorded client frames through one hub: none may fail.
func TestRealClientFrames(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	cs := []*client{h.client(), h.client(), h.client()}
	for i, fr := range realFrames(t) {
		if err := h.Handle(cs[i%len(cs)].sess, fr); err != nil {
			t.Fatalf("frame %d %.80s…: %v", i, fr, err)
		}
	}
	if h.metric("swarmcast_tracker_messages_in_total", "invalid") != 0 {
		t.Fatal("a real frame counted as invalid")
	}
}

// TestConcurrentSessions runs many sessions in parallel (for the race detector) and
// checks the hub is empty once all have disconnected.
func TestConcurrentSessions(t *testing.T) {
	h := newTestHub(t, HubConfig{MaxOffers: 5})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			var sessions []*Session
			for range 300 {
				if len(sessions) == 0 || rng.IntN(10) == 0 {
					sessions = append(sessions, h.NewSession(&fakeSender{}))
				}
				s := sessions[rng.IntN(len(sessions))]
				ih := fmt.Sprintf("ih%d", rng.IntN(4))
				pid := fmt.Sprintf("p%d", rng.IntN(40))
				var frame string
				switch rng.IntN(6) {
				case 0:
					frame = announce(ih, pid, `,"event":"stopped"`)
				case 1:
					frame = fmt.Sprintf(`{"action":"announce","info_hash":"%s","peer_id":"%s","to_peer_id":"p%d","answer":{}}`, ih, pid, rng.IntN(40))
				case 2:
					frame = `{"action":"scrape"}`
				default:
					frame = announce(ih, pid, `,"numwant":3,"offers":`+offersJSON(3))
				}
				if err := h.Handle(s, []byte(frame)); err != nil {
					t.Errorf("%s: %v", frame, err)
					return
				}
				if rng.IntN(20) == 0 {
					h.Stats(true)
				}
			}
			for _, s := range sessions {
				h.Disconnect(s)
			}
		}()
	}
	wg.Wait()
	if st := h.Stats(false); st.Peers != 0 || st.Torrents != 0 {
		t.Fatalf("state left after every session disconnected: %+v", st)
	}
}

// FuzzHubHandle feeds frame sequences (one frame per line) from three connections into a
// hub: Handle never panics, errors are ClientErrors, the hub's cross-links stay
// consistent, and disconnecting everybody empties it.
func FuzzHubHandle(f *testing.F) {
	frames := realFrames(f)
	f.Add(bytes.Join(frames, []byte("\n")))
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Add([]byte("null\n{\"action\":\"announce\",\"info_hash\":\"a\",\"peer_id\":\"p\"}\n{\"action\":\"announce\",\"event\":\"stopped\",\"info_hash\":\"a\",\"peer_id\":\"p\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := NewHub(HubConfig{MaxOffers: 3}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sessions [3]*Session
		for i := range sessions {
			sessions[i] = h.NewSession(&fakeSender{})
		}
		for i, fr := range bytes.Split(data, []byte("\n")) {
			if i >= 64 {
				break
			}
			k := i % len(sessions)
			err := h.Handle(sessions[k], fr)
			if err == nil {
				continue
			}
			var ce *ClientError
			if !errors.As(err, &ce) || ce.Msg == "" || (ce.Reason != ReasonInvalidJSON && ce.Reason != ReasonProtocol) {
				t.Fatalf("frame %q: error %v", fr, err)
			}
			h.Disconnect(sessions[k]) // as the server does when it closes the connection
			sessions[k] = h.NewSession(&fakeSender{})
		}
		if err := h.checkInvariants(); err != nil {
			t.Fatal(err)
		}
		h.expire(h.now()) // nothing is old enough; exercises the sweep
		for _, s := range sessions {
			h.Disconnect(s)
		}
		if st := h.Stats(true); st.Peers != 0 || st.Torrents != 0 || len(st.PerInfoHash) != 0 {
			t.Fatalf("state left after all disconnected: %+v", st)
		}
		if err := h.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
