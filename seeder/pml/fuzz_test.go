package pml

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 'l', 0x10, 2, 0x01, 0x03, 0, 1, 2, 0x02, 0x01, 0x02, 0x2c, 0x2d, 'p', 0x10, 1, 1, 1, 5})
	f.Add([]byte{1, 'i', 1, 42, 'r', 2, 2, 5, 'b', 3, 0, 0xff, 0xff})
	f.Add([]byte{2, 's', 0x0f, 1, 2, 3})
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := Decode(p)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode (when representable) and decode to the same ids.
		if c.Type == CmdAnnouncement {
			out, err := AppendPayload(nil, c)
			if err != nil {
				return
			}
			c2, err := Decode(out)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if len(c2.Loaded) != len(c.Loaded) || len(c2.Loading) != len(c.Loading) {
				t.Fatal("round trip changed ids")
			}
		}
	})
}

func FuzzJoiner(f *testing.F) {
	f.Add([]byte("cstr\x01i\x01\x2ar\x02\x02\x05cend"), 5)
	f.Add([]byte("dstrxxxxcend"), 100)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		max = 9 + (max&0xffff)%200
		for _, m := range Frame(data, max) {
			if len(m) > max && len(data)+8 > max {
				t.Fatalf("chunk %d > %d", len(m), max)
			}
		}
		var j Joiner
		var got []byte
		for _, m := range Frame(data, max) {
			p, err := j.Add(m)
			if err != nil {
				t.Fatal(err)
			}
			if p != nil {
				got = p
			}
		}
		if !bytes.Equal(got, data) && !(len(got) == 0 && len(data) == 0) {
			t.Fatal("frame/join round trip differs")
		}
		var j2 Joiner
		for i := 0; i < len(data); i += 13 {
			m := data[i:min(i+13, len(data))]
			if IsCommandChunk(m) {
				j2.Add(m)
			}
		}
	})
}

func FuzzDecodeLegacy(f *testing.F) {
	f.Add([]byte(`{"c":2,"m":{"a+V0":["1|2",[0,1]]}}`))
	f.Add([]byte(`{"c":3,"i":"http://x/m.m3u8+V0+5"}`))
	f.Add([]byte(`{"c":0,"i":"x","s":10}`))
	f.Fuzz(func(t *testing.T, m []byte) {
		c, err := DecodeLegacy(m)
		if err != nil {
			return
		}
		if c.Type == LegacyRequest {
			out := AppendLegacyRequest(nil, c.ID)
			c2, err := DecodeLegacy(out)
			if err != nil || c2.ID != c.ID {
				t.Fatalf("round trip of %q: %+v %v", c.ID, c2, err)
			}
		}
	})
}

func FuzzParseMaster(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"g\",NAME=\"fr\",URI=\"fr.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1.42c01e,mp4a.40.2\"\nb.m3u8\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseMaster(b, "http://h/m.m3u8")
		if err != nil {
			return
		}
		for _, st := range s {
			for _, g := range Generations {
				if id, ok := StreamSwarmID(g, "x", st); ok {
					_ = InfoHash(g, id)
				}
			}
		}
	})
}
