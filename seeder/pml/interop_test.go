package pml

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"swarmcast/internal/testutil"
)

// The published p2p-media-loader-core 2.3.1 (node_modules) computes swarm ids, info_hashes and
// command bytes for the same inputs as the Go code; they must agree byte for byte.

const interopScript = `
import { generateStreamShortId, getStreamSwarmId } from "%[1]s/lib/utils/stream.js";
import { getStreamHash } from "%[1]s/lib/utils/peer.js";
import { serializePeerCommand, deserializeCommand, BinaryCommandChunksJoiner } from "%[1]s/lib/p2p/commands/index.js";
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { streams: [], commands: [], decoded: [] };
for (const s of input.streams) {
  const index = generateStreamShortId(s.meta);
  const swarm = getStreamSwarmId(input.swarmId, { type: s.type, index });
  out.streams.push({ index, swarm, hash: getStreamHash(swarm) });
}
const hex = (b) => Buffer.from(b).toString("hex");
for (const c of input.commands) out.commands.push(serializePeerCommand(c, input.max).map(hex));
for (const msgs of input.goMessages) {
  let cmd = null;
  const j = new BinaryCommandChunksJoiner((p) => { cmd = deserializeCommand(p); });
  for (const m of msgs) j.addCommandChunk(Buffer.from(m, "hex"));
  out.decoded.push(cmd);
}
console.log(JSON.stringify(out));
`

type jsMeta struct {
	Bitrate    *int   `json:"bitrate,omitempty"`
	Codecs     string `json:"codecs,omitempty"`
	Width      *int   `json:"width,omitempty"`
	Height     *int   `json:"height,omitempty"`
	Language   string `json:"language,omitempty"`
	Channels   string `json:"channels,omitempty"`
	Name       string `json:"name,omitempty"`
	FrameRate  string `json:"frameRate,omitempty"`
	VideoRange string `json:"videoRange,omitempty"`
}

// meta builds the object P2P Media Loader's hls.js integration passes for s.
func meta(s Stream) jsMeta {
	if s.Type == StreamSecondary {
		zero := 0
		return jsMeta{Bitrate: &zero, Codecs: s.Codecs, Language: s.Language, Channels: s.Channels, Name: s.Name}
	}
	b := s.Bandwidth
	if b == 0 {
		return jsMeta{Bitrate: &b}
	}
	m := jsMeta{Bitrate: &b, Codecs: s.Codecs, FrameRate: s.FrameRate, VideoRange: s.VideoRange}
	if s.Width > 0 || s.Height > 0 {
		m.Width, m.Height = &s.Width, &s.Height
	}
	return m
}

