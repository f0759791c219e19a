package wire

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// realFrames returns the client frames in testdata/frames.jsonl.
func realFrames(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "frames.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var frames [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 && line[0] != '#' {
			frames = append(frames, bytes.Clone(line))
		}
	}
	if len(frames) < 10 {
		tb.Fatalf("only %d frames in testdata/frames.jsonl", len(frames))
	}
	return frames
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to JSON that decodes
// again to the same canonical bytes; ids and offers re-encode consistently.
func FuzzDecode(f *testing.F) {
	for _, fr := range realFrames(f) {
		f.Add(fr)
	}
	for _, s := range []string{`{"offers":[{"offer":{"sdp":1,"sdp":2},"offer":[],"offer_id":3},{"offer":{"sdp":1},"offer":"x"}]}`, `null`, `[]`, `{"a":[[[[[[1]]]]]]}`, "{\"a\":\"\xff\"}", `{"offers":[1,null,{"offer":[]}]}`, `{"info_hash":["\ud800",1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m Message
		if err := Decode(frame, &m); err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		canon := appendMembers(nil, m.Members, "")
		var m2 Message
		if err := Decode(canon, &m2); err != nil {
			t.Fatalf("canonical form %q does not decode: %v", canon, err)
		}
		if again := appendMembers(nil, m2.Members, ""); !bytes.Equal(again, canon) {
			t.Fatalf("canonical form not stable:\n%q\n%q", canon, again)
		}
		if m2.Action != m.Action || m2.Event != m.Event || m2.NumwantIsInteger != m.NumwantIsInteger || m2.LeftIsZero != m.LeftIsZero {
			t.Fatalf("canonical form decodes differently")
		}
		if err := Decode(AppendAnswer(nil, &m), &m2); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		ids := append([]ID{m.InfoHash, m.PeerID, m.ToPeerID}, m.ScrapeHashes...)
		for _, id := range ids {
			if id.IsBinary() && !bytes.Equal(AppendBinaryString(nil, id.Bin), appendCanonicalString(nil, id.Raw)) {
				t.Fatalf("binary id %q re-encodes differently from its token %q", id.Bin, id.Raw)
			}
		}
		for _, item := range m.OfferItems {
			it, err := ParseOfferItem(item)
			ref, refErr := parseOfferItemRef(item)
			if err != refErr || !bytes.Equal(it.OfferID, ref.OfferID) || !bytes.Equal(it.SDP, ref.SDP) ||
				(it.OfferID == nil) != (ref.OfferID == nil) || (it.SDP == nil) != (ref.SDP == nil) {
				t.Fatalf("ParseOfferItem(%q) = %q, %v; reference %q, %v", item, it, err, ref, refErr)
			}
			if err != nil {
				continue
			}
			if err := Decode(AppendOffer(nil, []byte("ih"), []byte("p"), it), &m2); err != nil {
				t.Fatalf("offer does not decode: %v", err)
			}
		}
		files := make([]ScrapeFile, len(m.ScrapeHashes))
		for i, id := range m.ScrapeHashes {
			files[i] = ScrapeFile{Raw: id.Raw}
		}
		if err := Decode(AppendScrape(nil, files), &m2); err != nil {
			t.Fatalf("scrape reply does not decode: %v", err)
		}
	})
}

// parseOfferItemRef is a straightforward (multi-pass) version of ParseOfferItem.
func parseOfferItemRef(item Raw) (OfferItem, error) {
	switch item[0] {
	case '{':
	case '[':
		return OfferItem{}, ErrOfferField
	default:
		return OfferItem{}, ErrOfferItem
	}
	var it OfferItem
	var offer Raw
	eachMember(item, func(key, val Raw) {
		switch {
		case keyIs(key, "offer"):
			offer = val
		case keyIs(key, "offer_id"):
			it.OfferID = val
		}
	})
	if offer == nil || (offer[0] != '{' && offer[0] != '[') {
		return OfferItem{}, ErrOfferField
	}
	if offer[0] == '{' {
		eachMember(offer, func(key, val Raw) {
			if keyIs(key, "sdp") {
				it.SDP = val
			}
		})
	}
	return it, nil
}
