package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"swarmcast/internal/testutil"
)

// nodeOracle is run by Node: for every base64 frame on stdin it reports what wt-tracker's
// pipeline (StringDecoder → JSON.parse → JSON.stringify) makes of it.
const nodeOracle = `
const { StringDecoder } = require("string_decoder");
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
const out = [];
for (const line of lines) {
  let o;
  try {
    o = JSON.parse(new StringDecoder("utf8").end(Buffer.from(line, "base64")));
  } catch (e) {
    out.push({ err: true });
    continue;
  }
  const r = { canon: b64(JSON.stringify(o)) };
  if (o !== null && typeof o === "object" && !Array.isArray(o)) {
    r.ids = {};
    for (const k of ["info_hash", "peer_id", "to_peer_id"]) {
      const v = o[k];
      if (typeof v !== "string") continue;
      let wide = false;
      for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 255) wide = true;
      r.ids[k] = wide ? "wide" : Buffer.from(v, "latin1").toString("hex");
    }
    r.numwant = Number.isInteger(o.numwant);
    r.left0 = o.left === 0;
    r.action = o.action === "announce" || o.action === "scrape" ? o.action : "";
    o.to_peer_id = undefined;
    r.answer = b64(JSON.stringify(o));
  }
  out.push(r);
}
process.stdout.write(JSON.stringify(out));
`

type oracleResult struct {
	Err     bool              `json:"err"`
	Canon   string            `json:"canon"`
	IDs     map[string]string `json:"ids"`
	Numwant bool              `json:"numwant"`
	Left0   bool              `json:"left0"`
	Action  string            `json:"action"`
	Answer  string            `json:"answer"`
}

// TestDifferentialAgainstNode runs hand-picked and randomly generated frames through real
// Node.js and through this package, and compares every observable: parse errors, the
// canonical re-serialization, answer forwarding, binary ids, numwant and left semantics.
func TestDifferentialAgainstNode(t *testing.T) {
	node := testutil.RequireTools(t, "node")[0]
	frames := [][]byte{
		[]byte(`{"action":"announce","info_hash":"\u00ff\u0000abc","peer_id":"-PM0203-abcdefghijkl","numwant":1e1,"left":-0}`),
		[]byte(`{"a":1,"a":{"b":2,"b":[1,2,{"1":0,"0":1}]},"2":"x","__proto__":{"y":1}}`),
		[]byte("{\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\",\"x\":\"\xff\xfe\xe2\x82\xf0\x9f\x98\x80\"}"),
		[]byte(`{"n":[0.1,1e21,1e-7,123456789012345678901234567890,5e-324,1e400,-0.0,1.5E+300]}`),
		[]byte(`{"to_peer_id":"x","answer":{"type":"answer","sdp":"\ud800\udfff\udfff\ud800"},"to_peer_id":"y","offer_id":null}`),
		[]byte(`[1,2]`), []byte(`null`), []byte(`"\u0041"`), []byte(`{"a":01}`), []byte(`{"a":1,}`),
	}
	frames = append(frames, realFrames(t)...)
	// Objects large enough for the map-based duplicate handling (more than 32 members).
	for _, n := range []int{33, 80} {
		var b strings.Builder
		b.WriteString(`{"action":"announce"`)
		for i := range n {
			fmt.Fprintf(&b, `,"k%d":%d,"%d":%d`, i%17, i, (i*7)%23, i)
		}
		b.WriteString(`,"to_peer_id":"x","k3":"last"}`)
		frames = append(frames, []byte(b.String()))
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	for range 1500 {
		frames = append(frames, randomFrame(rng))
	}
	var in bytes.Buffer
	for _, f := range frames {
		in.WriteString(base64.StdEncoding.EncodeToString(f))
		in.WriteByte('\n')
	}
	cmd := exec.CommandContext(t.Context(), node, "-e", nodeOracle)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var results []oracleResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("node output: %v", err)
	}
	if len(results) != len(frames) {
		t.Fatalf("node answered %d frames, want %d", len(results), len(frames))
	}
	dec := func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var m Message
	for i, f := range frames {
		r := results[i]
		err := Decode(f, &m)
		de, _ := err.(*DecodeError)
		switch {
		case r.Err:
			if err == nil || de.Kind == ErrNotObject {
				t.Errorf("frame %q: JSON.parse throws, Decode says %v", f, err)
			}
			continue
		case de != nil && de.Kind == ErrNotObject:
			if got := string(AppendCanonical(nil, Raw(bytes.TrimSpace(f)))); got != dec(r.Canon) {
				t.Errorf("frame %q: canonical %q, node %q", f, got, dec(r.Canon))
			}
			continue
		case err != nil:
			t.Errorf("frame %q: JSON.parse accepts it, Decode: %v", f, err)
			continue
		}
		if got := string(appendMembers(nil, m.Members, "")); got != dec(r.Canon) {
			t.Errorf("frame %q:\ncanonical %q\n     node %q", f, got, dec(r.Canon))
		}
		if got := string(AppendAnswer(nil, &m)); got != dec(r.Answer) {
			t.Errorf("frame %q:\nanswer %q\n  node %q", f, got, dec(r.Answer))
		}
		for name, id := range map[string]*ID{"info_hash": &m.InfoHash, "peer_id": &m.PeerID, "to_peer_id": &m.ToPeerID} {
			want, isString := r.IDs[name]
			got := ""
			switch {
			case id.Kind != KindString:
			case id.Wide:
				got = "wide"
			default:
				got = hex.EncodeToString(id.Bin)
			}
			if isString != (id.Kind == KindString) || got != want {
				t.Errorf("frame %q: %s = %q (kind %v), node %q", f, name, got, id.Kind, want)
			}
		}
		if m.NumwantIsInteger != r.Numwant || m.LeftIsZero != r.Left0 {
			t.Errorf("frame %q: numwant integer %v left0 %v, node %v %v", f, m.NumwantIsInteger, m.LeftIsZero, r.Numwant, r.Left0)
		}
		action := map[Action]string{ActionAnnounce: "announce", ActionScrape: "scrape", ActionOther: ""}[m.Action]
		if action != r.Action {
			t.Errorf("frame %q: action %q, node %q", f, action, r.Action)
		}
	}
}