func TestInteropWithPublishedPML(t *testing.T) {
	root := testutil.RequireNodeModules(t, "p2p-media-loader-core")
	master := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="Deutsch",LANGUAGE="de-DE",CHANNELS="6/JOC",URI="de.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="und",LANGUAGE="und",URI="x.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.66.30,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=29.970,VIDEO-RANGE=sdr,AUDIO="a"
v0.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS="hvc1.1.6.L93.B0,avc1.640028 ,ec-3",RESOLUTION=1920x1080,FRAME-RATE=50.000,AUDIO="a"
v1.m3u8
#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=300000,CODECS="mp4a.40.5"
audio-only.m3u8
`
	streams, err := ParseMaster([]byte(master), "https://example.com/live/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	streams = append(streams, Stream{Type: StreamMain, MediaOnly: true})
	ids := make([]int64, 0, 600)
	for i := range 600 {
		ids = append(ids, int64(1_700_000_000+i))
	}
	big := make([]int64, 255*300/255) // 300 ids over two blocks
	for i := range big {
		big[i] = int64(i)
	}
	cmds := []Command{
		{Type: CmdAnnouncement, Loaded: []int64{0, 1, 2, 300, 301}, Loading: []int64{5}},
		{Type: CmdAnnouncement},
		{Type: CmdRequest, ID: 42, Req: 517},
		{Type: CmdRequest, ID: 1_700_000_123, Req: 999, Offset: 65535},
		{Type: CmdData, ID: 42, Size: 1234567, Req: 517},
		{Type: CmdCompleted, ID: 42, Req: 517},
		{Type: CmdAbsent, ID: 42, Req: 517},
		{Type: CmdCancel, ID: 42, Req: 517},
		{Type: CmdAnnouncement, Loaded: big[:200]},
	}
	const max = 100 // small enough that announcements split into several messages
	type jsCmd struct {
		C int     `json:"c"`
		I int64   `json:"i,omitempty"`
		R int64   `json:"r,omitempty"`
		S int64   `json:"s,omitempty"`
		B int64   `json:"b,omitempty"`
		L []int64 `json:"l,omitempty"`
		P []int64 `json:"p,omitempty"`
	}
	in := map[string]any{"swarmId": "https://example.com/live/master.m3u8", "max": max}
	var js []map[string]any
	for _, s := range streams {
		js = append(js, map[string]any{"type": s.Type.String(), "meta": meta(s)})
	}
	in["streams"] = js
	var jc []jsCmd
	for _, c := range cmds {
		jc = append(jc, jsCmd{C: int(c.Type), I: c.ID, R: c.Req, S: c.Size, B: c.Offset, L: c.Loaded, P: c.Loading})
	}
	in["commands"] = jc
	// Announcements the seeder sends, for the browser's decoder: a 256-id block (split into
	// groups of 255 + 1) and 600 live sequence numbers.
	var goMsgs [][]string
	for _, c := range []Command{{Type: CmdAnnouncement, Loaded: big[:256]}, {Type: CmdAnnouncement, Loaded: ids}} {
		msgs, err := Encode(&c, MaxMessageSize)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, m := range msgs {
			hs = append(hs, hex.EncodeToString(m))
		}
		goMsgs = append(goMsgs, hs)
	}
	in["goMessages"] = goMsgs

	dir := t.TempDir()
	inFile := filepath.Join(dir, "in.json")
	b, _ := json.Marshal(in)
	if err := os.WriteFile(inFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "interop.mjs")
	pkg := "file://" + filepath.Join(root, "node_modules", "p2p-media-loader-core")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(interopScript, pkg)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", script, inFile).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var res struct {
		Streams []struct {
			Index, Swarm, Hash string
		}
		Commands [][]string
		Decoded  []struct {
			C int     `json:"c"`
			L []int64 `json:"l"`
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, s := range streams {
		t.Run(fmt.Sprintf("stream %d %s %d", i, s.Type, s.Index), func(t *testing.T) {
			id, _ := StreamSwarmID(Gen23, "https://example.com/live/master.m3u8", s)
			if got := StreamShortID(s); got != res.Streams[i].Index {
				t.Errorf("short id %s, PML says %s (input %q)", got, res.Streams[i].Index, ShortIDInput(s))
			}
			if id != res.Streams[i].Swarm || InfoHash(Gen23, id) != res.Streams[i].Hash {
				t.Errorf("swarm %s / %s, PML says %s / %s", id, InfoHash(Gen23, id), res.Streams[i].Swarm, res.Streams[i].Hash)
			}
		})
	}
	for i, c := range cmds {
		t.Run("command "+c.Type.String(), func(t *testing.T) {
			msgs, err := Encode(&c, max)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(res.Commands[i]) {
				t.Fatalf("%d messages, PML makes %d", len(msgs), len(res.Commands[i]))
			}
			for k, m := range msgs {
				want, _ := hex.DecodeString(res.Commands[i][k])
				if !bytes.Equal(m, want) {
					t.Errorf("message %d = %x, PML = %x", k, m, want)
				}
			}
		})
	}
	if got := res.Decoded[0].L; len(got) != 256 || got[255] != 255 {
		t.Errorf("PML decoded our 256-id announcement as %d ids", len(got))
	}
	if got := res.Decoded[1].L; len(got) != 600 || got[599] != ids[599] {
		t.Errorf("PML decoded our 600-id announcement as %d ids", len(got))
	}
}
