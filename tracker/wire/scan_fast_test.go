package wire

import (
	"bytes"
	"math/rand/v2"
	"strings"
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
		if got, want := canonicalAsIs(tok[1:len(tok)-1]), canonicalAsIsRef(tok[1:len(tok)-1]); got != want {
			t.Fatalf("canonicalAsIs(%q) = %v, the byte-by-byte check says %v", tok, got, want)
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

// canonicalAsIsRef is canonicalAsIs written byte by byte, the reference for its
// eight-bytes-at-a-time version.
func canonicalAsIsRef(inner []byte) bool {
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c >= 0x80:
			return false
		case c == '\\':
			i++
			if !strings.ContainsRune(`"\\bfnrt`, rune(inner[i])) {
				return false
			}
		}
	}
	return true
}

// TestCanonicalAsIsEscapeRuns puts escapes at every offset around the 8-byte boundaries,
// including runs of escaped backslashes and ']' after a backslash (the SWAR borrow trap).
func TestCanonicalAsIsEscapeRuns(t *testing.T) {
	pieces := []string{`\\`, `\n`, `\/`, `\u0041`, `]`, `a`, `\\\\`, `\"`, "\xc3\xa9"}
	for n := 0; n < 24; n++ {
		for _, p := range pieces {
			for _, q := range pieces {
				inner := []byte(strings.Repeat("x", n) + p + q + strings.Repeat("y", 17-n%8))
				if got, want := canonicalAsIs(inner), canonicalAsIsRef(inner); got != want {
					t.Fatalf("canonicalAsIs(%q) = %v, want %v", inner, got, want)
				}
			}
		}
	}
}

// strRef is the string scan written byte by byte: the reference for scanner.str.
func strRef(b []byte, pos int) (end int, flags uint8, ok bool) {
	for i := pos + 1; i < len(b); {
		switch c := b[i]; {
		case c >= 0x80:
			flags |= strHigh
			i++
		case c == '"':
			return i + 1, flags, true
		case c == '\\':
			flags |= strEscape
			if i+1 >= len(b) {
				return 0, 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, 0, false
				}
				for _, h := range b[i+2 : i+6] {
					if hexVal(h) < 0 {
						return 0, 0, false
					}
				}
				i += 6
			default:
				return 0, 0, false
			}
		case c < 0x20:
			return 0, 0, false
		default:
			i++
		}
	}
	return 0, 0, false
}

// TestStrAgainstReference runs scanner.str and strRef on valid and broken strings with
// every special byte at every offset around the eight-byte words.
func TestStrAgainstReference(t *testing.T) {
	pieces := []string{`\\`, `\n`, `\/`, `\u00e9`, `\u00g9`, `\x`, `]`, `a`, "\x01", "\xc3\xa9", "\xff", `\"`, `"`, `\`}
	r := rand.New(rand.NewPCG(3, 4))
	check := func(body string) {
		b := []byte(`"` + body)
		s := scanner{buf: b}
		flags, ok := s.str()
		end, wantFlags, wantOK := strRef(b, 0)
		if ok != wantOK || (ok && (s.pos != end || flags != wantFlags)) {
			t.Fatalf("str(%q) = pos %d flags %b ok %v; reference: %d %b %v", b, s.pos, flags, ok, end, wantFlags, wantOK)
		}
	}
	for n := 0; n < 20; n++ {
		for _, p := range pieces {
			for _, q := range pieces {
				check(strings.Repeat("x", n) + p + q + strings.Repeat("y", 9) + `"`)
				check(strings.Repeat("x", n) + p + q)
			}
		}
	}
	for range 20000 {
		var sb strings.Builder
		for range r.IntN(40) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
			sb.WriteString(strings.Repeat("z", r.IntN(9)))
		}
		check(sb.String())
	}
}
