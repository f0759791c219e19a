package inflate

import "encoding/binary"

// huffman decodes the data of a Huffman-coded block up to and including its
// end-of-block code.
//
// This is the hot loop. The bit reader and output state live in locals
// while it runs. While 8 input bytes remain, every iteration refills
// without a branch on the bit count (cheaper than a mispredicted branch);
// either way each iteration starts with at least 48 buffered bits,
// enough for the longest length code, its extra bits, the longest distance
// code and its extra bits (15+5+15+13).
func (d *Decoder) huffman(lit, dist *table) error {
	in := d.br.in
	bits, nb, pos := d.br.bits, d.br.nb, d.br.pos
	out, o := d.out, d.o
	lt, lroot := lit.t, lit.root&63
	dt, droot := dist.t, dist.root&63
	lmask := uint64(1)<<lroot - 1
	dmask := uint64(1)<<droot - 1

	var err error
	for {
		if pos+8 <= len(in) {
			bits |= binary.LittleEndian.Uint64(in[pos:]) << (nb & 63)
			pos += int((63 - nb) >> 3)
			nb |= 56
		} else if nb < 48 {
			for nb <= 56 {
				var b uint64
				if pos < len(in) {
					b = uint64(in[pos])
				}
				pos++
				bits |= b << (nb & 63)
				nb += 8
			}
		}

		e := lt[bits&lmask]
		if e&flagSub != 0 {
			e = lt[e>>16+uint32(bits>>lroot)&(1<<(e>>4&15)-1)]
		}
		n := uint(e & 15)
		bits >>= n
		nb -= n
		if pos > len(in) && int(nb) < (pos-len(in))*8 {
			err = errTruncated
			break
		}

		if e&flagLit != 0 {
			if o >= len(out) {
				d.o = o
				if err = d.grow(1); err != nil {
					break
				}
				out = d.out
			}
			out[o] = byte(e >> 16)
			o++
			// At least 33 bits remain, enough for another root-table
			// literal without a refill check.
			e = lt[bits&lmask]
			if e&(flagLit|flagSub) == flagLit && o < len(out) && pos <= len(in) {
				n = uint(e & 15)
				bits >>= n
				nb -= n
				out[o] = byte(e >> 16)
				o++
			}
			continue
		}
		if e&flagSpecial != 0 {
			if e&flagEOB == 0 {
				err = errBadSymbol
			}
			break
		}

		// Length code, then a distance code.
		x := uint(e>>4) & 15
		length := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nb -= x

		e = dt[bits&dmask]
		if e&flagSub != 0 {
			e = dt[e>>16+uint32(bits>>droot)&(1<<(e>>4&15)-1)]
		}
		n = uint(e & 15)
		bits >>= n
		nb -= n
		if e&flagInvalid != 0 {
			err = errBadDistance
			break
		}
		x = uint(e>>4) & 15
		distance := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nb -= x
		if pos > len(in) && int(nb) < (pos-len(in))*8 {
			err = errTruncated
			break
		}
		if distance > o {
			err = errDistTooFar
			break
		}
		if length > len(out)-o {
			d.o = o
			if err = d.grow(length); err != nil {
				break
			}
			out = d.out
		}
		copyMatch(out, o, distance, length)
		o += length
	}

	d.br.bits, d.br.nb, d.br.pos = bits, nb, pos
	d.o = o
	return err
}

// copyMatch copies length bytes starting distance bytes back from out[o:]
// to out[o:]. The source may overlap the destination (distance < length),
// in which case the pattern repeats. The caller guarantees
// 0 < distance <= o and o+length <= len(out).
func copyMatch(out []byte, o, distance, length int) {
	src := o - distance
	if distance >= 8 && o+length+8 <= len(out) {
		// Word copies; each 8-byte load ends at or before the store of
		// the same step starts, so overlapping matches read final bytes.
		// The last store may write up to 7 bytes past the match, which
		// later output overwrites.
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(out[o+i:], binary.LittleEndian.Uint64(out[src+i:]))
		}
		return
	}
	if distance >= length {
		copy(out[o:o+length], out[src:src+length])
		return
	}
	// Overlapping: copy the available part repeatedly; it doubles each time.
	end := o + length
	for o < end {
		o += copy(out[o:end], out[src:o])
	}
}
