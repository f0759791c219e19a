package loadtest

import (
	"encoding/json"
	"testing"
	"time"
)

// newTestClient is a client whose frames go to c.out only (no socket).
func newTestClient(t *testing.T, deflate bool) *client {
	t.Helper()
	cfg, err := Preset("light")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Offers, cfg.Numwant, cfg.Deflate = 2, 2, deflate
	tpl, err := buildTemplates(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rn := &runner{cfg: &cfg, tpl: tpl, base: time.Now(), peerPrefix: "-LTtest", offerPrefix: "otest"}
	return newClient(rn, 7, &wsConn{fd: -1})
}

// sentJSON decodes the frames in c.out (plain templates) and clears it.
func sentJSON(t *testing.T, c *client) []map[string]any {
	t.Helper()
	var msgs []map[string]any
	b := c.out
	for len(b) > 0 {
		f := b
		n, h := int(f[1]&0x7F), 2
		if n == 126 {
			n, h = int(f[2])<<8|int(f[3]), 4
		}
		h += 4
		_, payload := frameParts(t, f[:h+n])
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("sent frame is not JSON: %v: %s", err, payload)
		}
		msgs = append(msgs, m)
		b = b[h+n:]
	}
	c.out = c.out[:0]
	return msgs
}

func TestClientRTTMatching(t *testing.T) {
	c := newTestClient(t, false)
	c.announce(c.rn.tpl.announceStarted)
	time.Sleep(20 * time.Millisecond)
	c.announce(c.rn.tpl.announce)
	reply := []byte(`{"action":"announce","interval":120,"info_hash":"x","complete":0,"incomplete":1}`)
	c.handle(reply, true)
	s := c.rn.rtt.Snapshot()
	if s.Count() != 1 || s.Quantile(0.5) < 19*time.Millisecond { // 20 ms, less the bucket width
		t.Fatalf("first reply: %d samples, p50 %v; want one sample ≥ 20ms (matched to the older announce)", s.Count(), s.Quantile(0.5))
	}
	// A failure answers the second announce without an RTT sample.
	c.handle([]byte(`{"failure reason":"nope","action":"announce"}`), true)
	c.handle(reply, true) // nothing pending: counted, not timed
	if n := c.rn.rtt.Snapshot().Count(); n != 1 {
		t.Errorf("%d RTT samples, want 1", n)
	}
	if c.rn.ctr.RecvReplies.Load() != 2 || c.rn.ctr.RecvFailures.Load() != 1 || c.rn.ctr.SentAnnounces.Load() != 2 {
		t.Errorf("counters: %+v", c.rn.ctr.Snap())
	}
	msgs := sentJSON(t, c)
	if len(msgs) != 2 || msgs[0]["event"] != "started" || msgs[1]["event"] != nil {
		t.Fatalf("sent %v", msgs)
	}
	// Every offer gets a fresh offer_id.
	ids := map[any]bool{}
	for _, m := range msgs {
		for _, o := range m["offers"].([]any) {
			ids[o.(map[string]any)["offer_id"]] = true
		}
	}
	if len(ids) != 4 {
		t.Errorf("%d distinct offer ids in 2 announces of 2 offers", len(ids))
	}
}

func TestClientAnswersOffers(t *testing.T) {
	tests := []struct {
		name               string
		offer              string
		ih, to, oid        string
		wantProtocolErrors int64
		wantAnswers        int64
	}{
		{"plain ids", `{"action":"announce","info_hash":"lt-swarm000000000009","offer_id":"o0000000000000000042","peer_id":"-LT00000000000000099","offer":{"type":"offer","sdp":"x"}}`,
			"lt-swarm000000000009", "-LT00000000000000099", "o0000000000000000042", 0, 1},
		{"escaped binary ids take the slow path", `{"action":"announce","offer":{"type":"offer","sdp":"x"},"offer_id":"\u00ff\u0001oid","peer_id":"p\"q","info_hash":"short"}`,
			"short", "p\"q", "\u00ff\u0001oid", 0, 1},
		{"no peer_id cannot be answered", `{"action":"announce","info_hash":"h","offer_id":"o","offer":{"type":"offer","sdp":"x"}}`,
			"", "", "", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, false)
			ownIH := string(c.ih[:])
			m := c.handle([]byte(tt.offer), true)
			if m.Kind != KindOffer {
				t.Fatalf("kind %v", m.Kind)
			}
			if got := c.rn.ctr.ProtocolErrors.Load(); got != tt.wantProtocolErrors {
				t.Errorf("protocol errors %d, want %d", got, tt.wantProtocolErrors)
			}
			if got := c.rn.ctr.SentAnswers.Load(); got != tt.wantAnswers {
				t.Fatalf("answers %d, want %d", got, tt.wantAnswers)
			}
			if string(c.ih[:]) != ownIH {
				t.Errorf("answering changed the client's own info_hash")
			}
			if tt.wantAnswers == 0 {
				return
			}
			msgs := sentJSON(t, c)
			if len(msgs) != 1 {
				t.Fatalf("sent %d messages", len(msgs))
			}
			a := msgs[0]
			if a["info_hash"] != tt.ih || a["to_peer_id"] != tt.to || a["offer_id"] != tt.oid || a["peer_id"] != string(c.pid[:]) {
				t.Errorf("answer ids: %v", a)
			}
			ans, _ := a["answer"].(map[string]any)
			if ans["type"] != "answer" || len(ans["sdp"].(string)) != len(realisticSDP) {
				t.Errorf("answer body: %v", ans)
			}
		})
	}
}
