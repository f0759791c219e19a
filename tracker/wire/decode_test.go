package wire

import (
	"errors"
	"strings"
	"testing"
)

func decode(t *testing.T, frame string) *Message {
	t.Helper()
	var m Message
	if err := Decode([]byte(frame), &m); err != nil {
		t.Fatalf("Decode(%q): %v", frame, err)
	}
	return &m
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth)
	tooDeep := `{"a":` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `}`
	tests := []struct {
		name  string
		frame string
		want  ErrorKind // 0: no error
	}{
		{"empty", ``, ErrSyntax},
		{"spaces", "  \n", ErrSyntax},
		{"open brace", `{`, ErrSyntax},
		{"unquoted key", `{a:1}`, ErrSyntax},
		{"single quotes", `{'a':1}`, ErrSyntax},
		{"leading zero", `{"a":01}`, ErrSyntax},
		{"bare minus", `{"a":-}`, ErrSyntax},
		{"dot without digits", `{"a":1.}`, ErrSyntax},
		{"exponent without digits", `{"a":1e}`, ErrSyntax},
		{"plus sign", `{"a":+1}`, ErrSyntax},
		{"trailing comma object", `{"a":1,}`, ErrSyntax},
		{"trailing comma array", `{"a":[1,]}`, ErrSyntax},
		{"trailing data", `{"a":1} x`, ErrSyntax},
		{"two objects", `{}{}`, ErrSyntax},
		{"bom", "\ufeff{}", ErrSyntax},
		{"raw control char in string", "{\"a\":\"x\ny\"}", ErrSyntax},
		{"bad escape", `{"a":"\x"}`, ErrSyntax},
		{"short unicode escape", `{"a":"\u12"}`, ErrSyntax},
		{"bad hex", `{"a":"\u12g4"}`, ErrSyntax},
		{"unterminated string", `{"a":"abc}`, ErrSyntax},
		{"NaN", `{"a":NaN}`, ErrSyntax},
		{"truncated literal", `{"a":tru}`, ErrSyntax},
		{"vertical tab whitespace", "{\v}", ErrSyntax},
		{"null", `null`, ErrNotObject},
		{"array", `[{"action":"announce"}]`, ErrNotObject},
		{"number", `42`, ErrNotObject},
		{"string", `"announce"`, ErrNotObject},
		{"true", ` true `, ErrNotObject},
		{"invalid after non-object", `null x`, ErrSyntax},
		{"too deep", tooDeep, ErrTooDeep},
		{"too deep non-object", strings.Repeat(`[`, MaxDepth+1), ErrTooDeep},
		{"max depth ok", deep, 0},
		{"whitespace ok", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n", 0},
		{"empty object", `{}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			err := Decode([]byte(tt.frame), &m)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want *DecodeError", err, err)
			}
			if de.Kind != tt.want {
				t.Fatalf("kind %v, want %v (%v)", de.Kind, tt.want, err)
			}
		})
	}
}

func TestDecodeActionAndEvent(t *testing.T) {
	tests := []struct {
		frame  string
		action Action
		event  Event
		answer Kind
	}{
		{`{"action":"announce"}`, ActionAnnounce, EventAbsent, KindAbsent},
		{`{"action":"scrape"}`, ActionScrape, EventAbsent, KindAbsent},
		{`{"action":"Announce"}`, ActionOther, EventAbsent, KindAbsent},
		{`{"action":null}`, ActionOther, EventAbsent, KindAbsent},
		{`{}`, ActionOther, EventAbsent, KindAbsent},
		{`{"action":"\u0061nnounce"}`, ActionAnnounce, EventAbsent, KindAbsent},
		{`{"\u0061ction":"scrape"}`, ActionScrape, EventAbsent, KindAbsent},
		{`{"action":"scrape","action":"announce"}`, ActionAnnounce, EventAbsent, KindAbsent},
		{`{"action":"announce","event":"started"}`, ActionAnnounce, EventStarted, KindAbsent},
		{`{"action":"announce","event":"completed"}`, ActionAnnounce, EventCompleted, KindAbsent},
		{`{"action":"announce","event":"stopped"}`, ActionAnnounce, EventStopped, KindAbsent},
		{`{"action":"announce","event":"update"}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":"paused"}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":"empty"}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":"<regular>"}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":null}`, ActionAnnounce, EventNull, KindAbsent},
		{`{"action":"announce","event":"Started"}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":""}`, ActionAnnounce, EventRegular, KindAbsent},
		{`{"action":"announce","event":{}}`, ActionAnnounce, EventOther, KindAbsent},
		{`{"action":"announce","event":1}`, ActionAnnounce, EventOther, KindAbsent},
		{`{"action":"announce","answer":null}`, ActionAnnounce, EventAbsent, KindNull},
		{`{"action":"announce","answer":{"type":"answer"}}`, ActionAnnounce, EventAbsent, KindObject},
	}
	for _, tt := range tests {
		t.Run(tt.frame, func(t *testing.T) {
			m := decode(t, tt.frame)
			if m.Action != tt.action || m.Event != tt.event || m.Answer != tt.answer {
				t.Fatalf("got action %v event %v answer %v, want %v %v %v", m.Action, m.Event, m.Answer, tt.action, tt.event, tt.answer)
			}
		})
	}
}

