package torrent

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Segment is one finished HLS segment handed to Add by the segment source.
type Segment struct {
	// Rendition names the media playlist the segment belongs to ("720p").
	Rendition string
	// URI identifies the segment in the stream, as the player sees it (for example
	// "720p/seg_1795312978.ts"); it is the key of Remove and of torrents.json, so it must be
	// unique across renditions.
	URI string
	// URL is the segment's absolute origin URL, used as the torrent's web seed.
	URL string
	// Data is the whole segment. The seeder serves from this slice until the torrent is
	// dropped; the caller must not modify it after Add.
	Data []byte
	// SHA256 is the SHA-256 of Data (the zero value: computed by Add).
	SHA256 [32]byte
}

// Errors returned by Add.
var (
	// ErrInvalidSegment reports a segment that cannot become a torrent.
	ErrInvalidSegment = errors.New("invalid segment")
	// ErrConflict reports a URI that is already seeded with different content.
	ErrConflict = errors.New("segment URI already seeded with different content")
	// ErrClosed reports a call after Close.
	ErrClosed = errors.New("webtorrent seeder closed")
)

// AutoPieceLength is the piece length used when Config.PieceLength is 0: the smallest power
// of two of at least 16 KiB that splits length bytes into at most 64 pieces (a 1.5 MB
// segment gets 32 KiB pieces). Browsers re-share a piece only once it is verified, so small
// pieces spread faster through a short-lived swarm; 64 pieces keep the have/hash overhead low.
func AutoPieceLength(length int64) int64 {
	pl := int64(MinPieceLength)
	for pl < MaxPieceLength && (length+pl-1)/pl > 64 {
		pl *= 2
	}
	return pl
}

// built is a segment turned into a torrent: immutable once made.
type built struct {
	seg       Segment
	infoHash  metainfo.Hash
	info      metainfo.Info
	infoBytes []byte
	torrent   []byte // the bencoded .torrent file
	magnet    string
}

// buildTorrent hashes seg's pieces and builds its metainfo. It does not touch the client.
func buildTorrent(seg Segment, cfg Config) (*built, error) {
	if err := checkSegment(&seg, cfg); err != nil {
		return nil, err
	}
	length := int64(len(seg.Data))
	pl := cfg.PieceLength
	if pl == 0 {
		pl = AutoPieceLength(length)
	}
	n := (length + pl - 1) / pl
	pieces := make([]byte, 0, n*sha1.Size)
	for off := int64(0); off < length; off += pl {
		h := sha1.Sum(seg.Data[off:min(off+pl, length)])
		pieces = append(pieces, h[:]...)
	}
	info := metainfo.Info{
		PieceLength: pl,
		Pieces:      pieces,
		Name:        torrentName(seg.URI),
		Length:      length,
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encoding the info dictionary of %s: %w", seg.URI, err)
	}
	mi := metainfo.MetaInfo{
		InfoBytes:    infoBytes,
		Announce:     cfg.Trackers[0],
		AnnounceList: metainfo.AnnounceList{append([]string(nil), cfg.Trackers...)},
		CreatedBy:    "swarmcast",
	}
	if cfg.WebSeed && seg.URL != "" {
		mi.UrlList = []string{seg.URL}
	}
	torrentBytes, err := bencode.Marshal(mi)
	if err != nil {
		return nil, fmt.Errorf("encoding the metainfo of %s: %w", seg.URI, err)
	}
	b := &built{
		seg:       seg,
		infoHash:  metainfo.HashBytes(infoBytes),
		info:      info,
		infoBytes: infoBytes,
		torrent:   torrentBytes,
	}
	b.magnet = magnetURI(b.infoHash, info.Name, cfg.Trackers, mi.UrlList)
	return b, nil
}

// checkSegment validates seg against cfg and fills in its SHA-256 when it is zero.
func checkSegment(seg *Segment, cfg Config) error {
	switch {
	case seg.Rendition == "":
		return fmt.Errorf("%w: empty rendition (URI %q)", ErrInvalidSegment, seg.URI)
	case seg.URI == "":
		return fmt.Errorf("%w: empty URI (rendition %q)", ErrInvalidSegment, seg.Rendition)
	case len(seg.Data) == 0:
		return fmt.Errorf("%w: %s has no data", ErrInvalidSegment, seg.URI)
	case int64(len(seg.Data)) > cfg.MaxSegmentBytes:
		return fmt.Errorf("%w: %s has %d bytes, more than maxSegmentBytes (%d)", ErrInvalidSegment, seg.URI, len(seg.Data), cfg.MaxSegmentBytes)
	}
	if seg.URL != "" {
		u, err := url.Parse(seg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: %s: web seed URL %q is not an absolute http(s) URL", ErrInvalidSegment, seg.URI, seg.URL)
		}
	}
	sum := sha256.Sum256(seg.Data)
	if seg.SHA256 == ([32]byte{}) {
		seg.SHA256 = sum
	} else if seg.SHA256 != sum {
		return fmt.Errorf("%w: %s: SHA-256 %x given, data hashes to %x", ErrInvalidSegment, seg.URI, seg.SHA256, sum)
	}
	return nil
}

// torrentName is the info dictionary's name: the URI's last path element, without query.
func torrentName(uri string) string {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	name := path.Base(uri)
	if name == "." || name == "/" || name == ".." || name == "" {
		return "segment"
	}
	return name
}

// magnetURI builds "magnet:?xt=urn:btih:<hex>&dn=…&tr=…&ws=…" (BEP 9, web seeds as ws=).
func magnetURI(ih metainfo.Hash, name string, trackers, webSeeds []string) string {
	var sb strings.Builder
	sb.WriteString("magnet:?xt=urn:btih:")
	sb.WriteString(hex.EncodeToString(ih[:]))
	sb.WriteString("&dn=")
	sb.WriteString(url.QueryEscape(name))
	for _, t := range trackers {
		sb.WriteString("&tr=")
		sb.WriteString(url.QueryEscape(t))
	}
	for _, w := range webSeeds {
		sb.WriteString("&ws=")
		sb.WriteString(url.QueryEscape(w))
	}
	return sb.String()
}
