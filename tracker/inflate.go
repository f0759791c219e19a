package tracker

import (
	"compress/flate"
	"errors"
	"io"
)

// errInflatedTooBig is a compressed message that inflates past websockets.maxPayloadLength.
var errInflatedTooBig = errors.New("tracker: inflated message exceeds maxPayloadLength")

// deflateTail ends a permessage-deflate message for the inflater: the 00 00 ff ff that the
// sender stripped (RFC 7692 section 7.2.2), then an empty final stored block so the
// decompressor reports a clean io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflater decompresses permessage-deflate messages (no context takeover: every message
// starts with an empty window). One per event loop; not safe for concurrent use.
type inflater struct {
	fr  io.ReadCloser // compress/flate's decompressor, reset per message
	src twoPart
	out []byte // the last message inflated; reused
}

// maxKeptInflated is the largest output buffer an inflater keeps between messages.
const maxKeptInflated = 256 << 10

// inflate returns the decompressed message; the result is valid until the next call.
func (f *inflater) inflate(p []byte, limit int) ([]byte, error) {
	f.src = twoPart{a: p, b: deflateTail}
	if f.fr == nil {
		f.fr = flate.NewReader(&f.src)
	} else if err := f.fr.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return nil, err
	}
	if cap(f.out) > maxKeptInflated {
		f.out = nil
	}
	out := f.out[:0]
	if cap(out) == 0 {
		out = make([]byte, 0, 4096)
	}
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := f.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		f.out = out
		if len(out) > limit {
			return nil, errInflatedTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// twoPart reads a, then b; it is an io.ByteReader so that compress/flate reads it directly
// instead of through a bufio.Reader of its own.
type twoPart struct{ a, b []byte }

func (t *twoPart) Read(p []byte) (int, error) {
	if len(t.a) == 0 {
		t.a, t.b = t.b, nil
		if len(t.a) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, t.a)
	t.a = t.a[n:]
	return n, nil
}

func (t *twoPart) ReadByte() (byte, error) {
	if len(t.a) == 0 {
		t.a, t.b = t.b, nil
		if len(t.a) == 0 {
			return 0, io.EOF
		}
	}
	c := t.a[0]
	t.a = t.a[1:]
	return c, nil
}
