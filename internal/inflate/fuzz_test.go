package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"
)

type flateVerdict int

const (
	flateOK      flateVerdict = iota // ended cleanly: final block or sync flush
	flateCorrupt                     // flate.CorruptInputError
	flateTooBig                      // more than limit bytes of output
	flateUnclear                     // ran out of input, maybe mid-block
)

// classifyFlate decodes src followed by the sync tail with compress/flate.
//
// compress/flate reports io.EOF after a final block and
// io.ErrUnexpectedEOF whenever input runs out, whether at a block boundary
// (a normal permessage-deflate message) or in the middle of a block. To
// tell them apart, it decodes again with an empty final fixed block
// (bytes 03 00) appended: if the first run stopped at a byte-aligned block
// boundary, the second one ends with io.EOF and the same output.
func classifyFlate(src []byte, limit int) ([]byte, flateVerdict) {
	in := append(append([]byte{}, src...), syncTail[:]...)
	out, err := readAllLimit(flate.NewReader(bytes.NewReader(in)), limit)
	var ce flate.CorruptInputError
	switch {
	case len(out) > limit:
		return nil, flateTooBig
	case errors.As(err, &ce):
		return nil, flateCorrupt
	case err == io.EOF:
		return out, flateOK
	case err != io.ErrUnexpectedEOF:
		panic(err)
	}
	in = append(in, 0x03, 0x00)
	out2, err := readAllLimit(flate.NewReader(bytes.NewReader(in)), limit)
	if err == io.EOF && bytes.Equal(out, out2) {
		return out, flateOK
	}
	return out, flateUnclear
}

func fuzzSeeds(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{})
	f.Add([]byte{0x03, 0x00})
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		f.Add(compressMessage(f, level, false, answerJSON(10)))
		f.Add(compressMessage(f, level, true, []byte("hello, hello, hello world")))
		f.Add(compressMessage(f, level, false, randomBytes(10, 300), []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")))
	}
}

func FuzzMessage(f *testing.F) {
	fuzzSeeds(f)
	const limit = 1 << 22
	var d Decoder
	f.Fuzz(func(t *testing.T, src []byte) {
		want, verdict := classifyFlate(src, limit)
		got, err := d.Message(src, limit)
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooBig) {
			t.Fatalf("unexpected error type: %v", err)
		}
		switch verdict {
		case flateOK:
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("flate decoded %d bytes; we got %d bytes, err %v", len(want), len(got), err)
			}
		case flateCorrupt:
			if err == nil {
				t.Fatalf("flate reported corruption; we decoded %d bytes", len(got))
			}
		case flateTooBig:
			if err == nil {
				t.Fatalf("flate output exceeds the limit; we decoded %d bytes", len(got))
			}
		case flateUnclear:
			// Out of input, perhaps mid-block. If we accept the
			// message, flate must have produced the same bytes.
			if err == nil && !bytes.Equal(got, want) {
				t.Fatalf("flate decoded %d bytes; we got %d bytes", len(want), len(got))
			}
		}
		if errors.Is(err, ErrTooBig) && verdict != flateTooBig {
			t.Fatalf("ErrTooBig, but flate's output fits")
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(nil), 6, false)
	f.Add(answerJSON(11), 1, false)
	f.Add(announceJSON(11)[:4000], 9, true)
	f.Add(randomBytes(11, 500), -2, false)
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte, level int, final bool) {
		level = level%11 - 1 // -2 (HuffmanOnly) ... 9
		if level < flate.HuffmanOnly {
			level += 11
		}
		// Two segments exercise sync flushes inside a message.
		half := len(data) / 2
		src := compressMessage(t, level, final, data[:half], data[half:])
		got, err := d.Message(src, len(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("level %d: err %v, got %d bytes, want %d", level, err, len(got), len(data))
		}
		if len(data) > 0 {
			if _, err := d.Message(src, len(data)-1); !errors.Is(err, ErrTooBig) {
				t.Fatalf("level %d, limit below size: err %v, want ErrTooBig", level, err)
			}
		}
	})
}