func TestDecodeIDs(t *testing.T) {
	tests := []struct {
		name string
		json string // the peer_id value
		kind Kind
		bin  string
		wide bool
	}{
		{"ascii", `"-PM0203-abcdefghijkl"`, KindString, "-PM0203-abcdefghijkl", false},
		{"latin1 utf8", "\"\u00ff\u0080a\"", KindString, "\xff\x80a", false},
		{"escapes", `"\u0000\u001f\"\\\/\b\f\n\r\t\u00FF"`, KindString, "\x00\x1f\"\\/\b\f\n\r\t\xff", false},
		{"empty", `""`, KindString, "", false},
		{"above latin1", `"\u0100"`, KindString, "", true},
		{"raw above latin1", "\"\u20ac\"", KindString, "", true},
		{"lone surrogate", `"\ud800"`, KindString, "", true},
		{"invalid utf8 is U+FFFD", "\"a\xffb\"", KindString, "", true},
		{"number", `12`, KindNumber, "", false},
		{"null", `null`, KindNull, "", false},
		{"array", `["a"]`, KindArray, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, `{"peer_id":`+tt.json+`}`)
			id := m.PeerID
			if id.Kind != tt.kind || id.Wide != tt.wide || string(id.Bin) != tt.bin {
				t.Fatalf("got kind %v wide %v bin %q, want %v %v %q", id.Kind, id.Wide, id.Bin, tt.kind, tt.wide, tt.bin)
			}
			if tt.kind == KindString && string(id.Raw) != tt.json {
				t.Fatalf("raw %q, want %q", id.Raw, tt.json)
			}
			if tt.kind == KindString && !tt.wide {
				if got := string(AppendBinaryString(nil, id.Bin)); got != string(AppendCanonical(nil, Raw(tt.json))) {
					t.Fatalf("binary re-encoding %s differs from canonical %s", got, AppendCanonical(nil, Raw(tt.json)))
				}
			}
		})
	}
}

func TestDecodeNumwantAndLeft(t *testing.T) {
	tests := []struct {
		json      string
		isInteger bool
		value     float64
	}{
		{`10`, true, 10},
		{`10.0`, true, 10},
		{`1e1`, true, 10},
		{`1E+1`, true, 10},
		{`-3`, true, -3},
		{`0`, true, 0},
		{`1e-400`, true, 0}, // underflows to 0, an integer
		{`1e400`, false, 0}, // Infinity
		{`10.5`, false, 0},
		{`"10"`, false, 0},
		{`null`, false, 0},
		{`true`, false, 0},
		{`[10]`, false, 0},
		{`12345678901234567890`, true, 12345678901234567890},
	}
	for _, tt := range tests {
		t.Run("numwant="+tt.json, func(t *testing.T) {
			m := decode(t, `{"numwant":`+tt.json+`}`)
			if m.NumwantIsInteger != tt.isInteger || (tt.isInteger && m.Numwant != tt.value) {
				t.Fatalf("got %v %v, want %v %v", m.NumwantIsInteger, m.Numwant, tt.isInteger, tt.value)
			}
		})
	}
	if m := decode(t, `{}`); m.NumwantIsInteger {
		t.Fatal("absent numwant is an integer")
	}
	lefts := []struct {
		json string
		zero bool
	}{
		{`0`, true}, {`-0`, true}, {`0.0`, true}, {`0e5`, true}, {`1e-400`, true},
		{`1`, false}, {`"0"`, false}, {`null`, false}, {`false`, false}, {`0.1`, false},
	}
	for _, tt := range lefts {
		t.Run("left="+tt.json, func(t *testing.T) {
			if m := decode(t, `{"left":`+tt.json+`}`); m.LeftIsZero != tt.zero {
				t.Fatalf("LeftIsZero %v, want %v", m.LeftIsZero, tt.zero)
			}
		})
	}
}

