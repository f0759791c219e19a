package torrent

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// testData returns n deterministic pseudo-random bytes.
func testData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testSegment(rendition, uri string, data []byte) Segment {
	return Segment{Rendition: rendition, URI: uri, URL: "http://127.0.0.1:8000/" + uri, Data: data}
}

func testConfig() Config {
	c := DefaultConfig()
	c.Trackers = []string{"ws://127.0.0.1:1"}
	return c
}

func TestAutoPieceLength(t *testing.T) {
	tests := []struct {
		length, want int64
	}{
		{1, 16 << 10},
		{64 * 16 << 10, 16 << 10},
		{64*16<<10 + 1, 32 << 10},
		{1_500_000, 32 << 10},
		{3 << 20, 64 << 10},
		{1 << 30, 16 << 20},
		{1 << 40, 16 << 20},
	}
	for _, tt := range tests {
		if got := AutoPieceLength(tt.length); got != tt.want {
			t.Errorf("AutoPieceLength(%d) = %d, want %d", tt.length, got, tt.want)
		}
	}
}

func TestBuildTorrentInfoHashStable(t *testing.T) {
	cfg := testConfig()
	data := testData(200_000, 1)
	a, err := buildTorrent(testSegment("720p", "720p/seg_1.ts", data), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		seg  Segment
		same bool
	}{
		{"same bytes and name", testSegment("720p", "720p/seg_1.ts", bytes.Clone(data)), true},
		{"same bytes, other rendition and origin URL", Segment{Rendition: "480p", URI: "other/seg_1.ts", URL: "http://127.0.0.1:9/x", Data: data}, true},
		{"one byte changed", testSegment("720p", "720p/seg_1.ts", append(bytes.Clone(data[:len(data)-1]), data[len(data)-1]^1)), false},
		{"other name", testSegment("720p", "720p/seg_2.ts", data), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := buildTorrent(tt.seg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if (b.infoHash == a.infoHash) != tt.same {
				t.Errorf("info hash %s vs %s: same = %v, want %v", b.infoHash.HexString(), a.infoHash.HexString(), !tt.same, tt.same)
			}
		})
	}
}

func TestBuildTorrentPiecesVerify(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		pieceLength int64
		webSeed     bool
	}{
		{"one byte", 1, 0, true},
		{"exactly one piece", 16 << 10, 16 << 10, true},
		{"one piece and a byte", 16<<10 + 1, 16 << 10, true},
		{"3 MB automatic", 3<<20 + 5, 0, true},
		{"1.5 MB 64 KiB pieces no web seed", 1_500_000, 64 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Trackers = []string{"ws://127.0.0.1:8000", "wss://tracker.test/announce"}
			cfg.PieceLength, cfg.WebSeed = tt.pieceLength, tt.webSeed
			data := testData(tt.size, uint64(tt.size))
			seg := testSegment("720p", "720p/seg_1795312978.ts?v=1", data)
			b, err := buildTorrent(seg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			mi, err := metainfo.Load(bytes.NewReader(b.torrent))
			if err != nil {
				t.Fatalf("the .torrent does not decode: %v", err)
			}
			if mi.HashInfoBytes() != b.infoHash {
				t.Fatalf("info hash of the .torrent %s, built %s", mi.HashInfoBytes().HexString(), b.infoHash.HexString())
			}
			info, err := mi.UnmarshalInfo()
			if err != nil {
				t.Fatal(err)
			}
			if info.Name != "seg_1795312978.ts" || info.Length != int64(len(data)) || info.IsDir() {
				t.Fatalf("info: name %q length %d", info.Name, info.Length)
			}
			wantPL := tt.pieceLength
			if wantPL == 0 {
				wantPL = AutoPieceLength(int64(len(data)))
			}
			if info.PieceLength != wantPL {
				t.Fatalf("piece length %d, want %d", info.PieceLength, wantPL)
			}
			if want := (len(data) + int(wantPL) - 1) / int(wantPL); info.NumPieces() != want {
				t.Fatalf("%d pieces, want %d", info.NumPieces(), want)
			}
			for i := range info.NumPieces() {
				p := info.Piece(i)
				sum := sha1.Sum(data[p.Offset() : p.Offset()+p.Length()])
				if !bytes.Equal(info.Pieces[i*20:i*20+20], sum[:]) {
					t.Fatalf("piece %d does not verify", i)
				}
			}
			if mi.Announce != cfg.Trackers[0] || len(mi.AnnounceList) != 1 || strings.Join(mi.AnnounceList[0], " ") != strings.Join(cfg.Trackers, " ") {
				t.Fatalf("announce %q list %q", mi.Announce, mi.AnnounceList)
			}
			wantSeeds := []string(nil)
			if tt.webSeed {
				wantSeeds = []string{seg.URL}
			}
			if strings.Join(mi.UrlList, " ") != strings.Join(wantSeeds, " ") {
				t.Fatalf("url-list %q, want %q", mi.UrlList, wantSeeds)
			}
			m, err := metainfo.ParseMagnetV2Uri(b.magnet)
			if err != nil {
				t.Fatalf("magnet %q: %v", b.magnet, err)
			}
			if m.InfoHash.Value != b.infoHash || m.DisplayName != info.Name || strings.Join(m.Trackers, " ") != strings.Join(cfg.Trackers, " ") {
				t.Fatalf("magnet %q: %+v", b.magnet, m)
			}
			if got := m.Params["ws"]; strings.Join(got, " ") != strings.Join(wantSeeds, " ") {
				t.Fatalf("magnet web seeds %q, want %q", got, wantSeeds)
			}
			if b.seg.SHA256 != sha256.Sum256(data) {
				t.Fatal("SHA-256 not filled in")
			}
			// The info dictionary is plain BitTorrent v1 (WebTorrent has no v2 support).
			var raw map[string]any
			if err := bencode.Unmarshal(b.infoBytes, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"meta version", "file tree", "files"} {
				if _, ok := raw[k]; ok {
					t.Errorf("info dictionary has %q", k)
				}
			}
		})
	}
}

