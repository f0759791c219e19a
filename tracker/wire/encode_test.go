package wire

import (
	"math"
	"strings"
	"testing"
)

func TestAppendNumber(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{100, "100"},
		{123.456, "123.456"},
		{1e15, "1000000000000000"},
		{9007199254740993, "9007199254740992"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.5e21, "1.5e+21"},
		{123456789012345680000, "123456789012345680000"},
		{0.000001, "0.000001"},
		{0.0000015, "0.0000015"},
		{1e-7, "1e-7"},
		{1.5e-7, "1.5e-7"},
		{-1.23e-18, "-1.23e-18"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
	}
	for _, tt := range tests {
		if got := string(AppendNumber(nil, tt.f)); got != tt.want {
			t.Errorf("AppendNumber(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestAppendCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"slash escape", `"a\/b"`, `"a/b"`},
		{"unicode escape ascii", `"\u0041"`, `"A"`},
		{"latin1 escape", `"\u00e9"`, "\"\u00e9\""},
		{"control uppercase hex", `"\u001F"`, `"\u001f"`},
		{"short escapes kept", `"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{"control escapes as short form", `"\u0008\u000a"`, `"\b\n"`},
		{"no html escaping", `"<>&'"`, `"<>&'"`},
		{"DEL raw", `"\u007f"`, "\"\x7f\""},
		{"line separators raw", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"surrogate pair", `"\ud83d\ude00"`, "\"\U0001F600\""},
		{"lone high surrogate", `"\uD800x"`, `"\ud800x"`},
		{"lone low surrogate", `"\udc00"`, `"\udc00"`},
		{"reversed pair", `"\ude00\ud83d"`, `"\ude00\ud83d"`},
		{"invalid byte", "\"a\xffb\"", "\"a\ufffdb\""},
		{"truncated sequence is one replacement", "\"\xe2\x82\"", "\"\ufffd\""},
		{"encoded surrogate is three replacements", "\"\xed\xa0\x80\"", "\"\ufffd\ufffd\ufffd\""},
		{"overlong", "\"\xc0\xaf\"", "\"\ufffd\ufffd\""},
		{"numbers", `[1.0,-0,1e2,1E-7,0.5e1,-12,123456789012345678]`, `[1,0,100,1e-7,5,-12,123456789012345680]`},
		{"overflow is null", `[1e400,-1e999]`, `[null,null]`},
		{"literals and spaces", ` [ true , false , null , { } , [ ] ] `[1:], `[true,false,null,{},[]]`},
		{"duplicate keys", `{"b":1,"a":2,"b":3}`, `{"b":3,"a":2}`},
		{"index keys first", `{"b":1,"2":1,"1":0,"01":5,"4294967295":6,"4294967294":7}`, `{"1":0,"2":1,"4294967294":7,"b":1,"01":5,"4294967295":6}`},
		{"escaped duplicate key", `{"a":1,"\u0061":2}`, `{"a":2}`},
		{"nested", `{"x":{"y":[{"z":"\u00e9"}]}}`, "{\"x\":{\"y\":[{\"z\":\"\u00e9\"}]}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.TrimSpace(tt.in)
			if got := string(AppendCanonical(nil, Raw(in))); got != tt.want {
				t.Fatalf("AppendCanonical(%s) = %s, want %s", in, got, tt.want)
			}
		})
	}
}

// Golden outputs: key order and escaping exactly as wt-tracker's JSON.stringify.
func TestEncodersGolden(t *testing.T) {
	ih := "\x01\xff\"\\A"
	if got, want := string(AppendAnnounceReply(nil, 20, ih, 1, 2)),
		"{\"action\":\"announce\",\"interval\":20,\"info_hash\":\"\\u0001\u00ff\\\"\\\\A\",\"complete\":1,\"incomplete\":2}"; got != want {
		t.Errorf("reply:\n got %s\nwant %s", got, want)
	}
	offer := OfferItem{OfferID: Raw(`"\u00ab\u0000"`), SDP: Raw(`"v=0\r\n"`)}
	if got, want := string(AppendOffer(nil, "ih", "pp", offer)),
		"{\"action\":\"announce\",\"info_hash\":\"ih\",\"offer_id\":\"\u00ab\\u0000\",\"peer_id\":\"pp\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}"; got != want {
		t.Errorf("offer:\n got %s\nwant %s", got, want)
	}
	if got, want := string(AppendOffer(nil, "ih", "pp", OfferItem{})),
		`{"action":"announce","info_hash":"ih","peer_id":"pp","offer":{"type":"offer"}}`; got != want {
		t.Errorf("offer without offer_id and sdp:\n got %s\nwant %s", got, want)
	}
	var m Message
	frame := `{"action":"announce","info_hash":"ih","peer_id":"a","to_peer_id":"b","answer":{"type":"answer","sdp":"x"},"offer_id":"o","trackerid":7,"to_peer_id":"c"}`
	if err := Decode([]byte(frame), &m); err != nil {
		t.Fatal(err)
	}
	if got, want := string(AppendAnswer(nil, &m)),
		`{"action":"announce","info_hash":"ih","peer_id":"a","answer":{"type":"answer","sdp":"x"},"offer_id":"o","trackerid":7}`; got != want {
		t.Errorf("answer:\n got %s\nwant %s", got, want)
	}
	files := []ScrapeFile{
		{InfoHash: "b", Complete: 1, Incomplete: 2},
		{Raw: Raw(`"\u0100"`)},
		{InfoHash: "7", Complete: 3},
		{Raw: Raw(`"b"`), Complete: 1, Incomplete: 2},
	}
	if got, want := string(AppendScrape(nil, files)),
		"{\"action\":\"scrape\",\"files\":{\"7\":{\"complete\":3,\"incomplete\":0,\"downloaded\":3},\"b\":{\"complete\":1,\"incomplete\":2,\"downloaded\":1},\"\u0100\":{\"complete\":0,\"incomplete\":0,\"downloaded\":0}}}"; got != want {
		t.Errorf("scrape:\n got %s\nwant %s", got, want)
	}
	if got, want := string(AppendScrape(nil, nil)), `{"action":"scrape","files":{}}`; got != want {
		t.Errorf("empty scrape: got %s want %s", got, want)
	}
}

func TestAnnounceReplyAllocs(t *testing.T) {
	ih := []byte("\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78")
	// The full path the hub takes for a reply: pooled buffer, encode, hand back.
	PutBuffer(GetBuffer(256))
	allocs := testing.AllocsPerRun(1000, func() {
		b := GetBuffer(96 + 2*len(ih))
		b = AppendAnnounceReply(b, 20, ih, 3, 4)
		PutBuffer(b)
	})
	if allocs != 0 {
		t.Fatalf("announce reply encode allocates %v times per message, want 0", allocs)
	}
	buf := make([]byte, 0, 256)
	allocs = testing.AllocsPerRun(1000, func() {
		buf = AppendAnnounceReply(buf[:0], 20, ih, 3, 4)
	})
	if allocs != 0 {
		t.Fatalf("AppendAnnounceReply allocates %v times, want 0", allocs)
	}
}

func TestBufferPool(t *testing.T) {
	tests := []struct{ size, minCap int }{{0, 512}, {100, 512}, {513, 2048}, {60000, 65536}, {200000, 200000}}
	for _, tt := range tests {
		b := GetBuffer(tt.size)
		if len(b) != 0 || cap(b) < tt.minCap {
			t.Errorf("GetBuffer(%d): len %d cap %d, want 0 and ≥ %d", tt.size, len(b), cap(b), tt.minCap)
		}
		b = append(b, "data"...)
		PutBuffer(b) // must not panic for any capacity, including oversized ones
	}
	PutBuffer(nil)
	PutBuffer(make([]byte, 0, 10))
	// A recycled buffer comes back empty with its class capacity.
	b := append(GetBuffer(3000), strings.Repeat("x", 3000)...)
	PutBuffer(b)
	for range 10 {
		g := GetBuffer(3000)
		if len(g) != 0 || cap(g) < 3000 {
			t.Fatalf("recycled buffer len %d cap %d", len(g), cap(g))
		}
		PutBuffer(g)
	}
}
