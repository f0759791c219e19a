package pml

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const master = "https://example.com/live/master.m3u8"

func TestInfoHashVectors(t *testing.T) {
	tests := []struct {
		name string
		gen  Generation
		s    string
		want string // hex for Gen06, the JSON string otherwise
	}{
		{"0.6 variant 0", Gen06, master + "+V0", "ae9cd6bf657a583a6f33711f1cae11fa25c19b43"},
		{"0.6 media only", Gen06, "https://example.com/live/stream.m3u8", "92e9862f2a3de18adc26bdc1cea913722c24b991"},
		{"0.6 swarmId", Gen06, "my-swarm+V0", "3c4b247a200a6fb9b75f82f1f3a6bd4c7c71f304"},
		{"2.2 main 0", Gen22, "v2-" + master + "-main-0", "L2uYwMcHhsstZuLv8ZqU"},
		{"2.2 audio 0", Gen22, "v2-" + master + "-secondary-0", "yOtRb9gbGaQ7z2LmThPK"},
		{"1.0.0 main 0 (v1 prefix)", Gen22, "v1-" + master + "-main-0", "une7eKshmgIBypjs4oWp"},
		{"2.2 media only", Gen22, "v2-https://example.com/live/stream.m3u8-main-0", "QVFmrNdD5mwpHR3liYjN"},
		{"2.3 720p", Gen23, "v2-" + master + "-main-BCR4cAarxwQFrRHwtejcqcawQTU=", "eqTcMjKvsOz+MXluUmGZ"},
		{"2.3 media only", Gen23, "v2-https://example.com/live/stream.m3u8-main-UYnLxGhQilEV4D0HbCx+kRv0ZF0=", "Q8LYcIUiPFTNGgJfDZF1"},
		{"2.3 audio", Gen23, "v2-" + master + "-secondary-bdjQ1B4N2yrcTDHyU5j7iDGV9sY=", "inmRsbVmWfbvgnlkL4BJ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := InfoHash(tc.gen, tc.s)
			if tc.gen == Gen06 {
				b := make([]byte, 0, 20)
				for _, r := range got {
					if r > 0xff {
						t.Fatalf("rune %U above latin1", r)
					}
					b = append(b, byte(r))
				}
				got = hex.EncodeToString(b)
			}
			if got != tc.want {
				t.Errorf("InfoHash(%v, %q) = %q, want %q", tc.gen, tc.s, got, tc.want)
			}
		})
	}
}

