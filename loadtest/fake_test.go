package loadtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeTracker is a minimal WebTorrent relay for the generator's own tests: it answers
// every announce with a reply, relays each offer to a different member of the swarm
// (up to numwant), and forwards answers to to_peer_id. It counts what it saw so tests can
// compare the generator's view with the server's.
type fakeTracker struct {
	URL string

	mu     sync.Mutex
	swarms map[string][]*fakePeer
	peers  map[string]*fakePeer

	announces, answers, frames atomic.Int64
	deflated                   atomic.Int64 // connections that negotiated permessage-deflate
	remotes                    sync.Map     // remote IP → struct{}
}

type fakePeer struct {
	id  string
	mu  sync.Mutex
	ws  *websocket.Conn
	hub *fakeTracker
}

func (p *fakePeer) send(v any) {
	b, _ := json.Marshal(v)
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ws.WriteMessage(websocket.TextMessage, b)
}

func startFakeTracker(t *testing.T) *fakeTracker { return startFakeTrackerOpts(t, false) }

// selfSigned returns a throw-away certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func startFakeTrackerOpts(t *testing.T, useTLS bool) *fakeTracker {
	t.Helper()
	ft := &fakeTracker{swarms: map[string][]*fakePeer{}, peers: map[string]*fakePeer{}}
	up := websocket.Upgrader{EnableCompression: true, CheckOrigin: func(*http.Request) bool { return true }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		conns  sync.WaitGroup
		connMu sync.Mutex // orders conns.Add against the cleanup's Wait
		closed bool       // guarded by connMu
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ft.remotes.Store(host, struct{}{})
		}
		if r.Header.Get("Sec-WebSocket-Extensions") != "" {
			ft.deflated.Add(1)
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		// Like wt-tracker: inflate what clients send, never compress replies.
		ws.EnableWriteCompression(false)
		defer ws.Close()
		connMu.Lock()
		if closed {
			connMu.Unlock()
			return
		}
		conns.Add(1)
		connMu.Unlock()
		defer conns.Done()
		ft.serve(ws)
	})}
	scheme := "ws"
	if useTLS {
		scheme = "wss"
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		connMu.Lock()
		closed = true
		connMu.Unlock()
		conns.Wait()
	})
	ft.URL = scheme + "://" + ln.Addr().String() + "/announce"
	return ft
}

type fakeMsg struct {
	Action   string          `json:"action"`
	InfoHash string          `json:"info_hash"`
	PeerID   string          `json:"peer_id"`
	Numwant  *int            `json:"numwant"`
	Offers   []fakeOffer     `json:"offers"`
	Answer   json.RawMessage `json:"answer"`
	ToPeerID *string         `json:"to_peer_id"`
	OfferID  *string         `json:"offer_id"`
}

type fakeOffer struct {
	Offer   json.RawMessage `json:"offer"`
	OfferID string          `json:"offer_id"`
}

func (ft *fakeTracker) serve(ws *websocket.Conn) {
	var mine []*fakePeer
	defer func() {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		for _, p := range mine {
			delete(ft.peers, p.id)
			for ih, list := range ft.swarms {
				for i, q := range list {
					if q == p {
						ft.swarms[ih] = append(list[:i], list[i+1:]...)
						break
					}
				}
			}
		}
	}()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		ft.frames.Add(1)
		var m fakeMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Action != "announce" {
			return
		}
		if len(m.Answer) > 0 && string(m.Answer) != "null" {
			ft.answers.Add(1)
			ft.mu.Lock()
			to := ft.peers[*m.ToPeerID]
			ft.mu.Unlock()
			if to != nil {
				to.send(map[string]any{"action": "announce", "info_hash": m.InfoHash, "peer_id": m.PeerID,
					"answer": m.Answer, "offer_id": m.OfferID})
			}
			continue
		}
		ft.announces.Add(1)
		ft.mu.Lock()
		me := ft.peers[m.PeerID]
		if me == nil {
			me = &fakePeer{id: m.PeerID, ws: ws, hub: ft}
			ft.peers[m.PeerID] = me
			mine = append(mine, me)
		}
		// The generator uses one peer_id per connection, so me.mu serialises the
		// connection's writes.
		joined := false
		for _, q := range ft.swarms[m.InfoHash] {
			joined = joined || q == me
		}
		if !joined {
			ft.swarms[m.InfoHash] = append(ft.swarms[m.InfoHash], me)
		}
		var others []*fakePeer
		for _, q := range ft.swarms[m.InfoHash] {
			if q != me {
				others = append(others, q)
			}
		}
		ft.mu.Unlock()
		reply, _ := json.Marshal(map[string]any{"action": "announce", "interval": 120, "info_hash": m.InfoHash, "complete": 0, "incomplete": len(others) + 1})
		me.mu.Lock()
		_ = ws.WriteMessage(websocket.TextMessage, reply)
		me.mu.Unlock()
		n := len(m.Offers)
		if m.Numwant != nil && *m.Numwant < n {
			n = *m.Numwant
		}
		for i := 0; i < n && i < len(others); i++ {
			others[i].send(map[string]any{"action": "announce", "info_hash": m.InfoHash, "offer_id": m.Offers[i].OfferID,
				"peer_id": m.PeerID, "offer": m.Offers[i].Offer})
		}
	}
}
