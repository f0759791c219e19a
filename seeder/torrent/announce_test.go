package torrent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/gorilla/websocket"
)

// announceRecorder is a loopback WebSocket endpoint for the unit tests that records the
// announces the seeder sends (the interop tests use a real tracker). It never answers, so
// the seeder's offers stay outstanding until their torrents are dropped.
type announceRecorder struct {
	srv *httptest.Server
	url string

	wg        sync.WaitGroup // the connection handlers
	mu        sync.Mutex
	closed    bool
	live      map[*websocket.Conn]bool
	announces []recordedAnnounce
	conns     int
	bad       []string // malformed messages, reported at cleanup
}

type recordedAnnounce struct {
	InfoHash metainfo.Hash
	Event    string
	Offers   int
}

func newAnnounceRecorder(t testing.TB) *announceRecorder {
	t.Helper()
	r := &announceRecorder{live: make(map[*websocket.Conn]bool)}
	up := websocket.Upgrader{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		defer c.Close()
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		r.wg.Add(1)
		defer r.wg.Done()
		r.conns++
		r.live[c] = true
		r.mu.Unlock()
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			var a struct {
				Action   string            `json:"action"`
				InfoHash string            `json:"info_hash"`
				Event    string            `json:"event"`
				Offers   []json.RawMessage `json:"offers"`
			}
			if err := json.Unmarshal(msg, &a); err != nil || a.Action != "announce" {
				r.report(fmt.Sprintf("not an announce: %q (%v)", msg, err))
				continue
			}
			// WebTorrent byte strings carry one byte per rune (U+0000..U+00FF).
			var ih metainfo.Hash
			rs := []rune(a.InfoHash)
			if len(rs) != len(ih) {
				r.report(fmt.Sprintf("announce with a %d-rune info_hash", len(rs)))
				continue
			}
			for i, c := range rs {
				ih[i] = byte(c)
			}
			r.mu.Lock()
			r.announces = append(r.announces, recordedAnnounce{InfoHash: ih, Event: a.Event, Offers: len(a.Offers)})
			r.mu.Unlock()
		}
	}))
	r.url = "ws" + strings.TrimPrefix(r.srv.URL, "http")
	t.Cleanup(func() {
		r.mu.Lock()
		r.closed = true
		for c := range r.live {
			c.Close()
		}
		bad := r.bad
		r.mu.Unlock()
		r.wg.Wait()
		r.srv.Close()
		for _, b := range bad {
			t.Errorf("tracker: %s", b)
		}
	})
	return r
}

func (r *announceRecorder) report(msg string) {
	r.mu.Lock()
	r.bad = append(r.bad, msg)
	r.mu.Unlock()
}

// announced returns the announces recorded so far for ih.
func (r *announceRecorder) announced(ih metainfo.Hash) []recordedAnnounce {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordedAnnounce
	for _, a := range r.announces {
		if a.InfoHash == ih {
			out = append(out, a)
		}
	}
	return out
}

func (r *announceRecorder) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}
