package inflate

import "encoding/binary"

// bitReader reads a DEFLATE bit stream least-significant bit first through
// a 64-bit buffer.
//
// Refills never fail: past the end of in they shift in zero bytes and still
// advance pos, so pos-len(in) counts those phantom bytes. Callers detect
// truncation with overrun, which reports whether more bits were consumed
// than the input holds.
//
// Bits above nb in the buffer may hold copies of the next input bytes (the
// fast refill loads 8 bytes but only accounts for whole bytes that fit);
// later refills OR the very same bits in again, so that is harmless, but
// callers must mask values to the bits they consume.
type bitReader struct {
	in   []byte
	pos  int    // next byte of in to load into bits
	bits uint64 // buffered bits, next bit in bit 0
	nb   uint   // number of valid bits in bits
}

// refill tops the buffer up to at least 56 bits.
func (br *bitReader) refill() {
	if br.pos+8 <= len(br.in) {
		br.bits |= binary.LittleEndian.Uint64(br.in[br.pos:]) << (br.nb & 63)
		br.pos += int((63 - br.nb) >> 3)
		br.nb |= 56
		return
	}
	br.refillSlow()
}

// refillSlow loads one byte at a time, with zero bytes past the end.
func (br *bitReader) refillSlow() {
	for br.nb <= 56 {
		var b uint64
		if br.pos < len(br.in) {
			b = uint64(br.in[br.pos])
		}
		br.pos++
		br.bits |= b << (br.nb & 63)
		br.nb += 8
	}
}

// take consumes and returns n (at most nb) bits.
func (br *bitReader) take(n uint) uint32 {
	v := uint32(br.bits & (1<<(n&63) - 1))
	br.bits >>= n & 63
	br.nb -= n
	return v
}

// remaining returns the number of unconsumed input bits; it is negative
// after an overrun.
func (br *bitReader) remaining() int {
	return len(br.in)*8 - (br.pos*8 - int(br.nb))
}

// overrun reports whether more bits were consumed than the input holds.
func (br *bitReader) overrun() bool {
	return br.pos > len(br.in) && int(br.nb) < (br.pos-len(br.in))*8
}

// align drops the bits up to the next byte boundary and empties the buffer,
// returning the index of the next unconsumed byte. The result may exceed
// len(in) after an overrun.
func (br *bitReader) align() int {
	p := br.pos - int(br.nb>>3)
	br.bits, br.nb, br.pos = 0, 0, p
	return p
}
