package tracker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func reply(ih string, complete, incomplete int) string {
	return fmt.Sprintf(`{"action":"announce","interval":20,"info_hash":"%s","complete":%d,"incomplete":%d}`, ih, complete, incomplete)
}

func offerTo(ih, from, offerID, sdp string) string {
	return fmt.Sprintf(`{"action":"announce","info_hash":"%s","offer_id":"%s","peer_id":"%s","offer":{"type":"offer","sdp":"%s"}}`, ih, offerID, from, sdp)
}

// offersJSON builds an offers array of n items with offer_ids o0…o(n-1) and sdps s0….
func offersJSON(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"offer":{"type":"offer","sdp":"s%d"},"offer_id":"o%d"}`, i, i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func announce(ih, peerID, extra string) string {
	return fmt.Sprintf(`{"action":"announce","info_hash":"%s","peer_id":"%s"%s}`, ih, peerID, extra)
}

func TestAnnounceGolden(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	// A WebTorrent-style first announce: binary ids (bytes ≥ 0x80, control bytes).
	ih := `\u0012\u00ab\u00cd\u00ef`
	ihOut := "\\u0012\u00ab\u00cd\u00ef"
	a.send(`{"numwant":5,"uploaded":0,"downloaded":0,"left":10,"event":"started","action":"announce","info_hash":"` + ih + `","peer_id":"A\u00ff","offers":` + offersJSON(5) + `}`)
	a.expect(reply(ihOut, 0, 1)) // alone: no offers relayed
	b.send(`{"numwant":5,"event":"started","action":"announce","info_hash":"` + ih + `","peer_id":"B","offers":` + offersJSON(5) + `}`)
	b.expect(reply(ihOut, 0, 2))
	a.expect(offerTo(ihOut, "B", "o0", "s0"))
	// Extra members of offer items and offers are dropped; "type" is forced.
	b.send(announce(ih, "B", `,"numwant":1,"offers":[{"offer":{"type":"bogus","sdp":"x","extra":1},"offer_id":"z","more":2}]`))
	b.expect(reply(ihOut, 0, 2))
	a.expect(offerTo(ihOut, "B", "z", "x"))
	// A regular announce without offers: reply only.
	a.send(announce(ih, "A\u00ff", ``))
	a.expect(reply(ihOut, 0, 2))
	b.expect()
}

func TestAnnounceOfferCount(t *testing.T) {
	tests := []struct {
		name      string
		maxOffers int
		others    int
		extra     string
		want      int
	}{
		{"numwant limits", 20, 5, `,"numwant":2,"offers":` + offersJSON(5), 2},
		{"offers limit", 20, 5, `,"numwant":10,"offers":` + offersJSON(3), 3},
		{"others limit", 20, 2, `,"numwant":10,"offers":` + offersJSON(5), 2},
		{"maxOffers limits", 2, 5, `,"numwant":10,"offers":` + offersJSON(5), 2},
		{"numwant 10.0", 20, 5, `,"numwant":4.0,"offers":` + offersJSON(5), 4},
		{"numwant 1e1", 20, 12, `,"numwant":1e1,"offers":` + offersJSON(12), 10},
		{"numwant huge", 20, 3, `,"numwant":1e300,"offers":` + offersJSON(5), 3},
		{"numwant string", 20, 5, `,"numwant":"10","offers":` + offersJSON(5), 0},
		{"numwant null", 20, 5, `,"numwant":null,"offers":` + offersJSON(5), 0},
		{"numwant fraction", 20, 5, `,"numwant":2.5,"offers":` + offersJSON(5), 0},
		{"numwant absent", 20, 5, `,"offers":` + offersJSON(5), 0},
		{"numwant negative", 20, 5, `,"numwant":-3,"offers":` + offersJSON(5), 0},
		{"numwant zero", 20, 5, `,"numwant":0,"offers":` + offersJSON(5), 0},
		{"offers absent", 20, 5, `,"numwant":5`, 0},
		{"offers null (lenient)", 20, 5, `,"numwant":5,"offers":null`, 0},
		{"offers empty", 20, 5, `,"numwant":5,"offers":[]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{MaxOffers: tt.maxOffers})
			others := make([]*client, tt.others)
			for i := range others {
				others[i] = h.client()
				others[i].send(announce("ih", fmt.Sprintf("p%d", i), `,"event":"started"`))
			}
			for _, o := range others {
				o.out.take()
			}
			me := h.client()
			me.send(announce("ih", "me", `,"event":"started"`+tt.extra))
			me.expect(reply("ih", 0, tt.others+1))
			got := 0
			seen := map[string]bool{}
			for _, o := range others {
				fr := o.out.take()
				if len(fr) > 1 {
					t.Fatalf("a peer got %d offers from one announce", len(fr))
				}
				for _, f := range fr {
					if seen[f] {
						t.Fatalf("offer %s relayed twice", f)
					}
					seen[f] = true
					got++
				}
			}
			if got != tt.want {
				t.Fatalf("%d offers relayed, want %d", got, tt.want)
			}
			if v := h.metric("swarmcast_tracker_offers_relayed_total", ""); int(v) != tt.want {
				t.Fatalf("offers_relayed_total %v, want %d", v, tt.want)
			}
			// Offers are consumed in order: o0…o(n-1).
			for i := range tt.want {
				if !strings.Contains(strings.Join(keys(seen), " "), fmt.Sprintf(`"offer_id":"o%d"`, i)) {
					t.Fatalf("offer o%d not relayed: %v", i, keys(seen))
				}
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFanOutFollowsSwarmOrder pins the swarm array order, including wt-tracker's
// swap-remove: when there is an offer for every other member, member i (in array order,
// skipping the announcer) gets offers[i].
func TestFanOutFollowsSwarmOrder(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	cs := map[string]*client{}
	for _, id := range []string{"A", "B", "C", "D"} {
		cs[id] = h.client()
		cs[id].send(announce("ih", id, `,"event":"started"`))
	}
	cs["B"].send(announce("ih", "B", `,"event":"stopped"`)) // [A B C D] → [A D C]
	cs["E"] = h.client()
	cs["E"].send(announce("ih", "E", `,"event":"started","numwant":3,"offers":`+offersJSON(3))) // [A D C E]
	for _, c := range cs {
		c.out.take()
	}
	cs["C"].send(announce("ih", "C", `,"numwant":10,"offers":`+offersJSON(3)))
	cs["C"].expect(reply("ih", 0, 4))
	cs["A"].expect(offerTo("ih", "C", "o0", "s0"))
	cs["D"].expect(offerTo("ih", "C", "o1", "s1"))
	cs["E"].expect(offerTo("ih", "C", "o2", "s2"))
	cs["B"].expect()
}

// TestFanOutRandomWindow checks wt-tracker's random selection: a contiguous run of
// members (wrapping, skipping the announcer), offers in order along it, and a start that
// varies.
func TestFanOutRandomWindow(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	const n = 8
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = h.client()
		cs[i].send(announce("ih", fmt.Sprintf("p%d", i), `,"event":"started"`))
	}
	starts := map[int]bool{}
	for round := range 40 {
		for _, c := range cs {
			c.out.take()
		}
		sender := round % n
		cs[sender].send(announce("ih", fmt.Sprintf("p%d", sender), `,"numwant":3,"offers":`+offersJSON(3)))
		cs[sender].out.take()
		// Walk the ring from the first receiver of o0.
		first := -1
		for i, c := range cs {
			fr := c.out.take()
			if len(fr) == 1 && strings.Contains(fr[0], `"offer_id":"o0"`) {
				first = i
			}
			cs[i].out.frames = fr // put back for the walk below
		}
		if first < 0 {
			t.Fatal("o0 not relayed")
		}
		starts[first] = true
		idx := first
		for k := range 3 {
			if idx == sender {
				idx = (idx + 1) % n
			}
			fr := cs[idx].out.take()
			if len(fr) != 1 || !strings.Contains(fr[0], fmt.Sprintf(`"offer_id":"o%d"`, k)) {
				t.Fatalf("round %d: member %d got %q, want offer o%d (window from %d, sender %d)", round, idx, fr, k, first, sender)
			}
			idx = (idx + 1) % n
		}
		for i, c := range cs {
			if fr := c.out.take(); len(fr) != 0 {
				t.Fatalf("round %d: member %d outside the window got %q", round, i, fr)
			}
		}
	}
	if len(starts) < 3 {
		t.Fatalf("window start took only %d values in 40 rounds", len(starts))
	}
}

