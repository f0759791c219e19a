package wire

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// decodeUTF8 decodes one code point from b[i:] like the WHATWG UTF-8 decoder (and Node's
// StringDecoder): an invalid sequence yields U+FFFD and consumes its maximal subpart.
func decodeUTF8(b []byte, i int) (r rune, size int) {
	c := b[i]
	if c < 0x80 {
		return rune(c), 1
	}
	var need int
	lower, upper := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need, r = 1, rune(c&0x1F)
	case c >= 0xE0 && c <= 0xEF:
		need, r = 2, rune(c&0x0F)
		if c == 0xE0 {
			lower = 0xA0
		} else if c == 0xED {
			upper = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need, r = 3, rune(c&0x07)
		if c == 0xF0 {
			lower = 0x90
		} else if c == 0xF4 {
			upper = 0x8F
		}
	default:
		return utf8.RuneError, 1
	}
	for k := 1; k <= need; k++ {
		if i+k >= len(b) || b[i+k] < lower || b[i+k] > upper {
			return utf8.RuneError, k
		}
		lower, upper = 0x80, 0xBF
		r = r<<6 | rune(b[i+k]&0x3F)
	}
	return r, need + 1
}

const hexDigits = "0123456789abcdef"

// appendCodePoint appends one code point (or a lone surrogate) the way JSON.stringify's
// QuoteJSONString writes it.
func appendCodePoint(dst []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(dst, '\\', '"')
	case r == '\\':
		return append(dst, '\\', '\\')
	case r == '\b':
		return append(dst, '\\', 'b')
	case r == '\t':
		return append(dst, '\\', 't')
	case r == '\n':
		return append(dst, '\\', 'n')
	case r == '\f':
		return append(dst, '\\', 'f')
	case r == '\r':
		return append(dst, '\\', 'r')
	case r < 0x20, r >= 0xD800 && r <= 0xDFFF:
		return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
	case r < 0x80:
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// AppendBinaryString appends id, a binary string (one byte per UTF-16 code unit), as the
// JSON string JSON.stringify writes for it.
func AppendBinaryString[T ~string | ~[]byte](dst []byte, id T) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if strClass[c] == 0 {
			dst = append(dst, c)
			continue
		}
		switch {
		case c >= 0x80:
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		case c >= 0x20 && c != '"' && c != '\\':
			dst = append(dst, c)
		default:
			dst = appendCodePoint(dst, rune(c))
		}
	}
	return append(dst, '"')
}

func hex4(b []byte) rune {
	return rune(hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3]))
}

// appendCanonicalString appends a validated string token (with quotes) as JSON.stringify
// would write the string JSON.parse makes of it.
func appendCanonicalString(dst []byte, tok []byte) []byte {
	if canonicalAsIs(tok[1 : len(tok)-1]) {
		return append(dst, tok...)
	}
	return rewriteString(dst, tok)
}