func TestStreamSwarmIDs(t *testing.T) {
	v720 := Stream{Type: StreamMain, Bandwidth: 1280000, Codecs: "avc1.4d401f", Width: 1280, Height: 720}
	audio := Stream{Type: StreamSecondary, Codecs: "mp4a.40.2", Language: "en", Channels: "2", Name: "English"}
	mediaOnly := Stream{Type: StreamMain, MediaOnly: true}
	tests := []struct {
		name          string
		gen           Generation
		swarm         string
		s             Stream
		wantID, wantH string
	}{
		{"2.3 720p", Gen23, master, v720, "v2-" + master + "-main-BCR4cAarxwQFrRHwtejcqcawQTU=", "eqTcMjKvsOz+MXluUmGZ"},
		{"2.3 audio", Gen23, master, audio, "v2-" + master + "-secondary-bdjQ1B4N2yrcTDHyU5j7iDGV9sY=", "inmRsbVmWfbvgnlkL4BJ"},
		{"2.3 media only", Gen23, "https://example.com/live/stream.m3u8", mediaOnly, "v2-https://example.com/live/stream.m3u8-main-UYnLxGhQilEV4D0HbCx+kRv0ZF0=", "Q8LYcIUiPFTNGgJfDZF1"},
		{"2.3 swarmId media only", Gen23, "my-swarm", mediaOnly, "v2-my-swarm-main-UYnLxGhQilEV4D0HbCx+kRv0ZF0=", "xFWXVXSyzy03I4G+LAw7"},
		{"2.2 main 0", Gen22, master, v720, "v2-" + master + "-main-0", "L2uYwMcHhsstZuLv8ZqU"},
		{"2.2 audio 0", Gen22, master, audio, "v2-" + master + "-secondary-0", "yOtRb9gbGaQ7z2LmThPK"},
		{"0.6 V0", Gen06, master, v720, master + "+V0", Latin1(mustHex(t, "ae9cd6bf657a583a6f33711f1cae11fa25c19b43"))},
		{"0.6 swarmId", Gen06, "my-swarm", v720, "my-swarm+V0", Latin1(mustHex(t, "3c4b247a200a6fb9b75f82f1f3a6bd4c7c71f304"))},
		{"0.6 media only", Gen06, "https://example.com/live/stream.m3u8", mediaOnly, "https://example.com/live/stream.m3u8", Latin1(mustHex(t, "92e9862f2a3de18adc26bdc1cea913722c24b991"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := StreamSwarmID(tc.gen, tc.swarm, tc.s)
			if !ok || id != tc.wantID {
				t.Fatalf("StreamSwarmID = %q, %v; want %q", id, ok, tc.wantID)
			}
			if h := InfoHash(tc.gen, id); h != tc.wantH {
				t.Errorf("InfoHash = %q, want %q", h, tc.wantH)
			}
		})
	}
	if _, ok := StreamSwarmID(Gen06, master, audio); ok {
		t.Error("0.6 must not have a swarm for a separate audio track")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShortIDInput(t *testing.T) {
	tests := []struct {
		name      string
		s         Stream
		wantInput string
		wantID    string
	}{
		{"720p", Stream{Bandwidth: 1280000, Codecs: "avc1.4d401f", Width: 1280, Height: 720}, "1280000-avc1.4d401f-1280-720-----", "BCR4cAarxwQFrRHwtejcqcawQTU="},
		{"media only", Stream{}, "0--------", "UYnLxGhQilEV4D0HbCx+kRv0ZF0="},
		{"audio", Stream{Type: StreamSecondary, Codecs: "mp4a.40.2", Language: "en", Channels: "2", Name: "English"}, "0-mp4a.40.2---en-2-english--", "bdjQ1B4N2yrcTDHyU5j7iDGV9sY="},
		{"normalised", Stream{Bandwidth: 2000000, Codecs: "avc1.66.30,mp4a.40.2", Width: 640, Height: 360, FrameRate: "30.000", VideoRange: "sdr"}, "2000000-avc1.42001e,mp4a.40.2-640-360----30-SDR", "m73mOKanmssVIBUfQxVAuHFYtoE="},
		{"und language, 6/JOC channels", Stream{Type: StreamSecondary, Language: "und", Channels: "16/JOC", Name: " Main "}, "0-----16-main--", ""},
		{"frame rate 29.970, codec order", Stream{Bandwidth: 1, Codecs: "mp4a.40.2, AVC1.64001F", FrameRate: "29.970"}, "1-avc1.64001f,mp4a.40.2------29.97-", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShortIDInput(tc.s); got != tc.wantInput {
				t.Errorf("ShortIDInput = %q, want %q", got, tc.wantInput)
			}
			if tc.wantID != "" {
				if got := StreamShortID(tc.s); got != tc.wantID {
					t.Errorf("StreamShortID = %q, want %q", got, tc.wantID)
				}
			}
		})
	}
}

func TestParseMaster(t *testing.T) {
	body := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",CHANNELS="2",URI="a/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aud"
v0/index.m3u8?x=1
#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=500000,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="aud"

http://cdn.example.com/v1.m3u8
`
	streams, err := ParseMaster([]byte(body), master+"?token=1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Stream{
		{Type: StreamMain, Index: 0, URL: "https://example.com/live/v0/index.m3u8?x=1", Bandwidth: 1280000, Codecs: "avc1.4d401f", Width: 1280, Height: 720},
		{Type: StreamMain, Index: 1, URL: "http://cdn.example.com/v1.m3u8", Bandwidth: 500000, Codecs: "avc1.4d401e", Width: 640, Height: 360, FrameRate: "25.000"},
		{Type: StreamSecondary, Index: 0, URL: "https://example.com/live/a/en.m3u8", Codecs: "mp4a.40.2", Language: "en", Channels: "2", Name: "English"},
	}
	if fmt.Sprint(streams) != fmt.Sprint(want) {
		t.Errorf("ParseMaster =\n%+v\nwant\n%+v", streams, want)
	}
	if id, _ := StreamSwarmID(Gen23, ManifestSwarmID(master+"?token=1"), streams[0]); id != "v2-"+master+"-main-BCR4cAarxwQFrRHwtejcqcawQTU=" {
		t.Errorf("swarm id of level 0 = %q", id)
	}

	t.Run("media playlist", func(t *testing.T) {
		s, err := ParseMaster([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg1.ts\n"), "http://h/s.m3u8")
		if err != nil || len(s) != 1 || !s[0].MediaOnly || s[0].URL != "http://h/s.m3u8" {
			t.Fatalf("got %+v, %v", s, err)
		}
	})
	t.Run("unknown codec level dropped", func(t *testing.T) {
		s, err := ParseMaster([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"xyz1\"\na.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2,CODECS=\"avc1.42c01e\"\nb.m3u8\n"), "http://h/m.m3u8")
		if err != nil || len(s) != 1 || s[0].URL != "http://h/b.m3u8" || s[0].Index != 0 {
			t.Fatalf("got %+v, %v", s, err)
		}
	})
	t.Run("implicit main audio track", func(t *testing.T) {
		s, err := ParseMaster([]byte("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"g\",NAME=\"fr\",URI=\"fr.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1.42c01e,mp4a.40.2\"\nb.m3u8\n"), "http://h/m.m3u8")
		if err != nil || len(s) != 3 || s[2].Index != 1 || s[2].URL != "http://h/fr.m3u8" {
			t.Fatalf("got %+v, %v", s, err)
		}
	})
	t.Run("hls.js rewrites decimal avc1", func(t *testing.T) {
		s, err := ParseMaster([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.66.30,mp4a.40.2\",RESOLUTION=640x360\na.m3u8\n"), "http://h/m.m3u8")
		if err != nil || s[0].Codecs != "avc1.42001e" {
			t.Fatalf("got %+v, %v", s, err)
		}
		for in, want := range map[string]string{"avc1.77.30,avc1.66.30": "avc1.4d001e,avc1.42001e", "avc1.4d401f": "avc1.4d401f",
			"avc1.100.40.2": "avc1.640028", "avc1.x.1": "avc1.NaN0001", "hvc1.1.6.L93.B0": "hvc1.1.6.L93.B0"} {
			if got := convertAVC1ToAVCOTI(in); got != want {
				t.Errorf("convertAVC1ToAVCOTI(%q) = %q, want %q", in, got, want)
			}
		}
	})
	t.Run("not a playlist", func(t *testing.T) {
		if _, err := ParseMaster([]byte("<html>"), "http://h/"); !errors.Is(err, ErrNotPlaylist) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEncodeVectors(t *testing.T) {
	tests := []struct {
		name string
		c    Command
		hex  string
	}{
		{"announcement", Command{Type: CmdAnnouncement, Loaded: []int64{0, 1, 2, 300, 301}, Loading: []int64{5}}, "63737472 00 6c 10 02 01 03 00 01 02 02 01 02 2c 2d 70 10 01 01 01 05 63656e64"},
		{"empty announcement", Command{Type: CmdAnnouncement}, "63737472 00 63656e64"},
		{"request", Command{Type: CmdRequest, ID: 42, Req: 517}, "63737472 01 69 01 2a 72 02 02 05 63656e64"},
		{"request with offset", Command{Type: CmdRequest, ID: 42, Req: 517, Offset: 65535}, "63737472 01 69 01 2a 72 02 02 05 62 03 00 ff ff 63656e64"},
		{"data", Command{Type: CmdData, ID: 42, Size: 1234567, Req: 517}, "63737472 02 69 01 2a 73 03 12 d6 87 72 02 02 05 63656e64"},
		{"completed", Command{Type: CmdCompleted, ID: 42, Req: 517}, "63737472 03 69 01 2a 72 02 02 05 63656e64"},
		{"absent", Command{Type: CmdAbsent, ID: 42, Req: 517}, "63737472 04 69 01 2a 72 02 02 05 63656e64"},
		{"cancel", Command{Type: CmdCancel, ID: 42, Req: 517}, "63737472 05 69 01 2a 72 02 02 05 63656e64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
			msgs, err := Encode(&tc.c, MaxMessageSize)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Encode: %d messages, %v", len(msgs), err)
			}
			if !bytes.Equal(msgs[0], want) {
				t.Errorf("Encode = % x\nwant     % x", msgs[0], want)
			}
			var j Joiner
			p, err := j.Add(msgs[0])
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(p)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(*got) != fmt.Sprint(tc.c) {
				t.Errorf("Decode = %+v, want %+v", *got, tc.c)
			}
		})
	}
}

func TestIntVectors(t *testing.T) {
	tests := []struct {
		v   int64
		hex string
	}{
		{0, "0100"}, {42, "012a"}, {127, "017f"}, {128, "020080"}, {517, "020205"}, {65535, "0300ffff"},
		{1234567, "0312d687"}, {1700000000, "046553f100"}, {-5, "0185"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.v), func(t *testing.T) {
			got := hex.EncodeToString(AppendInt(nil, tc.v))
			if got != tc.hex {
				t.Errorf("AppendInt(%d) = %s, want %s", tc.v, got, tc.hex)
			}
			b, _ := hex.DecodeString(tc.hex)
			v, n, err := readInt(b)
			if err != nil || v != tc.v || n != len(b) {
				t.Errorf("readInt = %d, %d, %v", v, n, err)
			}
		})
	}
}

func TestAnnouncementGroupLimit(t *testing.T) {
	ids := make([]int64, 256) // 0..255: one full 256-block
	for i := range ids {
		ids[i] = int64(i)
	}
	p, err := AppendPayload(nil, &Command{Type: CmdAnnouncement, Loaded: ids})
	if err != nil {
		t.Fatal(err)
	}
	// type, 'l', 0x10, G; G must be 2 groups (255 + 1), never one group with count byte 0.
	if p[3] != 2 {
		t.Fatalf("groups = %d, want 2", p[3])
	}
	if !bytes.Equal(p[4:7], []byte{0x02, 0x00, 0xff}) { // Int(0|255): 255 needs a sign bit
		t.Errorf("first group header % x, want 02 00 ff", p[4:7])
	}
	c, err := Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Loaded) != fmt.Sprint(ids) {
		t.Errorf("round trip lost ids: %v", c.Loaded)
	}
	// A browser-made group with count 0 (its 256-id bug) decodes as 256 ids.
	bug := []byte{0, 'l', 0x10, 1, 0x01, 0x00}
	for i := range 256 {
		bug = append(bug, byte(i))
	}
	c, err = Decode(bug)
	if err != nil || len(c.Loaded) != 256 {
		t.Fatalf("count-0 group: %d ids, %v", len(c.Loaded), err)
	}
	// More than 255 groups cannot be encoded.
	many := make([]int64, 256)
	for i := range many {
		many[i] = int64(i) * 256
	}
	if _, err := AppendPayload(nil, &Command{Type: CmdAnnouncement, Loaded: many}); !errors.Is(err, ErrEncode) {
		t.Errorf("256 groups: err = %v, want ErrEncode", err)
	}
}

func TestSplitCommands(t *testing.T) {
	ids := make([]int64, 0, 255*40)
	for g := range 40 {
		for i := range 255 {
			ids = append(ids, int64(g*256+i))
		}
	}
	c := &Command{Type: CmdAnnouncement, Loaded: ids}
	payload, _ := AppendPayload(nil, c)
	for _, max := range []int{MaxMessageSize, 1000, 100, 17} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			msgs, err := Encode(c, max)
			if err != nil {
				t.Fatal(err)
			}
			if len(payload)+8 > max && len(msgs) < 2 {
				t.Fatalf("expected a split, got %d message", len(msgs))
			}
			var j Joiner
			var joined []byte
			for i, m := range msgs {
				if len(m) > max {
					t.Fatalf("message %d is %d bytes > %d", i, len(m), max)
				}
				if !IsCommandChunk(m) {
					t.Fatalf("message %d not a command chunk", i)
				}
				p, err := j.Add(m)
				if err != nil {
					t.Fatal(err)
				}
				if (p != nil) != (i == len(msgs)-1) {
					t.Fatalf("payload completed at chunk %d of %d", i, len(msgs))
				}
				joined = p
			}
			if !bytes.Equal(joined, payload) {
				t.Fatal("joined payload differs")
			}
		})
	}
	t.Run("split shape", func(t *testing.T) {
		// 20-byte payload, max 17: n = ceil(20/17)=2, ceil(20/2)+8=18 > 17 -> n=3, pieces of 7,7,6.
		msgs := Frame(bytes.Repeat([]byte{7}, 20), 17)
		want := []string{"cstr", "dstr", "dstr"}
		ends := []string{"dend", "dend", "cend"}
		sizes := []int{15, 15, 14}
		for i, m := range msgs {
			if string(m[:4]) != want[i] || string(m[len(m)-4:]) != ends[i] || len(m) != sizes[i] {
				t.Errorf("chunk %d = %q…%q len %d", i, m[:4], m[len(m)-4:], len(m))
			}
		}
	})
	t.Run("joiner errors", func(t *testing.T) {
		var j Joiner
		if _, err := j.Add([]byte("dstrxxxxcend")); !errors.Is(err, ErrFraming) {
			t.Errorf("continuation first: %v", err)
		}
		j.Add([]byte("cstrxxxxdend"))
		if _, err := j.Add([]byte("cstrxxxxcend")); !errors.Is(err, ErrFraming) {
			t.Errorf("restart mid-join: %v", err)
		}
		j = Joiner{MaxBytes: 10}
		j.Add([]byte("cstr12345678dend"))
		if _, err := j.Add([]byte("dstr12345678cend")); !errors.Is(err, ErrTooLarge) {
			t.Errorf("oversize: %v", err)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	for _, p := range [][]byte{{}, {9}, {1, 'i'}, {1, 'i', 0x05, 1}, {1, 'i', 0x30}, {0, 'l', 0x10, 2, 0x01, 0x01, 7}, {1, 'i', 0x00}} {
		if _, err := Decode(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(% x) err = %v, want ErrMalformed", p, err)
		}
	}
}

func TestLegacy(t *testing.T) {
	id := master + "+V0+123"
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"data", AppendLegacyData(nil, id, 1000), `{"c":0,"i":"` + id + `","s":1000}`},
		{"absent", AppendLegacyAbsent(nil, id), `{"c":1,"i":"` + id + `"}`},
		{"request", AppendLegacyRequest(nil, id), `{"c":3,"i":"` + id + `"}`},
		{"cancel", AppendLegacyCancel(nil, id), `{"c":4,"i":"` + id + `"}`},
		{"map", AppendLegacyMap(nil, master+"+V0", []int64{5, 6}), `{"c":2,"m":{"` + master + `+V0":["5|6",[0,0]]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
			c, err := DecodeLegacy(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			if c.Type != LegacyMap && c.ID != id {
				t.Errorf("id = %q", c.ID)
			}
		})
	}
	m, err := DecodeLegacy([]byte(`{"c":2,"m":{"a+V0":["1|2",[0,1]],"b":["1",[0,0]]}}`))
	if err != nil || m.Map["a+V0"]["2"] != 1 || len(m.Map["b"]) != 0 {
		t.Fatalf("map = %+v, %v", m, err)
	}
	for _, bad := range []string{`{"c":9,"i":"x"}`, `{"x":1}`, `{"c":3}`, `{"c":0,"i":"x"}`, `{"c":3,"i":"x"`, `[1]`} {
		if _, err := DecodeLegacy([]byte(bad)); err == nil {
			t.Errorf("DecodeLegacy(%s) accepted", bad)
		}
	}
}