func TestBuildTorrentRejects(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSegmentBytes = 1000
	good := testSegment("720p", "720p/seg_1.ts", testData(100, 2))
	tests := []struct {
		name   string
		modify func(*Segment)
		want   string
	}{
		{"no rendition", func(s *Segment) { s.Rendition = "" }, "empty rendition"},
		{"no URI", func(s *Segment) { s.URI = "" }, "empty URI"},
		{"no data", func(s *Segment) { s.Data = nil }, "has no data"},
		{"too large", func(s *Segment) { s.Data = make([]byte, 1001) }, "more than maxSegmentBytes"},
		{"relative web seed", func(s *Segment) { s.URL = "/720p/seg_1.ts" }, "not an absolute http(s) URL"},
		{"ftp web seed", func(s *Segment) { s.URL = "ftp://h/seg_1.ts" }, "not an absolute http(s) URL"},
		{"wrong SHA-256", func(s *Segment) { s.SHA256[0] = 1 }, "SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := good
			tt.modify(&seg)
			_, err := buildTorrent(seg, cfg)
			if !errors.Is(err, ErrInvalidSegment) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidSegment mentioning %q", err, tt.want)
			}
		})
	}
	t.Run("correct SHA-256 accepted", func(t *testing.T) {
		seg := good
		seg.SHA256 = sha256.Sum256(seg.Data)
		if _, err := buildTorrent(seg, cfg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTorrentName(t *testing.T) {
	for in, want := range map[string]string{
		"720p/seg_1.ts":          "seg_1.ts",
		"seg_1.ts?token=a/b":     "seg_1.ts",
		"http://h/a/seg.m4s#x":   "seg.m4s",
		"/":                      "segment",
		"..":                     "segment",
		"720p/":                  "720p",
		url.PathEscape("a b.ts"): "a%20b.ts",
	} {
		if got := torrentName(in); got != want {
			t.Errorf("torrentName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkBuildTorrent(b *testing.B) {
	cfg := testConfig()
	seg := testSegment("720p", "720p/seg_1.ts", testData(1_500_000, 3))
	b.SetBytes(int64(len(seg.Data)))
	for b.Loop() {
		if _, err := buildTorrent(seg, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzBuildTorrent: any URI and bytes either give a clear error or a .torrent that decodes
// to the same info hash, with a usable name and pieces that verify.
func FuzzBuildTorrent(f *testing.F) {
	f.Add("720p/seg_1.ts", []byte("segment bytes"), int64(0))
	f.Add("../..", []byte{0}, int64(16<<10))
	f.Add("a?b#c/d", bytes.Repeat([]byte{1}, 40000), int64(32<<10))
	f.Fuzz(func(t *testing.T, uri string, data []byte, pieceLength int64) {
		cfg := testConfig()
		cfg.PieceLength = pieceLength
		if cfg.Validate() != nil {
			cfg.PieceLength = 0
		}
		b, err := buildTorrent(Segment{Rendition: "r", URI: uri, URL: "http://127.0.0.1/x", Data: data}, cfg)
		if err != nil {
			if !errors.Is(err, ErrInvalidSegment) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		mi, err := metainfo.Load(bytes.NewReader(b.torrent))
		if err != nil {
			t.Fatalf(".torrent does not decode: %v", err)
		}
		if mi.HashInfoBytes() != b.infoHash {
			t.Fatal("info hash mismatch")
		}
		info, err := mi.UnmarshalInfo()
		if err != nil || info.Name == "" || strings.Contains(info.Name, "/") || info.Length != int64(len(data)) {
			t.Fatalf("info %+v: %v", info, err)
		}
		for i := range info.NumPieces() {
			p := info.Piece(i)
			sum := sha1.Sum(data[p.Offset() : p.Offset()+p.Length()])
			if !bytes.Equal(info.Pieces[i*20:i*20+20], sum[:]) {
				t.Fatalf("piece %d does not verify", i)
			}
		}
	})
}
