package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const bigLimit = 1 << 24

func TestEmptyMessage(t *testing.T) {
	src := compressMessage(t, 6, false, nil)
	if !bytes.Equal(src, []byte{0x00}) {
		t.Logf("empty flush compresses to % x", src)
	}
	var d Decoder
	for _, s := range [][]byte{src, {0x00}} {
		out, err := d.Message(s, bigLimit)
		if err != nil || len(out) != 0 {
			t.Fatalf("Message(% x) = %q, %v; want empty, nil", s, out, err)
		}
	}
}

// bitWriter builds hand-made DEFLATE streams for tests.
type bitWriter struct {
	b  []byte
	nb uint
}

// bits appends the n low bits of v, least significant first.
func (w *bitWriter) bits(v uint32, n uint) {
	for i := range n {
		if w.nb%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (w.nb % 8)
		w.nb++
	}
}

// code appends a Huffman code of n bits, most significant bit first.
func (w *bitWriter) code(c uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.bits(c>>uint(i)&1, 1)
	}
}

// fixedLitCode appends symbol s using the fixed literal/length code.
func (w *bitWriter) fixedLitCode(s int) {
	switch {
	case s < 144:
		w.code(uint32(0x30+s), 8)
	case s < 256:
		w.code(uint32(0x190+s-144), 9)
	case s < 280:
		w.code(uint32(s-256), 7)
	default:
		w.code(uint32(0xc0+s-280), 8)
	}
}

func TestHandMade(t *testing.T) {
	// Fixed block, final: "ab", then length 4 (symbol 258) distance 2
	// (distance symbol 1): overlapping copy giving "ababab", then EOB.
	var w bitWriter
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLitCode('a')
	w.fixedLitCode('b')
	w.fixedLitCode(258)
	w.code(1, 5)
	w.fixedLitCode(256)
	fixedOK := w.b

	// Same, but the distance is 3 with only 2 bytes of output.
	w = bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLitCode('a')
	w.fixedLitCode('b')
	w.fixedLitCode(258)
	w.code(2, 5)
	w.fixedLitCode(256)
	tooFar := w.b

	// Distance symbol 30 is invalid.
	w = bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLitCode('a')
	w.fixedLitCode(258)
	w.code(30, 5)
	w.fixedLitCode(256)
	badDist := w.b

	// Literal/length symbol 286 is invalid.
	w = bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLitCode(286)
	badLit := w.b

	tests := []struct {
		name    string
		src     []byte
		message bool
		want    string
		err     error
	}{
		{"fixed", fixedOK, false, "ababab", nil},
		{"fixed message", fixedOK, true, "ababab", nil},
		{"too far", tooFar, false, "", ErrCorrupt},
		{"bad distance", badDist, false, "", ErrCorrupt},
		{"bad literal", badLit, false, "", ErrCorrupt},
		{"stored final", []byte{0x01, 3, 0, 0xfc, 0xff, 'x', 'y', 'z'}, false, "xyz", nil},
		{"stored bad nlen", []byte{0x01, 3, 0, 0xfc, 0xfe, 'x', 'y', 'z'}, false, "", ErrCorrupt},
		{"stored truncated", []byte{0x01, 3, 0, 0xfc, 0xff, 'x', 'y'}, false, "", ErrCorrupt},
		{"stored message", []byte{0x00, 3, 0, 0xfc, 0xff, 'x', 'y', 'z', 0x00}, true, "xyz", nil},
		{"stored then final", []byte{0x00, 1, 0, 0xfe, 0xff, 'x', 0x01, 1, 0, 0xfe, 0xff, 'y'}, true, "xy", nil},
		{"final then garbage", append(append([]byte{}, fixedOK...), 0xff, 0xff), true, "ababab", nil},
		{"reserved block type", []byte{0x07}, true, "", ErrCorrupt},
		{"empty input", nil, true, "", ErrCorrupt},
		{"empty decode", nil, false, "", ErrCorrupt},
		{"decode needs final", []byte{0x00, 0, 0, 0xff, 0xff}, false, "", ErrCorrupt},
		{"dynamic header too many lit", []byte{0x05 | 30<<3, 0xff, 0xff}, true, "", ErrCorrupt},
	}
	var d Decoder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out []byte
			var err error
			if tc.message {
				out, err = d.Message(tc.src, bigLimit)
			} else {
				out, err = d.Decode(tc.src, bigLimit)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %q, %v; want error %v", out, err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("got %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

func TestOverlappingCopies(t *testing.T) {
	var d Decoder
	for _, n := range []int{3, 4, 7, 8, 9, 100, 258, 1000, 40000} {
		for _, period := range []int{1, 2, 3, 5, 7, 8, 9, 16, 31} {
			in := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789")[:period], n/period+1)[:n]
			for _, level := range []int{1, 9} {
				src := compressMessage(t, level, false, in)
				out, err := d.Message(src, bigLimit)
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("n=%d period=%d level=%d: err=%v equal=%v", n, period, level, err, bytes.Equal(out, in))
				}
			}
		}
	}
}

func TestLevels(t *testing.T) {
	inputs := map[string][]byte{
		"empty":    {},
		"random":   randomBytes(1, 5000),
		"answer":   answerJSON(1),
		"announce": announceJSON(1),
		"text":     []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 500)),
	}
	var d Decoder
	for name, in := range inputs {
		for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, 6, flate.BestCompression} {
			for _, final := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/final=%v", name, level, final), func(t *testing.T) {
					src := compressMessage(t, level, final, in)
					out, err := d.Message(src, bigLimit)
					if err != nil || !bytes.Equal(out, in) {
						t.Fatalf("Message: err=%v, got %d bytes, want %d", err, len(out), len(in))
					}
					if final {
						out, err = d.Decode(src, bigLimit)
						if err != nil || !bytes.Equal(out, in) {
							t.Fatalf("Decode: err=%v, got %d bytes, want %d", err, len(out), len(in))
						}
					}
				})
			}
		}
	}
}

