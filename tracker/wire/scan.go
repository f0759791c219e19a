package wire

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// scanner validates JSON with JSON.parse's grammar (RFC 8259: whitespace is space, tab,
// LF, CR; no leading zeros; no trailing commas) and records where values are. It never
// allocates; the first error stops it.
type scanner struct {
	buf     []byte
	pos     int
	depth   int
	errKind ErrorKind
	errPos  int
	// trusted: buf was validated before (a re-walk of a decoded Message's values), so
	// strings are skipped by looking for their closing quote only, and str reports no flags.
	trusted bool
}

// String flags reported by str.
const (
	strEscape = 1 << iota // the token holds a backslash escape
	strHigh               // the token holds a byte ≥ 0x80
)

func (s *scanner) fail(kind ErrorKind, pos int) bool {
	if s.errKind == 0 {
		s.errKind, s.errPos = kind, pos
	}
	return false
}

func (s *scanner) ws() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value skips one value at s.pos (whitespace already skipped) and returns its kind.
func (s *scanner) value() (Kind, bool) {
	if s.pos >= len(s.buf) {
		return 0, s.fail(ErrSyntax, s.pos)
	}
	switch c := s.buf[s.pos]; {
	case c == '{':
		return KindObject, s.object()
	case c == '[':
		return KindArray, s.array()
	case c == '"':
		_, ok := s.str()
		return KindString, ok
	case c == 't':
		return KindBool, s.lit("true")
	case c == 'f':
		return KindBool, s.lit("false")
	case c == 'n':
		return KindNull, s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return KindNumber, s.number()
	}
	return 0, s.fail(ErrSyntax, s.pos)
}

func (s *scanner) lit(word string) bool {
	if len(s.buf)-s.pos < len(word) || string(s.buf[s.pos:s.pos+len(word)]) != word {
		return s.fail(ErrSyntax, s.pos)
	}
	s.pos += len(word)
	return true
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > MaxDepth {
		return s.fail(ErrTooDeep, s.pos)
	}
	return true
}

// object skips an object; s.pos is at '{'.
func (s *scanner) object() bool {
	if !s.enter() {
		return false
	}
	s.pos++
	s.ws()
	if s.pos < len(s.buf) && s.buf[s.pos] == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
			return s.fail(ErrSyntax, s.pos)
		}
		if _, ok := s.str(); !ok {
			return false
		}
		if !s.colon() {
			return false
		}
		if _, ok := s.value(); !ok {
			return false
		}
		more, ok := s.next('}')
		if !ok {
			return false
		}
		if !more {
			s.depth--
			return true
		}
	}
}

// array skips an array; s.pos is at '['.
func (s *scanner) array() bool {
	if !s.enter() {
		return false
	}
	s.pos++
	s.ws()
	if s.pos < len(s.buf) && s.buf[s.pos] == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if _, ok := s.value(); !ok {
			return false
		}
		more, ok := s.next(']')
		if !ok {
			return false
		}
		if !more {
			s.depth--
			return true
		}
	}
}

// arrayElems is array, also appending each element's span to dst.
func (s *scanner) arrayElems(dst []Raw) ([]Raw, bool) {
	if !s.enter() {
		return dst, false
	}
	s.pos++
	s.ws()
	if s.pos < len(s.buf) && s.buf[s.pos] == ']' {
		s.pos++
		s.depth--
		return dst, true
	}
	for {
		start := s.pos
		if _, ok := s.value(); !ok {
			return dst, false
		}
		dst = append(dst, Raw(s.buf[start:s.pos]))
		more, ok := s.next(']')
		if !ok {
			return dst, false
		}
		if !more {
			s.depth--
			return dst, true
		}
	}
}

// objectMember skips a validated object at s.pos and returns the value of its last member
// named name (nil if there is none).
func (s *scanner) objectMember(name string) Raw {
	var found Raw
	s.pos++
	s.ws()
	for s.buf[s.pos] != '}' {
		kstart := s.pos
		s.str()
		key := s.buf[kstart:s.pos]
		s.colon()
		vstart := s.pos
		s.value()
		if keyIs(key, name) {
			found = s.buf[vstart:s.pos]
		}
		s.ws()
		if s.buf[s.pos] == ',' {
			s.pos++
			s.ws()
		}
	}
	s.pos++
	return found
}

// colon consumes whitespace, ':' and whitespace.
func (s *scanner) colon() bool {
	s.ws()
	if s.pos >= len(s.buf) || s.buf[s.pos] != ':' {
		return s.fail(ErrSyntax, s.pos)
	}
	s.pos++
	s.ws()
	return true
}