func TestDecodeOffersAndScrapeList(t *testing.T) {
	m := decode(t, `{"offers":[ {"offer_id":"a"} , 1 ,null,[]],"info_hash":["x",1,"\u0100",null,"y"]}`)
	if m.Offers != KindArray || len(m.OfferItems) != 4 {
		t.Fatalf("offers %v %d", m.Offers, len(m.OfferItems))
	}
	wantItems := []string{`{"offer_id":"a"}`, `1`, `null`, `[]`}
	for i, w := range wantItems {
		if string(m.OfferItems[i]) != w {
			t.Errorf("item %d = %q, want %q", i, m.OfferItems[i], w)
		}
	}
	if len(m.ScrapeHashes) != 3 || string(m.ScrapeHashes[0].Bin) != "x" || !m.ScrapeHashes[1].Wide || string(m.ScrapeHashes[2].Bin) != "y" {
		t.Fatalf("scrape hashes %+v", m.ScrapeHashes)
	}
	if m.InfoHash.Kind != KindArray {
		t.Fatalf("info_hash kind %v", m.InfoHash.Kind)
	}
	m = decode(t, `{"offers":null}`)
	if m.Offers != KindNull || len(m.OfferItems) != 0 {
		t.Fatalf("null offers: %v %d", m.Offers, len(m.OfferItems))
	}
	// Last duplicate wins, also for lists.
	m = decode(t, `{"offers":[1,2],"offers":[3],"info_hash":["a","b"],"info_hash":"c"}`)
	if len(m.OfferItems) != 1 || string(m.OfferItems[0]) != "3" || len(m.ScrapeHashes) != 0 || string(m.InfoHash.Bin) != "c" {
		t.Fatalf("duplicates: %q %+v %q", m.OfferItems, m.ScrapeHashes, m.InfoHash.Bin)
	}
}

func TestDecodeReuse(t *testing.T) {
	var m Message
	if err := Decode([]byte(`{"action":"announce","event":"started","peer_id":"\u00ff1","offers":[1],"info_hash":["a"]}`), &m); err != nil {
		t.Fatal(err)
	}
	if err := Decode([]byte(`{"action":"scrape"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Event != EventAbsent || m.PeerID.Kind != KindAbsent || m.Offers != KindAbsent || len(m.OfferItems) != 0 ||
		len(m.ScrapeHashes) != 0 || len(m.Members) != 1 {
		t.Fatalf("state leaked between decodes: %+v", m)
	}
}

func TestParseOfferItem(t *testing.T) {
	tests := []struct {
		item    string
		err     error
		offerID string
		sdp     string
	}{
		{`{"offer":{"type":"offer","sdp":"v=0"},"offer_id":"abc"}`, nil, `"abc"`, `"v=0"`},
		{`{"offer_id":null,"offer":{"sdp":5}}`, nil, `null`, `5`},
		{`{"offer":{}}`, nil, "", ""},
		{`{"offer":[]}`, nil, "", ""},
		{`{"offer":{"sdp":"a"},"offer":{"sdp":"b"}}`, nil, "", `"b"`},
		{`{"\u006fffer":{"sdp":"x"}}`, nil, "", `"x"`},
		{`{"offer":null}`, ErrOfferField, "", ""},
		{`{"offer":"sdp"}`, ErrOfferField, "", ""},
		{`{}`, ErrOfferField, "", ""},
		{`[]`, ErrOfferField, "", ""},
		{`null`, ErrOfferItem, "", ""},
		{`"x"`, ErrOfferItem, "", ""},
		{`7`, ErrOfferItem, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			it, err := ParseOfferItem(Raw(tt.item))
			if err != tt.err {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if string(it.OfferID) != tt.offerID || string(it.SDP) != tt.sdp {
				t.Fatalf("got offer_id %q sdp %q, want %q %q", it.OfferID, it.SDP, tt.offerID, tt.sdp)
			}
			if tt.offerID == "" && it.OfferID != nil || tt.sdp == "" && it.SDP != nil {
				t.Fatalf("absent member reported as present: %+v", it)
			}
		})
	}
}

// TestPlainRun checks the eight-bytes-at-a-time scan against a byte loop.
func TestPlainRun(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && strClass[b[i]] == 0 {
			i++
		}
		return i
	}
	alphabet := []byte("abcXYZ019 /{}:,\"\\\x00\x1f\x7f\x80\xff\xc3")
	rng := uint64(1)
	for n := range 20000 {
		rng = rng*6364136223846793005 + 1442695040888963407
		b := make([]byte, int(rng>>58))
		for i := range b {
			rng = rng*6364136223846793005 + 1442695040888963407
			if rng>>60 < 13 { // mostly plain bytes, so long runs occur
				b[i] = 'a' + byte(rng>>33)%26
			} else {
				b[i] = alphabet[int(rng>>33)%len(alphabet)]
			}
		}
		start := n % (len(b) + 1)
		if got, want := plainRun(b, start), naive(b, start); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, start, got, want)
		}
	}
}
