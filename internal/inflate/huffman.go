package inflate

import (
	"math/bits"
	"sync"
)

// Table entries are uint32 values laid out as:
//
//	bits  0..3   code length n (bits to consume), 0 for invalid entries
//	bits  4..7   extra-bit count (lengths, distances) or sub-table index bits (links)
//	bits  8..11  flags
//	bits 16..31  value: literal byte, length/distance base, code-length symbol,
//	             or the offset of a sub-table for link entries
//
// A lookup indexes the root table with the next root bits of input. Codes
// longer than root bits live in sub-tables: the root entry is a link and the
// next sub-table index bits (above the root bits) select the final entry,
// which holds the full code length.
const (
	flagLit     = 1 << 8  // literal byte in value
	flagEOB     = 1 << 9  // end of block
	flagSub     = 1 << 10 // link to a sub-table
	flagInvalid = 1 << 11 // unassigned code or forbidden symbol
	flagSpecial = flagEOB | flagInvalid

	entryInvalid = flagInvalid

	maxCodeLen  = 15
	litRootBits = 10 // root table bits for literal/length codes
	distRoot    = 8  // root table bits for distance codes
	clenRoot    = 7  // code-length codes are at most 7 bits long

	numLitLen = 286 // literal/length symbols usable in a dynamic block
	numDist   = 30  // distance symbols usable in a dynamic block
)

// litBase and distBase hold the per-symbol entry templates (everything but
// the code length). Symbols 286, 287 and distance symbols 30, 31 can only be
// coded by the fixed code and are invalid.
var (
	litBase  [288]uint32
	distBase [32]uint32
	clenBase [19]uint32
)

func init() {
	for s := 0; s < 256; s++ {
		litBase[s] = flagLit | uint32(s)<<16
	}
	litBase[256] = flagEOB
	length := 3
	for s := 257; s < 285; s++ {
		i := s - 257
		extra := 0
		if i >= 8 {
			extra = i/4 - 1
		}
		litBase[s] = uint32(length)<<16 | uint32(extra)<<4
		length += 1 << extra
	}
	litBase[285] = 258 << 16
	litBase[286] = entryInvalid
	litBase[287] = entryInvalid

	dist := 1
	for s := 0; s < 30; s++ {
		extra := 0
		if s >= 4 {
			extra = s/2 - 1
		}
		distBase[s] = uint32(dist)<<16 | uint32(extra)<<4
		dist += 1 << extra
	}
	distBase[30] = entryInvalid
	distBase[31] = entryInvalid

	for s := range clenBase {
		clenBase[s] = uint32(s) << 16
	}
}

// table is a decoding table: a root table of 1<<root entries followed by
// sub-tables.
type table struct {
	t    []uint32
	root uint
}

// build makes tab decode the canonical Huffman code described by lengths
// (one code length per symbol, 0 = unused), using base for the per-symbol
// entry templates. The root table has min(maxRoot, longest code) bits.
//
// Like compress/flate (and zlib), it accepts complete codes, the empty code
// (every lookup then fails) and the degenerate code made of a single
// one-bit code; every other incomplete or over-subscribed code is rejected.
func (tab *table) build(lengths []uint8, base []uint32, maxRoot uint) bool {
	// Two interleaved counters break the store-to-load dependency between
	// consecutive equal lengths.
	var count, count2 [maxCodeLen + 1]int
	i := 0
	for ; i+1 < len(lengths); i += 2 {
		count[lengths[i]&15]++
		count2[lengths[i+1]&15]++
	}
	if i < len(lengths) {
		count[lengths[i]&15]++
	}
	for l := range count {
		count[l] += count2[l]
	}
	count[0] = 0
	maxLen := maxCodeLen
	for maxLen > 0 && count[maxLen] == 0 {
		maxLen--
	}
	root := min(maxRoot, uint(maxLen))
	size := 1 << root
	if maxLen == 0 {
		tab.t = grow32(tab.t, 1)
		tab.t[0] = entryInvalid
		tab.root = 0
		return true
	}

	// Kraft sum scaled by 2^maxLen; also the start offsets of each length
	// in the symbol list sorted by (length, symbol).
	code := 0
	var offs [maxCodeLen + 2]int
	for l := 1; l <= maxLen; l++ {
		code = code<<1 + count[l]
		offs[l+1] = offs[l] + count[l]
	}
	complete := code == 1<<maxLen
	if !complete && !(code == 1 && maxLen == 1) {
		return false
	}

	subBits := 0
	need := size
	if uint(maxLen) > root {
		subBits = maxLen - int(root)
		long := 0
		for l := int(root) + 1; l <= maxLen; l++ {
			long += count[l]
		}
		need += long << subBits
	}
	tab.t = grow32(tab.t, need)
	tab.root = root
	t := tab.t
	if !complete {
		for i := range size {
			t[i] = entryInvalid
		}
	}

	var sorted [288]uint16
	for s, l := range lengths {
		if l != 0 {
			sorted[offs[l]] = uint16(s)
			offs[l]++
		}
	}

	// Assign canonical codes in (length, symbol) order. Codes are sent
	// most-significant bit first, so table indexes use the reversed code.
	//
	// Root-table codes are placed by doubling: before length l is handled,
	// t[:1<<(l-1)] decodes every code shorter than l; copying it to the
	// upper half extends that to l-bit indexes, after which each l-bit
	// code needs a single store.
	code = 0
	k := 0
	for l := 1; l <= int(root); l++ {
		half := 1 << (l - 1)
		copy(t[half:2*half], t[:half])
		for range count[l] {
			t[bits.Reverse16(uint16(code))>>(16-l)] = base[sorted[k]] | uint32(l)
			k++
			code++
		}
		code <<= 1
	}
	if maxLen <= int(root) {
		return true
	}

	// Longer codes go to sub-tables of 1<<subBits entries, one per root
	// prefix. Codes sharing a prefix are consecutive in canonical order.
	next := size
	curPrefix := -1
	subOff := 0
	for l := int(root) + 1; l <= maxLen; l++ {
		for range count[l] {
			e := base[sorted[k]] | uint32(l)
			k++
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l))
			code++
			prefix := rev & (size - 1)
			if prefix != curPrefix {
				curPrefix = prefix
				subOff = next
				next += 1 << subBits
				t[prefix] = flagSub | uint32(subBits)<<4 | uint32(subOff)<<16
			}
			sub := t[subOff : subOff+1<<subBits]
			for j := rev >> root; j < len(sub); j += 1 << (l - int(root)) {
				sub[j] = e
			}
		}
		code <<= 1
	}
	return true
}

// grow32 returns s resliced (or reallocated) to length n.
func grow32(s []uint32, n int) []uint32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]uint32, n)
}

// Fixed Huffman tables (RFC 1951 section 3.2.6), built on first use.
var (
	fixedOnce sync.Once
	fixedLit  table
	fixedDist table
)

func fixedTables() (*table, *table) {
	fixedOnce.Do(func() {
		var lengths [288]uint8
		for i := range lengths {
			switch {
			case i < 144:
				lengths[i] = 8
			case i < 256:
				lengths[i] = 9
			case i < 280:
				lengths[i] = 7
			default:
				lengths[i] = 8
			}
		}
		fixedLit.build(lengths[:], litBase[:], litRootBits)
		var dl [32]uint8
		for i := range dl {
			dl[i] = 5
		}
		fixedDist.build(dl[:], distBase[:], distRoot)
	})
	return &fixedLit, &fixedDist
}