// rewriteString is appendCanonicalString without the fast path: it decodes and re-escapes
// every character.
func rewriteString(dst []byte, tok []byte) []byte {
	inner := tok[1 : len(tok)-1]
	dst = append(dst, '"')
	for i := 0; i < len(inner); {
		// Copy the run of plain ASCII up to the next escape or non-ASCII byte at once.
		j := plainRun(inner, i)
		dst = append(dst, inner[i:j]...)
		if i = j; i == len(inner) {
			break
		}
		c := inner[i]
		switch {
		case c == '\\':
			e := inner[i+1]
			if e != 'u' {
				switch e {
				case 'b':
					dst = append(dst, '\\', 'b')
				case 'f':
					dst = append(dst, '\\', 'f')
				case 'n':
					dst = append(dst, '\\', 'n')
				case 'r':
					dst = append(dst, '\\', 'r')
				case 't':
					dst = append(dst, '\\', 't')
				case '/':
					dst = append(dst, '/')
				default: // '"' or '\\'
					dst = append(dst, '\\', e)
				}
				i += 2
				continue
			}
			r := hex4(inner[i+2:])
			i += 6
			if r >= 0xD800 && r <= 0xDBFF && i+6 <= len(inner) && inner[i] == '\\' && inner[i+1] == 'u' {
				if lo := hex4(inner[i+2:]); lo >= 0xDC00 && lo <= 0xDFFF {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			dst = appendCodePoint(dst, r)
		case c < 0x80:
			dst = append(dst, c)
			i++
		default:
			r, n := decodeUTF8(inner, i)
			dst = utf8.AppendRune(dst, r)
			i += n
		}
	}
	return append(dst, '"')
}

// canonicalAsIs reports whether JSON.stringify writes the content of a validated string
// token unchanged: it is ASCII and every escape is one of \" \\ \b \f \n \r \t (SDPs
// are, with their \r\n line ends). Control bytes cannot occur: the scanner rejects them.
func canonicalAsIs(inner []byte) bool {
	// One pass, eight bytes at a time: any byte ≥ 0x80 answers no; each backslash (an
	// SDP has about fifty) is checked where it is found, without restarting a search.
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	next := 0 // the first index not inside an escape already checked
	i := 0
	for ; i+8 <= len(inner); i += 8 {
		w := binary.LittleEndian.Uint64(inner[i:])
		if w&hi != 0 {
			return false
		}
		bs := w ^ (lo * '\\')
		// A zero byte of bs is a backslash. A borrow can also mark the byte above one
		// (']' after '\\'), so every mark is checked.
		for m := (bs - lo) &^ bs & hi; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			if j < next || inner[j] != '\\' {
				continue
			}
			if !shortEscape(inner[j+1]) {
				return false
			}
			next = j + 2
		}
	}
	for i = max(i, next); i < len(inner); i++ {
		switch c := inner[i]; {
		case c >= 0x80:
			return false
		case c == '\\':
			if !shortEscape(inner[i+1]) {
				return false
			}
			i++
		}
	}
	return true
}

// shortEscape reports whether \c is an escape JSON.stringify writes as is.
func shortEscape(c byte) bool {
	switch c {
	case '"', '\\', 'b', 'f', 'n', 'r', 't':
		return true
	}
	return false // '/' or 'u'
}

// isASCII reports whether b has no byte ≥ 0x80, eight bytes at a time.
func isASCII(b []byte) bool {
	var acc uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(b); i++ {
		acc |= uint64(b[i])
	}
	return acc&0x8080808080808080 == 0
}

// appendBinary appends the binary string of a validated string token (with quotes): one
// byte per code point. wide reports a code point above U+00FF; dst is then incomplete and
// must be discarded.
func appendBinary(dst []byte, tok []byte) (_ []byte, wide bool) {
	inner := tok[1 : len(tok)-1]
	for i := 0; i < len(inner); {
		c := inner[i]
		var r rune
		switch {
		case c == '\\':
			switch e := inner[i+1]; e {
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				r = hex4(inner[i+2:])
				i += 4
			default:
				r = rune(e)
			}
			i += 2
		case c < 0x80:
			r = rune(c)
			i++
		default:
			var n int
			r, n = decodeUTF8(inner, i)
			i += n
		}
		if r > 0xFF {
			return dst, true
		}
		dst = append(dst, byte(r))
	}
	return dst, false
}

// parseNumber converts a validated number token to the double JSON.parse produces
// (overflow gives ±Inf, underflow ±0).
func parseNumber(tok []byte) float64 {
	// Fast path: up to 15 digits, no fraction or exponent – exact in a float64.
	neg := tok[0] == '-'
	digits := tok
	if neg {
		digits = tok[1:]
	}
	if len(digits) <= 15 {
		var v int64
		ok := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if ok {
			if neg {
				if v == 0 {
					return math.Copysign(0, -1)
				}
				return float64(-v)
			}
			return float64(v)
		}
	}
	// The token is a valid decimal literal, so the only possible error is ErrRange, for
	// which ParseFloat already returns ±Inf or ±0 like JavaScript. The string does not
	// outlive the call.
	f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	return f
}

// AppendNumber appends f as JSON.stringify writes a number: Number.prototype.toString(10)
// for finite values, null for ±Infinity and NaN.
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits in the form d.ddddde±x.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	var digits [20]byte
	k := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp := 0
	neg := e[i+1] == '-'
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	n := exp + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits[:k]...)
		for j := 0; j < n-k; j++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:k]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for j := 0; j < -n; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[:k]...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:k]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
