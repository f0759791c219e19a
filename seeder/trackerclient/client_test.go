package trackerclient

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

type fakeHandler struct {
	mu      sync.Mutex
	answers []string
	offered int
}

func (h *fakeHandler) Offers(ctx context.Context, n int) []Offer {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Offer
	for range n {
		h.offered++
		out = append(out, Offer{ID: "offer-id-0123456789a", SDP: "v=0 offer"})
	}
	return out
}

func (h *fakeHandler) OnOffer(ctx context.Context, from, id, sdp string) (string, error) {
	return "v=0 answer to " + sdp, nil
}

func (h *fakeHandler) OnAnswer(from, id, sdp string) {
	h.mu.Lock()
	h.answers = append(h.answers, from+" "+id+" "+sdp)
	h.mu.Unlock()
}

// fakeTracker accepts WebSocket connections on 127.0.0.1, records every message and lets
// the test script replies. Each connection is closed after closeAfter messages (0: never).
type fakeTracker struct {
	t          *testing.T
	msgs       chan map[string]any
	conns      chan *websocket.Conn
	closeAfter int
}

func startFake(t *testing.T, closeAfter int) (*fakeTracker, string) {
	t.Helper()
	ft := &fakeTracker{t: t, msgs: make(chan map[string]any, 100), conns: make(chan *websocket.Conn, 10), closeAfter: closeAfter}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ft.conns <- ws
		for n := 1; ; n++ {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			ft.msgs <- m
			if ft.closeAfter > 0 && n >= ft.closeAfter {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return ft, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func (ft *fakeTracker) next() map[string]any {
	ft.t.Helper()
	select {
	case m := <-ft.msgs:
		return m
	case <-time.After(10 * time.Second):
		ft.t.Fatal("no message from the client")
	}
	return nil
}

func run(t *testing.T, cfg Config, h Handler) *Client {
	t.Helper()
	c, err := New(cfg, h, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func TestAnnounceOfferAnswer(t *testing.T) {
	ft, url := startFake(t, 0)
	h := &fakeHandler{}
	const ih = "L2uYwMcHhsstZuLv8ZqU"
	run(t, Config{URL: url, InfoHash: ih, PeerID: "-PM0203-abcdefghijkl", Offers: 2, MinInterval: 50 * time.Millisecond}, h)
	m := ft.next()
	if m["action"] != "announce" || m["info_hash"] != ih || m["peer_id"] != "-PM0203-abcdefghijkl" || m["event"] != "started" ||
		m["numwant"] != 2.0 || len(m["offers"].([]any)) != 2 || m["left"] != 0.0 {
		t.Fatalf("first announce %v", m)
	}
	ws := <-ft.conns
	// The tracker's interval drives re-announces (clamped by MinInterval); they carry no event.
	send := func(v string) {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"action":"announce","interval":0.1,"info_hash":"` + ih + `","complete":1,"incomplete":0}`)
	if m := ft.next(); m["event"] != nil || m["info_hash"] != ih {
		t.Fatalf("re-announce %v", m)
	}
	// A relayed offer is answered to its sender with the offer_id echoed.
	send(`{"action":"announce","info_hash":"` + ih + `","peer_id":"-PM0203-browserxxxxx","offer_id":"oid","offer":{"type":"offer","sdp":"X"}}`)
	for {
		m := ft.next()
		if m["answer"] == nil {
			continue // a periodic announce
		}
		ans := m["answer"].(map[string]any)
		if m["to_peer_id"] != "-PM0203-browserxxxxx" || m["offer_id"] != "oid" || ans["sdp"] != "v=0 answer to X" || ans["type"] != "answer" {
			t.Fatalf("answer %v", m)
		}
		break
	}
	// Messages for other swarms and from ourselves are ignored; answers reach the handler.
	send(`{"action":"announce","info_hash":"other","peer_id":"p","offer_id":"o","answer":{"type":"answer","sdp":"no"}}`)
	send(`{"action":"announce","info_hash":"` + ih + `","peer_id":"-PM0203-browserxxxxx","offer_id":"o1","answer":{"type":"answer","sdp":"yes"}}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		got := strings.Join(h.answers, ";")
		h.mu.Unlock()
		if got == "-PM0203-browserxxxxx o1 yes" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answers %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReconnect(t *testing.T) {
	ft, url := startFake(t, 1) // the tracker drops every connection after one message
	c := run(t, Config{URL: url, InfoHash: "ih", PeerID: "-PM0203-abcdefghijkl", Offers: 1,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond}, &fakeHandler{})
	for i := range 3 {
		if m := ft.next(); m["event"] != "started" {
			t.Fatalf("announce %d after reconnect: %v", i, m)
		}
	}
	if st := c.Stats(); st.Connects < 3 || st.Announces < 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{URL: "ws://x"}, &fakeHandler{}, nil); err == nil {
		t.Fatal("accepted a config without info_hash and peer_id")
	}
}