func TestSizes(t *testing.T) {
	if n := len(answerJSON(1)); n < 1300 || n > 1800 {
		t.Errorf("answer JSON is %d bytes, want ~1.5 KB", n)
	}
	if n := len(announceJSON(1)); n < 12000 || n > 16000 {
		t.Errorf("announce JSON is %d bytes, want ~14 KB", n)
	}
}

func TestMultipleSegments(t *testing.T) {
	segs := [][]byte{answerJSON(2), []byte("hello"), {}, announceJSON(3), randomBytes(4, 300)}
	want := bytes.Join(segs, nil)
	var d Decoder
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		for _, final := range []bool{false, true} {
			src := compressMessage(t, level, final, segs...)
			out, err := d.Message(src, bigLimit)
			if err != nil || !bytes.Equal(out, want) {
				t.Fatalf("level %d final %v: err=%v, got %d bytes, want %d", level, final, err, len(out), len(want))
			}
		}
	}
}

func TestLimit(t *testing.T) {
	in := announceJSON(5)
	var d Decoder
	for _, level := range []int{0, 1, 9} {
		src := compressMessage(t, level, false, in)
		if out, err := d.Message(src, len(in)); err != nil || !bytes.Equal(out, in) {
			t.Fatalf("level %d, limit = size: err=%v", level, err)
		}
		for _, limit := range []int{-1, 0, 1, 100, len(in) - 1} {
			if _, err := d.Message(src, limit); !errors.Is(err, ErrTooBig) {
				t.Fatalf("level %d, limit %d: err=%v, want ErrTooBig", level, limit, err)
			}
		}
		// The decoder still works after an error.
		if out, err := d.Message(src, bigLimit); err != nil || !bytes.Equal(out, in) {
			t.Fatalf("level %d after ErrTooBig: err=%v", level, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	var d Decoder
	for _, level := range []int{0, 1, 6, 9} {
		in := answerJSON(6)
		full := compressMessage(t, level, false, in)
		for n := range len(full) {
			out, err := d.Message(full[:n], bigLimit)
			if err == nil {
				// A cut may leave a stream that still ends at a
				// block boundary (the sync tail may even complete a
				// stored block); compress/flate must agree.
				if want, v := classifyFlate(full[:n], bigLimit); v != flateOK || !bytes.Equal(out, want) {
					t.Fatalf("level %d, %d of %d bytes: no error, %d bytes", level, n, len(full), len(out))
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("level %d, %d bytes: err=%v, want ErrCorrupt", level, n, err)
			}
		}
		final := compressMessage(t, level, true, in)
		for n := range len(final) {
			if _, err := d.Decode(final[:n], bigLimit); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode level %d, %d of %d bytes: err=%v, want ErrCorrupt", level, n, len(final), err)
			}
		}
	}
}

// TestZeroAllocs checks that steady-state decoding does not allocate.
func TestZeroAllocs(t *testing.T) {
	srcs := [][]byte{
		compressMessage(t, 6, false, answerJSON(7)),
		compressMessage(t, 9, false, announceJSON(7)),
		compressMessage(t, 1, true, randomBytes(7, 2000)),
	}
	var d Decoder
	for _, src := range srcs {
		if _, err := d.Message(src, bigLimit); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, src := range srcs {
			if _, err := d.Message(src, bigLimit); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run, want 0", allocs)
	}
}

// readAllLimit reads r until an error, up to limit+1 bytes.
func readAllLimit(r io.Reader, limit int) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err == nil {
		err = io.EOF
	}
	return buf.Bytes(), err
}
