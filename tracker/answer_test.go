package tracker

import (
	"errors"
	"testing"
)

func TestAnswerForwarding(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string // what the offerer receives
	}{
		{
			"webtorrent",
			`{"action":"announce","info_hash":"\u00ffih","peer_id":"ans","to_peer_id":"off","answer":{"type":"answer","sdp":"v=0\r\n"},"offer_id":"\u0001\u00aa"}`,
			"{\"action\":\"announce\",\"info_hash\":\"\u00ffih\",\"peer_id\":\"ans\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"},\"offer_id\":\"\\u0001\u00aa\"}",
		},
		{
			"libtorrent key order and trackerid kept",
			`{"action":"announce","info_hash":"ih","offer_id":"o","to_peer_id":"off","peer_id":"ans","answer":{"type":"answer","sdp":"x"},"trackerid":"t"}`,
			`{"action":"announce","info_hash":"ih","offer_id":"o","peer_id":"ans","answer":{"type":"answer","sdp":"x"},"trackerid":"t"}`,
		},
		{
			"whitespace, escapes, duplicates and numbers canonicalized",
			"{ \"action\" : \"announce\", \"peer_id\":\"ans\", \"to_peer_id\":\"off\", \"answer\" : { \"sdp\" : \"a\\/b\\u00e9\" }, \"peer_id\":\"ans2\", \"n\": 1.50, \"1\": true }",
			"{\"1\":true,\"action\":\"announce\",\"peer_id\":\"ans2\",\"answer\":{\"sdp\":\"a/b\u00e9\"},\"n\":1.5}",
		},
		{
			"event null counts as absent",
			`{"action":"announce","event":null,"peer_id":"ans","to_peer_id":"off","answer":1}`,
			`{"action":"announce","event":null,"peer_id":"ans","answer":1}`,
		},
		{
			"wide peer_id of the answerer is forwarded",
			`{"action":"announce","peer_id":"\u20ac","to_peer_id":"off","answer":{}}`,
			"{\"action\":\"announce\",\"peer_id\":\"\u20ac\",\"answer\":{}}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			off, ans := h.client(), h.client()
			off.send(announce("ih", "off", ""))
			off.out.take()
			ans.send(tt.frame)
			ans.expect() // no reply to the answerer
			off.expect(tt.want)
			if h.metric("swarmcast_tracker_answers_routed_total", "") != 1 {
				t.Fatal("answer not counted")
			}
			if st := h.Stats(false); st.Peers != 1 {
				t.Fatalf("an answer changed swarm state: %+v", st)
			}
		})
	}
}

// TestAnswerToUnknownPeer: dropped and counted; wt-tracker closes the answerer's socket.
func TestAnswerToUnknownPeer(t *testing.T) {
	h := newTestHub(t, HubConfig{})
	off, ans := h.client(), h.client()
	off.send(announce("ih", "off", ""))
	off.out.take()
	for _, f := range []string{
		`{"action":"announce","peer_id":"ans","to_peer_id":"gone","answer":{}}`,
		`{"action":"announce","peer_id":"ans","to_peer_id":"\u0100","answer":{}}`,
	} {
		if err := h.Handle(ans.sess, []byte(f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	ans.expect()
	off.expect()
	if got := h.metric("swarmcast_tracker_answers_dropped_total", ""); got != 2 {
		t.Fatalf("answers_dropped_total %v, want 2", got)
	}
}

func TestAnswerFieldErrors(t *testing.T) {
	tests := []struct{ frame, msg string }{
		{`{"action":"announce","peer_id":"a","answer":{}}`, "answer: to_peer_id field is missing or wrong"},
		{`{"action":"announce","peer_id":"a","to_peer_id":null,"answer":{}}`, "answer: to_peer_id field is missing or wrong"},
		{`{"action":"announce","peer_id":7,"to_peer_id":"off","answer":{}}`, "answer: peer_id field is missing or wrong"},
		{`{"action":"announce","to_peer_id":"off","answer":{}}`, "answer: peer_id field is missing or wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			h := newTestHub(t, HubConfig{})
			off := h.client()
			off.send(announce("ih", "off", ""))
			off.out.take()
			c := h.client()
			err := h.Handle(c.sess, []byte(tt.frame))
			var ce *ClientError
			if !errors.As(err, &ce) || ce.Reason != ReasonProtocol || ce.Msg != tt.msg {
				t.Fatalf("error %v, want %q", err, tt.msg)
			}
			off.expect()
		})
	}
}
