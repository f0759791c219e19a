// Package inflate is a fast DEFLATE (RFC 1951) decoder for small messages
// held entirely in memory, such as WebSocket permessage-deflate (RFC 7692)
// payloads negotiated without context takeover.
//
// Unlike compress/flate it does not stream: the whole compressed input is
// available up front and the output slice itself serves as the LZ77 window,
// so back-references are plain copies within one buffer. A Decoder keeps its
// Huffman tables and output buffer between calls, so decoding allocates
// nothing once the buffers have grown to the working size.
//
// Every input is handled without panicking; invalid streams yield errors
// matching ErrCorrupt and the work done is bounded by the output limit.
package inflate

import (
	"errors"
	"fmt"
)

var (
	// ErrTooBig is returned when the decompressed output would exceed the
	// caller's limit.
	ErrTooBig = errors.New("inflate: decompressed message too big")
	// ErrCorrupt is returned for invalid or truncated DEFLATE data. Errors
	// carrying more detail wrap it, so test with errors.Is.
	ErrCorrupt = errors.New("inflate: corrupt input")
)

// Detailed corruption errors, built once so that error paths don't allocate.
var (
	errTruncated    = fmt.Errorf("%w: unexpected end of input", ErrCorrupt)
	errBlockType    = fmt.Errorf("%w: invalid block type", ErrCorrupt)
	errStoredLen    = fmt.Errorf("%w: stored block length mismatch", ErrCorrupt)
	errHeader       = fmt.Errorf("%w: invalid dynamic block header", ErrCorrupt)
	errCodeLengths  = fmt.Errorf("%w: invalid code lengths", ErrCorrupt)
	errBadSymbol    = fmt.Errorf("%w: invalid literal/length code", ErrCorrupt)
	errBadDistance  = fmt.Errorf("%w: invalid distance code", ErrCorrupt)
	errDistTooFar   = fmt.Errorf("%w: distance too far back", ErrCorrupt)
	errRepeatNoPrev = fmt.Errorf("%w: repeat with no previous length", ErrCorrupt)
)

// syncTail is the end of a sync flush (the LEN/NLEN of an empty stored
// block) that RFC 7692 strips from every message.
var syncTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// codeOrder is the order in which code-length code lengths are sent.
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// Decoder decompresses raw DEFLATE streams held entirely in memory. The zero
// value is ready to use; it keeps its tables and output buffer between
// calls. A Decoder is not safe for concurrent use.
type Decoder struct {
	br    bitReader
	in    []byte // copy of the input plus the sync tail, for Message
	out   []byte // output buffer; its capacity is retained between calls
	o     int    // bytes of out written so far
	limit int

	lit, dist, clen table
	lens            [numLitLen + numDist]uint8
}

// Message decodes a permessage-deflate message payload: src is the raw
// DEFLATE data as sent on the wire, without the trailing 00 00 ff ff that
// RFC 7692 removes. It decodes as if those four bytes were appended: the
// message ends at a block boundary where fewer than three bits of that
// extended input remain (normally right after the sync flush's empty stored
// block), or after a final block, in which case the remaining input is
// ignored. Any other end of input is ErrCorrupt.
//
// The result aliases the Decoder's buffer and is valid until the next call.
// If the output would exceed limit bytes, Message returns ErrTooBig.
func (d *Decoder) Message(src []byte, limit int) ([]byte, error) {
	d.in = append(append(d.in[:0], src...), syncTail[:]...)
	return d.decode(d.in, limit, true)
}

// Decode decodes a complete raw DEFLATE stream, which must end with a final
// block; input after the final block is ignored. The result aliases the
// Decoder's buffer and is valid until the next call. If the output would
// exceed limit bytes, Decode returns ErrTooBig.
func (d *Decoder) Decode(src []byte, limit int) ([]byte, error) {
	return d.decode(src, limit, false)
}

func (d *Decoder) decode(in []byte, limit int, message bool) ([]byte, error) {
	d.br = bitReader{in: in}
	d.limit = max(limit, 0)
	if cap(d.out) == 0 {
		d.out = make([]byte, min(max(4*len(in), 1024), d.limit))
	}
	d.out = d.out[:min(cap(d.out), d.limit)]
	d.o = 0
	err := d.blocks(message)
	d.br.in = nil
	out := d.out[:d.o]
	if err != nil {
		return nil, err
	}
	return out, nil
}

// blocks decodes blocks until the end of the stream.
func (d *Decoder) blocks(message bool) error {
	br := &d.br
	for {
		if message && br.remaining() < 3 {
			return nil
		}
		br.refill()
		hdr := br.take(3)
		if br.overrun() {
			return errTruncated
		}
		var err error
		switch hdr >> 1 {
		case 0:
			err = d.stored()
		case 1:
			lit, dist := fixedTables()
			err = d.huffman(lit, dist)
		case 2:
			if err = d.readTables(); err == nil {
				err = d.huffman(&d.lit, &d.dist)
			}
		default:
			err = errBlockType
		}
		if err != nil {
			return err
		}
		if hdr&1 != 0 {
			return nil
		}
	}
}

// stored copies a stored block's bytes to the output.
func (d *Decoder) stored() error {
	in := d.br.in
	p := d.br.align()
	if p+4 > len(in) {
		return errTruncated
	}
	n := int(in[p]) | int(in[p+1])<<8
	nn := int(in[p+2]) | int(in[p+3])<<8
	if n != nn^0xffff {
		return errStoredLen
	}
	p += 4
	if n > len(in)-p {
		return errTruncated
	}
	if n > len(d.out)-d.o {
		if err := d.grow(n); err != nil {
			return err
		}
	}
	d.o += copy(d.out[d.o:], in[p:p+n])
	d.br.pos = p + n
	return nil
}

// grow makes room for at least n more output bytes, or returns ErrTooBig.
func (d *Decoder) grow(n int) error {
	if n > d.limit-d.o {
		return ErrTooBig
	}
	size := min(max(2*len(d.out), d.o+n, 1024), d.limit)
	out := make([]byte, size)
	copy(out, d.out[:d.o])
	d.out = out
	return nil
}

// readTables reads a dynamic block's code definitions into d.lit and d.dist.
func (d *Decoder) readTables() error {
	br := &d.br
	br.refill()
	nlit := int(br.take(5)) + 257
	ndist := int(br.take(5)) + 1
	nclen := int(br.take(4)) + 4
	if nlit > numLitLen || ndist > numDist {
		return errHeader
	}
	var cl [19]uint8
	for i := range nclen {
		if br.nb < 3 {
			br.refill()
		}
		cl[codeOrder[i]] = uint8(br.take(3))
	}
	if !d.clen.build(cl[:], clenBase[:], clenRoot) {
		return errCodeLengths
	}

	ct, mask := d.clen.t, uint64(1)<<d.clen.root-1
	lens := d.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if br.nb < 16 {
			br.refill()
		}
		e := ct[br.bits&mask]
		if e&flagInvalid != 0 {
			return errCodeLengths
		}
		br.take(uint(e & 15))
		sym := uint8(e >> 16)
		if sym < 16 {
			lens[i] = sym
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errRepeatNoPrev
			}
			val = lens[i-1]
			rep = 3 + int(br.take(2))
		case 17:
			rep = 3 + int(br.take(3))
		default:
			rep = 11 + int(br.take(7))
		}
		if rep > len(lens)-i {
			return errCodeLengths
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if br.overrun() {
		return errTruncated
	}
	if !d.lit.build(lens[:nlit], litBase[:], litRootBits) ||
		!d.dist.build(lens[nlit:], distBase[:], distRoot) {
		return errCodeLengths
	}
	return nil
}
