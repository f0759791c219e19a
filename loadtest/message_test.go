package loadtest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// frameParts splits a client frame built by the generator into its flags and payload,
// checking the header: FIN, masked with the zero key, length matching.
func frameParts(t *testing.T, f []byte) (rsv1 bool, payload []byte) {
	t.Helper()
	if f[0]&0x80 == 0 || f[0]&0x0F != opText {
		t.Fatalf("first byte %#x: want FIN and text opcode", f[0])
	}
	if f[1]&0x80 == 0 {
		t.Fatal("client frame not masked")
	}
	n, h := uint64(f[1]&0x7F), 2
	switch n {
	case 126:
		n, h = uint64(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, h = binary.BigEndian.Uint64(f[2:]), 10
	}
	if !bytes.Equal(f[h:h+4], []byte{0, 0, 0, 0}) {
		t.Fatalf("masking key %x, want zero", f[h:h+4])
	}
	h += 4
	if uint64(len(f)-h) != n {
		t.Fatalf("header says %d payload bytes, frame has %d", n, len(f)-h)
	}
	return f[0]&0x40 != 0, f[h:]
}

func inflate(t *testing.T, p []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	out, err := io.ReadAll(r)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// ids returns a slot filler with recognisable ids and records the offer ids it handed out.
func testIDs(offerIDs *[]string) func(Slot) []byte {
	n := 0
	return func(s Slot) []byte {
		var id [IDLen]byte
		switch s {
		case SlotInfoHash:
			copy(id[:], "IIIIIIIIIIIIIIIIIIII")
		case SlotPeerID:
			copy(id[:], "PPPPPPPPPPPPPPPPPPPP")
		case SlotToPeerID:
			copy(id[:], "TTTTTTTTTTTTTTTTTTTT")
		default:
			n++
			putID(id[:], "offer", uint64(n))
			*offerIDs = append(*offerIDs, string(id[:]))
		}
		return id[:]
	}
}

func TestTemplates(t *testing.T) {
	type offer struct {
		Offer   struct{ Type, SDP string } `json:"offer"`
		OfferID string                     `json:"offer_id"`
	}
	type msg struct {
		Action   string          `json:"action"`
		InfoHash string          `json:"info_hash"`
		PeerID   string          `json:"peer_id"`
		ToPeerID *string         `json:"to_peer_id"`
		OfferID  *string         `json:"offer_id"`
		Event    *string         `json:"event"`
		Numwant  *int            `json:"numwant"`
		Left     *int            `json:"left"`
		Offers   []offer         `json:"offers"`
		Answer   json.RawMessage `json:"answer"`
		Raw      map[string]json.RawMessage
	}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	tests := []struct {
		name      string
		parts     []part
		offers    int
		event     *string
		numwant   *int
		left      *int
		isAnswer  bool
		nullKeys  []string // keys that must be JSON null
		sdpLength int
	}{
		{"announce started", announceParts(true, 10, 10, jsonString(realisticSDP)), 10, str("started"), num(10), num(1000000), false, nil, len(realisticSDP)},
		{"announce regular", announceParts(false, 3, 7, jsonString(realisticSDP)), 3, nil, num(7), num(1000000), false, nil, len(realisticSDP)},
		{"announce no offers", announceParts(true, 0, 0, jsonString(realisticSDP)), 0, str("started"), num(0), num(1000000), false, nil, 0},
		{"closed started", closedAnnounceParts(false, 10, 10, jsonString(smallSDP)), 10, str("started"), num(10), num(50), false, []string{"answer", "to_peer_id", "offer_id"}, len(smallSDP)},
		{"closed completed", closedAnnounceParts(true, 10, 10, jsonString(smallSDP)), 10, str("completed"), num(10), num(0), false, []string{"answer", "to_peer_id", "offer_id"}, len(smallSDP)},
		{"answer", answerParts(false, jsonString(realisticSDP)), 0, nil, nil, nil, true, nil, len(realisticSDP)},
		{"closed answer", answerParts(true, jsonString(smallSDP)), 0, nil, num(0), nil, true, []string{"offers"}, len(smallSDP)},
	}
	for _, tt := range tests {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/deflate=%v", tt.name, deflate), func(t *testing.T) {
				tpl, err := buildTemplate(tt.parts, deflate)
				if err != nil {
					t.Fatal(err)
				}
				var offerIDs []string
				frame := tpl.AppendFill([]byte("prefix"), testIDs(&offerIDs))
				if !bytes.HasPrefix(frame, []byte("prefix")) || len(frame) != len("prefix")+tpl.Len() {
					t.Fatal("AppendFill did not append")
				}
				rsv1, payload := frameParts(t, frame[len("prefix"):])
				if rsv1 != deflate {
					t.Errorf("RSV1 = %v, want %v", rsv1, deflate)
				}
				if deflate {
					payload = inflate(t, payload)
				}
				var m msg
				if err := json.Unmarshal(payload, &m); err != nil {
					t.Fatalf("payload is not JSON: %v\n%s", err, payload)
				}
				_ = json.Unmarshal(payload, &m.Raw)
				if m.Action != "announce" || m.InfoHash != "IIIIIIIIIIIIIIIIIIII" || m.PeerID != "PPPPPPPPPPPPPPPPPPPP" {
					t.Errorf("action %q info_hash %q peer_id %q", m.Action, m.InfoHash, m.PeerID)
				}
				if (m.Event == nil) != (tt.event == nil) || m.Event != nil && *m.Event != *tt.event {
					t.Errorf("event = %v, want %v", m.Event, tt.event)
				}
				if (m.Numwant == nil) != (tt.numwant == nil) || m.Numwant != nil && *m.Numwant != *tt.numwant {
					t.Errorf("numwant = %v, want %v", m.Numwant, tt.numwant)
				}
				if (m.Left == nil) != (tt.left == nil) || m.Left != nil && *m.Left != *tt.left {
					t.Errorf("left = %v, want %v", m.Left, tt.left)
				}
				for _, k := range tt.nullKeys {
					if string(m.Raw[k]) != "null" {
						t.Errorf("%s = %s, want null", k, m.Raw[k])
					}
				}
				if len(m.Offers) != tt.offers {
					t.Fatalf("%d offers, want %d", len(m.Offers), tt.offers)
				}
				for i, o := range m.Offers {
					if o.Offer.Type != "offer" || len(o.Offer.SDP) != tt.sdpLength {
						t.Errorf("offer %d: type %q, sdp %d bytes", i, o.Offer.Type, len(o.Offer.SDP))
					}
					if o.OfferID != offerIDs[i] {
						t.Errorf("offer %d: offer_id %q, want %q", i, o.OfferID, offerIDs[i])
					}
				}
				if tt.isAnswer {
					var a struct{ Type, SDP string }
					if err := json.Unmarshal(m.Answer, &a); err != nil || a.Type != "answer" || len(a.SDP) != tt.sdpLength {
						t.Errorf("answer %s", m.Answer)
					}
					if m.ToPeerID == nil || *m.ToPeerID != "TTTTTTTTTTTTTTTTTTTT" || m.OfferID == nil || *m.OfferID != offerIDs[0] {
						t.Errorf("to_peer_id %v offer_id %v", m.ToPeerID, m.OfferID)
					}
				}
			})
		}
	}
}

