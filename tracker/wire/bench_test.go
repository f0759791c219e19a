package wire

import (
	"bytes"
	"testing"
)

func benchFrame(b *testing.B, prefix string) []byte {
	b.Helper()
	for _, f := range realFrames(b) {
		if bytes.Contains(f, []byte(prefix)) {
			return f
		}
	}
	b.Fatalf("no frame containing %q", prefix)
	return nil
}

// BenchmarkDecode decodes real client frames: a P2P Media Loader announce with 5 offers,
// a WebTorrent answer (binary ids), and a small regular announce.
func BenchmarkDecode(b *testing.B) {
	cases := []struct{ name, match string }{
		{"announce-5-offers", `"peer_id":"-PM0203-`},
		{"answer", `"trackerid":"abc"`},
		{"completed-no-offers", `"event":"completed"`},
	}
	for _, c := range cases {
		frame := benchFrame(b, c.match)
		b.Run(c.name, func(b *testing.B) {
			var m Message
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(frame, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnnounceReply is the hub's reply path: pooled buffer, encode, release.
func BenchmarkAnnounceReply(b *testing.B) {
	ih := []byte("\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78")
	b.ReportAllocs()
	for b.Loop() {
		buf := GetBuffer(96 + 2*len(ih))
		buf = AppendAnnounceReply(buf, 20, ih, 3, 17)
		PutBuffer(buf)
	}
}

// BenchmarkAppendOffer encodes one relayed offer with a real SDP.
func BenchmarkAppendOffer(b *testing.B) {
	var m Message
	if err := Decode(benchFrame(b, `"peer_id":"-PM0203-`), &m); err != nil {
		b.Fatal(err)
	}
	it, err := ParseOfferItem(m.OfferItems[0])
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendOffer(buf[:0], m.InfoHash.Bin, m.PeerID.Bin, it)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendAnswer re-serializes a real answer without to_peer_id.
func BenchmarkAppendAnswer(b *testing.B) {
	var m Message
	if err := Decode(benchFrame(b, `"trackerid":"abc"`), &m); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAnswer(buf[:0], &m)
	}
	b.SetBytes(int64(len(buf)))
}
