package loadtest

import "testing"

func TestScan(t *testing.T) {
	tests := []struct {
		name              string
		in                string
		kind              Kind
		ih, peer, offerID string // raw literals, "" for absent
		wantErr           bool
	}{
		{"wt-tracker reply", `{"action":"announce","interval":120,"info_hash":"aaaaaaaaaaaaaaaaaaaa","complete":0,"incomplete":3}`,
			KindReply, `"aaaaaaaaaaaaaaaaaaaa"`, "", "", false},
		{"bittorrent-tracker reply", `{"complete":1,"incomplete":0,"action":"announce","interval":120,"info_hash":"x"}`,
			KindReply, `"x"`, "", "", false},
		{"wt-tracker offer", `{"action":"announce","info_hash":"h","offer_id":"oooooooooooooooooooo","peer_id":"pppppppppppppppppppp","offer":{"type":"offer","sdp":"v=0\r\n\"}{"}}`,
			KindOffer, `"h"`, `"pppppppppppppppppppp"`, `"oooooooooooooooooooo"`, false},
		{"bittorrent-tracker offer, ids after the sdp", `{"action":"announce","offer":{"type":"offer","sdp":"a=\\\"x\\\\"},"offer_id":"o","peer_id":"p","info_hash":"h"}`,
			KindOffer, `"h"`, `"p"`, `"o"`, false},
		{"answer", `{"action":"announce","info_hash":"h","peer_id":"p","answer":{"type":"answer","sdp":"s"},"offer_id":"o"}`,
			KindAnswer, `"h"`, `"p"`, `"o"`, false},
		{"null offer and answer are absent", `{"action":"announce","interval":2,"offer":null,"answer":null,"offer_id":null}`,
			KindReply, "", "", "", false},
		{"failure", `{"failure reason":"invalid info_hash","action":"announce","info_hash":"h"}`,
			KindFailure, `"h"`, "", "", false},
		{"scrape", `{"action":"scrape","files":{"h":{"complete":1,"incomplete":0,"downloaded":1}}}`,
			KindScrape, "", "", "", false},
		{"unknown object", ` { "hello" : [1, {"a":"}"}], "n": -1.5e3 } `, KindOther, "", "", "", false},
		{"whitespace and numbers", "{\n\t\"complete\" : 0 ,\r\n \"interval\":1}", KindReply, "", "", "", false},
		{"not an object", `[1,2]`, 0, "", "", "", true},
		{"truncated", `{"action":"announce","offer":{"type"`, 0, "", "", "", true},
		{"unterminated string", `{"peer_id":"abc`, 0, "", "", "", true},
		{"missing colon", `{"a" 1}`, 0, "", "", "", true},
		{"empty", ``, 0, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Scan([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if m.Kind != tt.kind {
				t.Errorf("kind = %v, want %v", m.Kind, tt.kind)
			}
			if string(m.InfoHash) != tt.ih || string(m.PeerID) != tt.peer || string(m.OfferID) != tt.offerID {
				t.Errorf("ids = %s %s %s, want %s %s %s", m.InfoHash, m.PeerID, m.OfferID, tt.ih, tt.peer, tt.offerID)
			}
		})
	}
}

func TestPlainID(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`"abcdefghijklmnopqrst"`, "abcdefghijklmnopqrst"},
		{`"abcdefghijklmnopqrs"`, ""},       // 19 bytes
		{`"abcdefghijklmnopq\"s"`, ""},      // escaped: not a plain copy
		{`"abcdefghijklmnopqrstu"`, ""},     // 21 bytes
		{`"\u00ff\u00febcdefghijklmn"`, ""}, // binary id sent escaped
	}
	for _, tt := range tests {
		if got := string(plainID([]byte(tt.in))); got != tt.want {
			t.Errorf("plainID(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkScanOffer measures classifying a relayed 1.3 KB offer, the generator's most
// frequent received message.
func BenchmarkScanOffer(b *testing.B) {
	msg := []byte(`{"action":"announce","info_hash":"lt-swarm000000000001","offer_id":"o00000000000000001a","peer_id":"-LT00000000000000001","offer":{"type":"offer","sdp":` + jsonString(realisticSDP) + `}}`)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if m, err := Scan(msg); err != nil || m.Kind != KindOffer {
			b.Fatal(m, err)
		}
	}
}
