package inflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// testSDP is a realistic WebRTC data-channel offer (about 1.3 KB). The
// "%d" verbs are filled in by sdp so that copies differ slightly.
const testSDP = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=candidate:%d 1 udp 2113937151 3c1f5a9e-8d2b-4f61-9a7c-2e5b8d0f4c13.local 54%03d typ host generation 0 network-cost 999\r\n" +
	"a=candidate:842163049 1 udp 1677729535 203.0.113.%d 61%03d typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\n" +
	"a=candidate:1467250027 1 tcp 1518280447 192.168.1.%d 9 typ host tcptype active generation 0 network-id 1\r\n" +
	"a=candidate:3279014962 1 udp 41885439 198.51.100.7 3478%d typ relay raddr 203.0.113.24 rport 61327 generation 0\r\n" +
	"a=candidate:%d 1 udp 1685987071 100.64.%d.12 50%03d typ srflx raddr 10.0.0.%d rport 50123 generation 0 network-id 2 network-cost 10\r\n" +
	"a=candidate:4233069003 1 tcp 1518214911 10.0.0.%d 9 typ host tcptype active generation 0 network-id 2 network-cost 10\r\n" +
	"a=candidate:2999745851 1 udp 2122260223 fd00:c2b6:b24b:be67:2827:688d:e6a1:6a3b 57%03d typ host generation 0\r\n" +
	"a=ice-ufrag:%s\r\n" +
	"a=ice-pwd:%s\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 %s\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sctp-port:5000\r\n" +
	"a=max-message-size:262144\r\n"

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randString(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// sdp returns a JSON-escaped SDP offer with per-copy random details.
func sdp(r *rand.Rand) string {
	fp := make([]string, 32)
	for i := range fp {
		fp[i] = fmt.Sprintf("%02X", r.IntN(256))
	}
	s := fmt.Sprintf(testSDP,
		r.Uint32(), r.IntN(1000), r.IntN(255), r.IntN(1000), r.IntN(255),
		r.IntN(10), r.Uint32(), r.IntN(255), r.IntN(1000), r.IntN(255), r.IntN(255), r.IntN(1000),
		randString(r, 4, alnum), randString(r, 24, alnum+"+/"),
		strings.Join(fp, ":"))
	return strings.ReplaceAll(s, "\r\n", `\r\n`)
}

// answerJSON is a ~1.5 KB tracker "answer" message.
func answerJSON(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	return fmt.Appendf(nil,
		`{"action":"announce","info_hash":"%s","peer_id":"%s","to_peer_id":"%s","offer_id":"%s","answer":{"type":"answer","sdp":"%s"}}`,
		randString(r, 20, alnum), randString(r, 20, alnum), randString(r, 20, alnum),
		randString(r, 20, alnum), sdp(r))
}

// announceJSON is a ~14 KB tracker "announce" message with 10 offers.
func announceJSON(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"action":"announce","info_hash":"%s","peer_id":"%s","numwant":10,"uploaded":0,"downloaded":%d,"left":%d,"event":"started","offers":[`,
		randString(r, 20, alnum), randString(r, 20, alnum), r.IntN(1<<20), r.IntN(1<<30))
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"offer_id":"%s","offer":{"type":"offer","sdp":"%s"}}`, randString(r, 20, alnum), sdp(r))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// compressMessage compresses the given segments as one permessage-deflate
// message: each segment is written and sync-flushed, then the trailing
// 00 00 ff ff is removed. With final, the stream is closed instead of
// flushed after the last segment and nothing is removed.
func compressMessage(tb testing.TB, level int, final bool, segments ...[]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		tb.Fatal(err)
	}
	for i, s := range segments {
		if _, err := w.Write(s); err != nil {
			tb.Fatal(err)
		}
		if final && i == len(segments)-1 {
			break
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	if final {
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	b := buf.Bytes()
	if !bytes.HasSuffix(b, syncTail[:]) {
		tb.Fatalf("flushed stream does not end with the sync tail: % x", b[max(0, len(b)-8):])
	}
	return b[:len(b)-4]
}
