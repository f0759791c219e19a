package wire

import (
	"bytes"
	"cmp"
	"slices"
)

// AppendCanonical appends v, a JSON value taken from a decoded Message (so already
// validated), as JSON.stringify(JSON.parse(v)) writes it: no whitespace, canonical string
// escapes, JS number formatting, duplicate keys collapsed (first position, last value) and
// array-index keys first.
func AppendCanonical(dst []byte, v Raw) []byte {
	switch c := v[0]; {
	case c == '"':
		return appendCanonicalString(dst, v)
	case c == '{':
		return appendCanonicalObject(dst, v)
	case c == '[':
		return appendCanonicalArray(dst, v)
	case c == 't' || c == 'f' || c == 'n':
		return append(dst, v...)
	}
	if plainInteger(v) {
		return append(dst, v...)
	}
	return AppendNumber(dst, parseNumber(v))
}

// plainInteger reports a number token that JS prints unchanged: an integer of at most 15
// digits that is not -0.
func plainInteger(v Raw) bool {
	d := v
	if d[0] == '-' {
		d = d[1:]
		if len(d) == 1 && d[0] == '0' {
			return false
		}
	}
	if len(d) > 15 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func appendCanonicalArray(dst []byte, v Raw) []byte {
	var buf [16]Raw
	elems := appendElements(buf[:0], v)
	dst = append(dst, '[')
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendCanonical(dst, e)
	}
	return append(dst, ']')
}

func appendCanonicalObject(dst []byte, v Raw) []byte {
	var buf [16]Member
	var keys []byte
	ms := buf[:0]
	eachMember(v, func(key, val Raw) {
		if needsCanonical(key) {
			start := len(keys)
			keys = appendCanonicalString(keys, key)
			key = keys[start:len(keys):len(keys)]
		}
		ms = append(ms, Member{Key: key, Value: val})
	})
	return appendMembers(dst, ms, "")
}

func needsCanonical(tok []byte) bool {
	for _, c := range tok {
		if c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

// appendMembers writes ms as one object in JS property order, leaving out every member
// whose key is skip.
func appendMembers(dst []byte, ms []Member, skip string) []byte {
	var obuf [32]int
	order := memberOrder(obuf[:0], len(ms), func(i int) []byte { return ms[i].Key })
	dst = append(dst, '{')
	first := true
	for _, i := range order {
		if skip != "" && string(ms[i].Key) == skip {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, ms[i].Key...)
		dst = append(dst, ':')
		dst = AppendCanonical(dst, ms[i].Value)
	}
	return append(dst, '}')
}

// memberOrder appends the indices of the members to write, in JS property order: one per
// distinct key, the index of its last occurrence (JSON.parse keeps the last value) at the
// position of its first occurrence, with array-index keys moved to the front in ascending
// numeric order. key(i) is the canonical key token of member i.
func memberOrder(order []int, n int, key func(int) []byte) []int {
	start := len(order)
	if n <= 32 {
		for i := 0; i < n; i++ {
			k := key(i)
			dup := false
			for j := 0; j < i; j++ {
				if bytes.Equal(key(j), k) {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			last := i
			for j := n - 1; j > i; j-- {
				if bytes.Equal(key(j), k) {
					last = j
					break
				}
			}
			order = append(order, last)
		}
	} else {
		lastIdx := make(map[string]int, n)
		for i := 0; i < n; i++ {
			lastIdx[string(key(i))] = i
		}
		seen := make(map[string]struct{}, len(lastIdx))
		for i := 0; i < n; i++ {
			k := key(i)
			if _, ok := seen[string(k)]; ok {
				continue
			}
			seen[string(k)] = struct{}{}
			order = append(order, lastIdx[string(k)])
		}
	}
	sel := order[start:]
	for _, i := range sel {
		if _, ok := arrayIndex(key(i)); ok {
			slices.SortStableFunc(sel, func(a, b int) int {
				ia, oka := arrayIndex(key(a))
				ib, okb := arrayIndex(key(b))
				switch {
				case oka && okb:
					return cmp.Compare(ia, ib)
				case oka:
					return -1
				case okb:
					return 1
				}
				return 0
			})
			break
		}
	}
	return order
}

// arrayIndex reports whether a canonical key token names an array index (a canonical
// decimal below 2^32−1), which JS orders before all other keys.
func arrayIndex(tok []byte) (uint64, bool) {
	d := tok[1 : len(tok)-1]
	if len(d) == 0 || len(d) > 10 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	var v uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= 4294967294
}

// eachMember calls fn for every member of a validated object token.
func eachMember(obj Raw, fn func(key, val Raw)) {
	s := scanner{buf: obj, pos: 1, trusted: true}
	s.ws()
	if obj[s.pos] == '}' {
		return
	}
	for {
		kstart := s.pos
		s.str()
		key := obj[kstart:s.pos]
		s.colon()
		vstart := s.pos
		s.value()
		fn(key, obj[vstart:s.pos])
		s.ws()
		if obj[s.pos] == '}' {
			return
		}
		s.pos++ // ','
		s.ws()
	}
}

// keyIs reports whether the key token decodes to name.
func keyIs(tok Raw, name string) bool {
	if !needsCanonical(tok) {
		return len(tok) == len(name)+2 && string(tok[1:len(tok)-1]) == name
	}
	var buf [64]byte
	c := appendCanonicalString(buf[:0], tok)
	return len(c) == len(name)+2 && string(c[1:len(c)-1]) == name
}
