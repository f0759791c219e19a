package inflate

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"
)

func BenchmarkMessage(b *testing.B) {
	cases := []struct {
		name string
		data []byte
	}{
		{"answer", answerJSON(20)},
		{"announce", announceJSON(20)},
	}
	for _, c := range cases {
		src := compressMessage(b, flate.DefaultCompression, false, c.data)
		b.Run(c.name+"/inflate", func(b *testing.B) {
			var d Decoder
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := d.Message(src, 1<<20)
				if err != nil || len(out) != len(c.data) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(src)), "compressed-bytes")
		})
		b.Run(c.name+"/flate", func(b *testing.B) {
			in := append(append([]byte{}, src...), syncTail[:]...)
			br := bytes.NewReader(in)
			fr := flate.NewReader(br)
			buf := make([]byte, 0, 1<<20)
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(in)
				if err := fr.(flate.Resetter).Reset(br, nil); err != nil {
					b.Fatal(err)
				}
				out := buf[:0]
				for {
					n, err := fr.Read(out[len(out):cap(out)])
					out = out[:len(out)+n]
					if err == io.ErrUnexpectedEOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if len(out) != len(c.data) {
					b.Fatal("short output")
				}
			}
		})
	}
}