func TestCompletedIsSticky(t *testing.T) {
	tests := []struct {
		name     string
		first    string
		then     string
		complete int
	}{
		{"event completed", `,"event":"completed"`, `,"event":"started","left":5`, 1},
		{"left 0", `,"event":"started","left":0`, ``, 1},
		{"left -0", `,"left":-0`, ``, 1},
		{"left 0.0", `,"left":0.0`, `,"left":100`, 1},
		{"left string", `,"left":"0"`, ``, 0},
		{"left null (magnet)", `,"left":null`, ``, 0},
		{"completed later", `,"left":3`, `,"event":"completed"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			c := h.client()
			c.send(announce("ih", "p", tt.first))
			c.out.take()
			c.send(announce("ih", "p", tt.then))
			c.expect(reply("ih", tt.complete, 1-tt.complete))
		})
	}
}

// TestLenientEvents: events wt-tracker closes the socket on are regular announces here.
func TestLenientEvents(t *testing.T) {
	for _, ev := range []string{`"update"`, `"paused"`, `"empty"`, `"<regular>"`, `""`, `null`, `"Started"`} {
		t.Run(ev, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			other := h.client()
			other.send(announce("ih", "o", ""))
			other.out.take()
			c := h.client()
			c.send(announce("ih", "p", `,"event":`+ev+`,"numwant":1,"offers":`+offersJSON(1)))
			c.expect(reply("ih", 0, 2))
			other.expect(offerTo("ih", "p", "o0", "s0"))
		})
	}
	h := newTestHub(t, HubConfig{})
	c := h.client()
	for _, ev := range []string{`1`, `{}`, `["started"]`, `true`} {
		err := h.Handle(c.sess, []byte(announce("ih", "p", `,"event":`+ev)))
		var ce *ClientError
		if !errors.As(err, &ce) || ce.Reason != ReasonProtocol || ce.Msg != "unknown announce event" {
			t.Fatalf("event %s: %v", ev, err)
		}
	}
	c.expect()
}

// TestAquaticFrames: aquatic_ws_load_test sends "answer":null,"to_peer_id":null,
// "offer_id":null on announces and "offers":null on answers.
func TestAquaticFrames(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	a.send(`{"action":"announce","info_hash":"ih","peer_id":"A","event":"started","numwant":10,"left":50,"offers":` + offersJSON(10) + `,"answer":null,"to_peer_id":null,"offer_id":null}`)
	a.expect(reply("ih", 0, 1))
	b.send(`{"action":"announce","info_hash":"ih","peer_id":"B","event":"completed","numwant":10,"left":0,"offers":` + offersJSON(10) + `,"answer":null,"to_peer_id":null,"offer_id":null}`)
	b.expect(reply("ih", 1, 1))
	a.expect(offerTo("ih", "B", "o0", "s0"))
	a.send(`{"action":"announce","info_hash":"ih","peer_id":"A","numwant":0,"offers":null,"answer":{"type":"answer","sdp":"x"},"to_peer_id":"B","offer_id":"o0"}`)
	a.expect()
	b.expect(`{"action":"announce","info_hash":"ih","peer_id":"A","numwant":0,"offers":null,"answer":{"type":"answer","sdp":"x"},"offer_id":"o0"}`)
	// Event absent and answer null: a regular announce here (wt-tracker would close).
	a.send(`{"action":"announce","info_hash":"ih","peer_id":"A","answer":null,"to_peer_id":null}`)
	a.expect(reply("ih", 1, 1))
}

// TestOffersValidatedBeforeSending: a bad offer item that the fan-out would reach closes
// the connection before anything is sent (wt-tracker sends the reply and part of the
// offers first); one the fan-out would not reach is ignored, as in wt-tracker.
func TestOffersValidatedBeforeSending(t *testing.T) {
	tests := []struct {
		name   string
		offers string
		numwan int
		msg    string // "" = accepted
	}{
		{"bad item reached", `[{"offer":{"sdp":"a"}},5,{"offer":{}}]`, 3, "announce: wrong offer item format"},
		{"bad offer field reached", `[{"offer":{"sdp":"a"}},{"offer":"x"}]`, 3, "announce: wrong offer item field format"},
		{"array item", `[[]]`, 3, "announce: wrong offer item field format"},
		{"offers not an array", `{"offer":{}}`, 3, "announce: offers field is not an array"},
		{"offers string with bad numwant", `"x"`, -1, "announce: offers field is not an array"},
		{"bad item beyond numwant", `[{"offer":{"sdp":"a"}},5]`, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			others := []*client{h.client(), h.client(), h.client()}
			for i, o := range others {
				o.send(announce("ih", fmt.Sprint(i), ""))
			}
			for _, o := range others {
				o.out.take()
			}
			c := h.client()
			numwant := ""
			if tt.numwan >= 0 {
				numwant = fmt.Sprintf(`,"numwant":%d`, tt.numwan)
			}
			err := h.Handle(c.sess, []byte(announce("ih", "me", numwant+`,"offers":`+tt.offers)))
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.out.take()) != 1 {
					t.Fatal("no reply")
				}
				return
			}
			var ce *ClientError
			if !errors.As(err, &ce) || ce.Reason != ReasonProtocol || ce.Msg != tt.msg {
				t.Fatalf("error %v, want %q", err, tt.msg)
			}
			c.expect()
			for _, o := range others {
				o.expect()
			}
			// The server closes the connection; Disconnect removes the announcer again.
			h.Disconnect(c.sess)
			if st := h.Stats(false); st.Peers != 3 {
				t.Fatalf("peers after disconnect %d, want 3", st.Peers)
			}
		})
	}
}

// TestOffersNotCheckedWhenAlone: wt-tracker only looks at offers when someone can get one.
func TestOffersNotCheckedWhenAlone(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	c := h.client()
	c.send(announce("ih", "me", `,"numwant":5,"offers":"garbage"`))
	c.expect(reply("ih", 0, 1))
}

func TestAnnounceIDErrors(t *testing.T) {
	long := strings.Repeat("x", MaxIDLength+1)
	tests := []struct {
		name  string
		frame string
		msg   string
	}{
		{"peer_id missing", `{"action":"announce","info_hash":"ih"}`, "announce: peer_id field is missing or wrong"},
		{"peer_id number", `{"action":"announce","info_hash":"ih","peer_id":5}`, "announce: peer_id field is missing or wrong"},
		{"peer_id wide", `{"action":"announce","info_hash":"ih","peer_id":"\u0100"}`, "announce: peer_id field is missing or wrong"},
		{"peer_id too long", `{"action":"announce","info_hash":"ih","peer_id":"` + long + `"}`, "announce: peer_id field is missing or wrong"},
		{"info_hash missing", `{"action":"announce","peer_id":"p"}`, "announce: info_hash field is missing or wrong"},
		{"info_hash array", `{"action":"announce","info_hash":["a"],"peer_id":"p"}`, "announce: info_hash field is missing or wrong"},
		{"info_hash invalid utf8", "{\"action\":\"announce\",\"info_hash\":\"\xff\",\"peer_id\":\"p\"}", "announce: info_hash field is missing or wrong"},
		{"info_hash too long", `{"action":"announce","info_hash":"` + long + `","peer_id":"p"}`, "announce: info_hash field is missing or wrong"},
		{"unknown action", `{"action":"announces"}`, "unknown action"},
		{"no action", `{"info_hash":"x"}`, "unknown action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			victim := h.client()
			victim.send(announce("ih", "p", ""))
			victim.out.take()
			c := h.client()
			err := h.Handle(c.sess, []byte(tt.frame))
			var ce *ClientError
			if !errors.As(err, &ce) || ce.Reason != ReasonProtocol || ce.Msg != tt.msg {
				t.Fatalf("error %v, want %q", err, tt.msg)
			}
			// Only the offending connection is affected: the victim's peer "p" stays.
			if st := h.Stats(false); st.Peers != 1 {
				t.Fatalf("another connection's peer was touched: %+v", st)
			}
			c.expect()
			victim.expect()
		})
	}
	// The maximum length itself is fine.
	h := newTestHub(t, HubConfig{})
	c := h.client()
	max := strings.Repeat("y", MaxIDLength)
	c.send(announce(max, max, ""))
	c.expect(reply(max, 0, 1))
}

func TestManyPeerIDsAndSwarms(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	tab, other := h.client(), h.client()
	// One socket, several peer_ids (P2PML 2.x: one per info_hash) and one peer_id in two
	// swarms (WebTorrent).
	tab.send(announce("video", "pv", ""))
	tab.send(announce("audio", "pa", ""))
	tab.send(announce("audio", "pv", ""))
	other.send(announce("video", "o", ""))
	if st := h.Stats(false); st.Torrents != 2 || st.Peers != 4 {
		t.Fatalf("stats %+v", st)
	}
	tab.out.take()
	other.out.take()
	h.Disconnect(tab.sess)
	if st := h.Stats(true); st.Torrents != 1 || st.Peers != 1 || st.PerInfoHash[0].InfoHashHex != "766964656f" {
		t.Fatalf("after disconnect: %+v", st)
	}
	// Handle after Disconnect changes nothing.
	if err := h.Handle(tab.sess, []byte(announce("video", "late", ""))); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(false); st.Peers != 1 {
		t.Fatalf("a closed session added a peer: %+v", st)
	}
	tab.expect()
}

// TestPeerTakeover: a peer_id announced on another connection moves there, leaving every
// swarm it was in (wt-tracker HEAD semantics).
func TestPeerTakeover(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	old, nu := h.client(), h.client()
	old.send(announce("x", "p", ""))
	old.send(announce("y", "p", ""))
	nu.send(announce("x", "p", ""))
	nu.expect(reply("x", 0, 1))
	if st := h.Stats(true); st.Torrents != 1 || st.Peers != 1 {
		t.Fatalf("after takeover: %+v", st)
	}
	if h.metric("swarmcast_tracker_peer_takeovers_total", "") != 1 {
		t.Fatal("takeover not counted")
	}
	// Closing the old connection does not remove the peer from the new one.
	h.Disconnect(old.sess)
	if st := h.Stats(false); st.Peers != 1 {
		t.Fatalf("old connection's disconnect removed the moved peer: %+v", st)
	}
	// Answers to p now go to the new connection.
	q := h.client()
	q.send(`{"action":"announce","info_hash":"x","peer_id":"q","to_peer_id":"p","answer":{}}`)
	nu.expect(`{"action":"announce","info_hash":"x","peer_id":"q","answer":{}}`)
	old.expect(reply("x", 0, 1), reply("y", 0, 1))
}

func TestStopped(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	a.send(announce("x", "p", `,"event":"completed"`))
	a.send(announce("y", "p", ""))
	b.send(announce("x", "q", ""))
	a.out.take()
	b.out.take()
	a.send(announce("x", "p", `,"event":"stopped","numwant":5,"offers":`+offersJSON(5)))
	a.expect() // no reply, no offers
	b.expect()
	if st := h.Stats(true); st.Torrents != 2 || st.Peers != 2 {
		t.Fatalf("after stop: %+v", st)
	}
	b.send(`{"action":"scrape","info_hash":"x"}`)
	b.expect(`{"action":"scrape","files":{"x":{"complete":0,"incomplete":1,"downloaded":0}}}`)
	// Unknown swarm, unknown peer, peer not in swarm, non-binary ids: silent no-ops.
	for _, f := range []string{
		announce("nope", "p", `,"event":"stopped"`),
		announce("x", "nope", `,"event":"stopped"`),
		announce("x", "p", `,"event":"stopped"`),
		`{"action":"announce","event":"stopped","peer_id":"\u0100","info_hash":"x"}`,
		`{"action":"announce","event":"stopped","peer_id":"q"}`,
	} {
		a.send(f)
	}
	if st := h.Stats(false); st.Peers != 2 {
		t.Fatalf("no-op stops changed state: %+v", st)
	}
	// Any connection may stop any peer (wt-tracker); the last swarm removes the peer.
	b.send(announce("y", "p", `,"event":"stopped"`))
	if st := h.Stats(false); st.Torrents != 1 || st.Peers != 1 {
		t.Fatalf("after foreign stop: %+v", st)
	}
	err := h.Handle(a.sess, []byte(`{"action":"announce","event":"stopped","info_hash":"x"}`))
	var ce *ClientError
	if !errors.As(err, &ce) || ce.Msg != "stop: peer_id field is missing or wrong" {
		t.Fatalf("stop without peer_id: %v", err)
	}
	a.expect()
	b.expect()
}

func TestSendDropsAreCounted(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	a, b := h.client(), h.client()
	a.send(announce("ih", "a", ""))
	a.out.refuse = true
	b.send(announce("ih", "b", `,"numwant":1,"offers":`+offersJSON(1)))
	if h.metric("swarmcast_tracker_send_dropped_total", "offer") != 1 {
		t.Fatal("refused offer not counted")
	}
	if h.metric("swarmcast_tracker_messages_out_total", "offer") != 1 || h.metric("swarmcast_tracker_messages_out_total", "announce") != 2 {
		t.Fatal("messages_out_total wrong")
	}
	if h.metric("swarmcast_tracker_messages_in_total", "announce") != 2 {
		t.Fatal("messages_in_total wrong")
	}
}

// TestReplyBeforeOffersOnSharedConnection: when a receiver of the offer is another peer_id
// on the announcer's own connection (one socket per browser tab), the connection still
// gets the reply first, then the offer — no check that receivers use another socket, as
// in wt-tracker.
func TestReplyBeforeOffersOnSharedConnection(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	tab := h.client()
	tab.send(announce("ih", "a", ""))
	tab.out.take()
	tab.send(announce("ih", "b", `,"numwant":5,"offers":`+offersJSON(2)))
	tab.expect(reply("ih", 0, 2), offerTo("ih", "b", "o0", "s0"))
}
