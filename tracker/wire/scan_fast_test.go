package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// randomStringToken returns a valid JSON string token mixing plain ASCII, every escape
// form, UTF-8 and quotes, biased towards SDP-like content.
func randomStringToken(r *rand.Rand) []byte {
	parts := []string{`a`, `v=0`, `\r\n`, `\"`, `\\`, `\/`, `\b`, `\f`, `\t`, `\n`, `\u0041`, `\u00e9`, `\ud83d\ude00`, `\ud800`, `é`, `😀`, ` `, `\\\"`, `\\\\`, `12345678`, `~`, "\x7f"}
	b := []byte{'"'}
	for n := r.IntN(40); n > 0; n-- {
		b = append(b, parts[r.IntN(len(parts))]...)
	}
	return append(b, '"')
}

// TestStringFastPaths checks the shortcuts against the slow paths they skip: the
// trusted-string skip against the validating scanner, and canonicalAsIs (copy unchanged)
// against re-escaping every character.
func TestStringFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		tok := randomStringToken(r)
		frame := append(append([]byte(nil), tok...), `,1`...)
		s := scanner{buf: frame}
		if _, ok := s.str(); !ok {
			t.Fatalf("generated token %q does not validate", tok)
		}
		if got := skipValidatedString(frame, 1); got != s.pos {
			t.Fatalf("skipValidatedString(%q) = %d, want %d", frame, got, s.pos)
		}
		slow := rewriteString(nil, tok)
		if canonicalAsIs(tok[1:len(tok)-1]) && !bytes.Equal(slow, tok) {
			t.Fatalf("canonicalAsIs(%q) but JSON.stringify writes %q", tok, slow)
		}
		if got := appendCanonicalString(nil, tok); !bytes.Equal(got, slow) {
			t.Fatalf("appendCanonicalString(%q) = %q, want %q", tok, got, slow)
		}
	}
}

// TestPlainRunFirstSpecial checks the eight-bytes-at-a-time scan against a byte loop, with the first
// special byte at every offset.
func TestPlainRunFirstSpecial(t *testing.T) {
	ref := func(b []byte, i int) int {
		for i < len(b) && strClass[b[i]] == 0 {
			i++
		}
		return i
	}
	for _, special := range []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff} {
		for n := 0; n < 40; n++ {
			for at := 0; at <= n; at++ {
				b := bytes.Repeat([]byte{']'}, n) // ']' is '\\'^1: a borrow trap for the SWAR test
				if at < n {
					b[at] = special
				}
				for start := 0; start <= at && start <= n; start++ {
					if got, want := plainRun(b, start), ref(b, start); got != want {
						t.Fatalf("plainRun(%q, %d) = %d, want %d", b, start, got, want)
					}
				}
			}
		}
	}
}
