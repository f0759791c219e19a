package loadtest

import (
	"bytes"
	"compress/flate"
	"testing"
)

// benchInflate inflates a permessage-deflate payload as a tracker does.
func benchInflate(b *testing.B, payload []byte) {
	src := bytes.NewReader(nil)
	fr := flate.NewReader(src)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		src.Reset(append(payload[:len(payload):len(payload)], 0, 0, 0xff, 0xff))
		fr.(flate.Resetter).Reset(src, nil)
		for {
			_, err := fr.Read(buf)
			if err != nil {
				break
			}
		}
	}
}

// whole compresses the message in one piece, as a browser does (ids filled in).
func whole(ps []part) []byte {
	var plain []byte
	for _, p := range ps {
		if p.hole {
			plain = append(plain, "abcdefghijklmnopqrst"...)
		} else {
			plain = append(plain, p.lit...)
		}
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(plain)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// tplPayload is the payload of the generator's pre-built compressed frame.
func tplPayload(ps []part) []byte {
	t, _ := buildTemplate(ps, true)
	f := t.frame
	n, h := int(f[1]&0x7f), 2
	if n == 126 {
		h = 4
	}
	return f[h+4:]
}

// BenchmarkInflate compares what the tracker pays to inflate the generator's pre-built
// compressed frames (constant parts compressed once, ids in stored blocks) with what it
// pays for the same message compressed in one piece, so the -deflate figures are not
// skewed by the generator's shortcut.
func BenchmarkInflate(b *testing.B) {
	sj := jsonString(realisticSDP)
	for _, c := range []struct {
		name string
		ps   []part
	}{{"announce", announceParts(false, 10, 10, sj)}, {"answer", answerParts(false, sj)}} {
		tp, wp := tplPayload(c.ps), whole(c.ps)
		b.Run(c.name+"/template", func(b *testing.B) { benchInflate(b, tp); b.ReportMetric(float64(len(tp)), "wire-bytes") })
		b.Run(c.name+"/whole", func(b *testing.B) { benchInflate(b, wp); b.ReportMetric(float64(len(wp)), "wire-bytes") })
	}
}