// TestDeflateTemplateIsSmaller checks that the constant parts are really compressed.
func TestDeflateTemplateIsSmaller(t *testing.T) {
	ps := announceParts(false, 10, 10, jsonString(realisticSDP))
	plain, err := buildTemplate(ps, false)
	if err != nil {
		t.Fatal(err)
	}
	compressed, err := buildTemplate(ps, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("announce with 10 offers: %d bytes plain, %d compressed", plain.Len(), compressed.Len())
	if compressed.Len()*3 > plain.Len() {
		t.Errorf("compressed announce %d bytes, plain %d: want at least 3× smaller", compressed.Len(), plain.Len())
	}
}

func TestRealisticSDPSize(t *testing.T) {
	if n := len(realisticSDP); n < 1200 || n > 1400 {
		t.Errorf("realistic SDP is %d bytes, want about 1.3 KB", n)
	}
	if !strings.HasPrefix(realisticSDP, "v=0\r\n") || !strings.HasSuffix(realisticSDP, "\r\n") {
		t.Error("SDP lines must be CRLF-terminated and start with v=0")
	}
}

func TestFrameHeaderLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536, 70000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := appendFrame(nil, opText, false, bytes.Repeat([]byte("x"), n))
			_, p := frameParts(t, f)
			if len(p) != n {
				t.Errorf("payload %d bytes, want %d", len(p), n)
			}
		})
	}
}

func TestPutID(t *testing.T) {
	tests := []struct {
		prefix string
		n      uint64
		want   string
	}{
		{"-LT", 0, "-LT00000000000000000"},
		{"lt-swarm", 35, "lt-swarm00000000000z"},
		{"", 36, "00000000000000000010"},
	}
	for _, tt := range tests {
		var b [IDLen]byte
		putID(b[:], tt.prefix, tt.n)
		if string(b[:]) != tt.want {
			t.Errorf("putID(%q, %d) = %q, want %q", tt.prefix, tt.n, b, tt.want)
		}
	}
}