// next consumes the separator after a member or element: "," (more=true, whitespace after
// it skipped) or the closing byte (more=false).
func (s *scanner) next(closing byte) (more, ok bool) {
	s.ws()
	if s.pos >= len(s.buf) {
		return false, s.fail(ErrSyntax, s.pos)
	}
	switch s.buf[s.pos] {
	case ',':
		s.pos++
		s.ws()
		return true, true
	case closing:
		s.pos++
		return false, true
	}
	return false, s.fail(ErrSyntax, s.pos)
}

// strClass classifies string bytes: 0 plain ASCII, strHigh for bytes ≥ 0x80, strStop for
// bytes that end the fast loop ('"', '\\' and control characters).
var strClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = strStop
	}
	t['"'], t['\\'] = strStop, strStop
	for c := 0x80; c < 0x100; c++ {
		t[c] = strHigh
	}
	return t
}()

const strStop = 1 << 7

// plainRun returns the index of the first byte at or after i that is not plain ASCII
// string content ('"', '\\', a control character or a byte ≥ 0x80), or len(b). It checks
// eight bytes at a time.
func plainRun(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (lo * '"')
		bs := w ^ (lo * '\\')
		// Standard SWAR tests: a byte < 0x20, a zero byte in q or bs, or a high bit set.
		// Borrows can mark bytes above a match, never below one, so the lowest mark is
		// the first special byte.
		if m := ((w-lo*0x20)&^w | (q-lo)&^q | (bs-lo)&^bs | w) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && strClass[b[i]] == 0 {
		i++
	}
	return i
}

// str skips a string token; s.pos is at its opening quote.
func (s *scanner) str() (flags uint8, ok bool) {
	b := s.buf
	i := s.pos + 1
	if s.trusted {
		s.pos = skipValidatedString(b, i)
		return 0, true
	}
	// Eight bytes at a time: every special byte of a word (quote, backslash, control,
	// ≥ 0x80) is dealt with where it is found, so a string with many escapes (an SDP has
	// about fifty \r\n) is still one pass.
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	next := i // the first index not yet checked
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (lo * '"')
		bs := w ^ (lo * '\\')
		m := ((w-lo*0x20)&^w | (q-lo)&^q | (bs-lo)&^bs | w) & hi
		for ; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			if j < next || strClass[b[j]] == 0 {
				continue // inside an escape already checked, or a borrow's false mark
			}
			var done bool
			if next, flags, done = s.special(j, flags); done {
				return s.strEnd(next, flags)
			}
		}
	}
	for i = max(i, next); ; {
		i = plainRun(b, i)
		if i >= len(b) {
			return 0, s.fail(ErrSyntax, i)
		}
		var done bool
		if i, flags, done = s.special(i, flags); done {
			return s.strEnd(i, flags)
		}
	}
}

// strEnd finishes str once special reported the end: next is the index after the closing
// quote, or -1 after a syntax error (already recorded).
func (s *scanner) strEnd(next int, flags uint8) (uint8, bool) {
	if next < 0 {
		return 0, false
	}
	s.pos = next
	return flags, true
}

// special handles the special byte at b[i] of a string being scanned: it returns the
// index after it (after the whole escape), or with done, the index after the closing
// quote (-1 after a syntax error, recorded by fail).
func (s *scanner) special(i int, flags uint8) (next int, _ uint8, done bool) {
	b := s.buf
	switch c := b[i]; {
	case c >= 0x80:
		return i + 1, flags | strHigh, false
	case c == '"':
		return i + 1, flags, true
	case c == '\\':
		flags |= strEscape
		if i+1 >= len(b) {
			return -1, 0, !s.fail(ErrSyntax, i)
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			return i + 2, flags, false
		case 'u':
			if i+6 > len(b) {
				return -1, 0, !s.fail(ErrSyntax, i)
			}
			for _, h := range b[i+2 : i+6] {
				if hexVal(h) < 0 {
					return -1, 0, !s.fail(ErrSyntax, i)
				}
			}
			return i + 6, flags, false
		}
		return -1, 0, !s.fail(ErrSyntax, i)
	default: // control character
		return -1, 0, !s.fail(ErrSyntax, i)
	}
}

// skipValidatedString returns the index just after the closing quote of a validated string
// whose content starts at i. Only a quote preceded by an even number of backslashes closes
// it; bytes.IndexByte finds quotes quickly, and SDPs rarely contain any.
func skipValidatedString(b []byte, i int) int {
	for {
		j := i + bytes.IndexByte(b[i:], '"')
		k := j
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j + 1
		}
		i = j + 1
	}
}

// number skips a number token with JSON's grammar.
func (s *scanner) number() bool {
	b, i := s.buf, s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return s.fail(ErrSyntax, i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return s.fail(ErrSyntax, i)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return s.fail(ErrSyntax, i)
		}
	}
	s.pos = i
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