var randomKeys = []string{
	"action", "event", "info_hash", "peer_id", "to_peer_id", "numwant", "left", "offers",
	"answer", "offer_id", "0", "1", "10", "01", "4294967295", "__proto__", "\\u0061ction", "k\\u00e9", "\u00e9",
}

// randomFrame builds a random JSON object (sometimes slightly broken) that exercises
// strings, numbers, duplicates and nesting.
func randomFrame(rng *rand.Rand) []byte {
	var b []byte
	b = randomObject(b, rng, 0)
	if rng.IntN(40) == 0 && len(b) > 2 { // now and then an invalid frame
		b = b[:rng.IntN(len(b))]
	}
	return b
}

func ws(b []byte, rng *rand.Rand) []byte {
	if rng.IntN(6) == 0 {
		b = append(b, " \t\n\r"[rng.IntN(4)])
	}
	return b
}

func randomObject(b []byte, rng *rand.Rand, depth int) []byte {
	b = append(b, '{')
	n := rng.IntN(6)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = ws(b, rng)
		b = append(b, '"')
		b = append(b, randomKeys[rng.IntN(len(randomKeys))]...)
		b = append(b, '"')
		b = ws(b, rng)
		b = append(b, ':')
		b = ws(b, rng)
		b = randomValue(b, rng, depth+1)
		b = ws(b, rng)
	}
	return append(b, '}')
}

func randomValue(b []byte, rng *rand.Rand, depth int) []byte {
	k := rng.IntN(10)
	if depth > 4 && k >= 7 {
		k = rng.IntN(7)
	}
	switch k {
	case 0, 1, 2:
		return randomString(b, rng)
	case 3, 4:
		return randomNumber(b, rng)
	case 5:
		return append(b, []string{"true", "false", "null"}[rng.IntN(3)]...)
	case 6:
		return append(b, `"`+strings.Repeat("\\u00ff", rng.IntN(3))+`x"`...)
	case 7:
		b = append(b, '[')
		for i := range rng.IntN(4) {
			if i > 0 {
				b = append(b, ',')
			}
			b = randomValue(b, rng, depth+1)
		}
		return append(b, ']')
	}
	return randomObject(b, rng, depth)
}

func randomString(b []byte, rng *rand.Rand) []byte {
	b = append(b, '"')
	for range rng.IntN(8) {
		switch rng.IntN(9) {
		case 0:
			b = append(b, byte('a'+rng.IntN(26)))
		case 1: // escaped code unit of any kind, surrogates included
			u := []int{rng.IntN(0x20), rng.IntN(0x100), rng.IntN(0x10000), 0xD800 + rng.IntN(0x800)}[rng.IntN(4)]
			format := `\u%04x`
			if rng.IntN(2) == 0 {
				format = `\u%04X`
			}
			b = append(b, fmt.Sprintf(format, u)...)
		case 2:
			b = append(b, `\"\\\/\b\f\n\r\t`[2*rng.IntN(8):][:2]...)
		case 3: // raw latin-1 / BMP / astral characters
			b = append(b, string([]rune{0xe9, 0xff, 0x2028, 0x20ac, 0x1F600, 0x7f}[rng.IntN(6)])...)
		case 4: // invalid UTF-8
			b = append(b, []string{"\xff", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\x80", "\xf0\x9f\x98", "\xe0\x80\x80", "\xe0\xa0", "\xf0\x80\x80\x80", "\xf5\x80", "\xed\x9f\xbf"}[rng.IntN(12)]...)
		case 5:
			b = append(b, `\ud83d\ude00`...)
		default:
			b = append(b, "0123456789<>&'"[rng.IntN(14)])
		}
	}
	return append(b, '"')
}

func randomNumber(b []byte, rng *rand.Rand) []byte {
	switch rng.IntN(6) {
	case 0:
		return strconv.AppendInt(b, rng.Int64N(2000)-1000, 10)
	case 1:
		return append(b, []string{"-0", "0.0", "-0.0", "0e5", "1e400", "-1e400", "1e-400", "10.0", "1E1", "1e+21", "1e21", "1e20", "12345678901234567890"}[rng.IntN(13)]...)
	case 2:
		return strconv.AppendFloat(b, rng.NormFloat64()*1e6, 'f', -1, 64)
	case 3:
		return strconv.AppendFloat(b, rng.NormFloat64()*1e-9, 'e', -1, 64)
	case 4:
		return strconv.AppendFloat(b, rng.ExpFloat64()*1e25, 'g', -1, 64)
	}
	return strconv.AppendInt(b, rng.Int64(), 10)
}
