package source

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// mediaPlaylist is the part of an HLS media playlist the source needs.
type mediaPlaylist struct {
	TargetDuration float64
	MediaSequence  int64
	Ended          bool // #EXT-X-ENDLIST: VOD or a finished live stream
	Segments       []mediaSegment
}

type mediaSegment struct {
	URI      string
	Duration float64
	Seq      int64
	Index    int  // position in the playlist
	Ranged   bool // #EXT-X-BYTERANGE: not seeded
}

var errNotMediaPlaylist = errors.New("not an HLS media playlist")

const maxPlaylistBytes = 4 << 20

// parseMediaPlaylist parses a media playlist. Sequence numbers are EXT-X-MEDIA-SEQUENCE plus
// the segment's index, as hls.js computes them.
func parseMediaPlaylist(b []byte) (*mediaPlaylist, error) {
	if len(b) > maxPlaylistBytes {
		return nil, fmt.Errorf("playlist of %d bytes is too large", len(b))
	}
	text := strings.TrimPrefix(string(b), "\ufeff")
	if !strings.HasPrefix(text, "#EXTM3U") {
		return nil, errNotMediaPlaylist
	}
	p := &mediaPlaylist{}
	var dur float64
	ranged := false
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF"):
			return nil, fmt.Errorf("%w: it is a master playlist", errNotMediaPlaylist)
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			n, err := strconv.ParseInt(strings.TrimSpace(line[len("#EXT-X-MEDIA-SEQUENCE:"):]), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad EXT-X-MEDIA-SEQUENCE %q", line)
			}
			// RFC 8216 §4.3.3.2: the tag must come before the first media segment; a later one
			// would renumber segments already read.
			if len(p.Segments) > 0 {
				return nil, fmt.Errorf("EXT-X-MEDIA-SEQUENCE after the first segment: %q", line)
			}
			p.MediaSequence = n
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			f, err := strconv.ParseFloat(strings.TrimSpace(line[len("#EXT-X-TARGETDURATION:"):]), 64)
			if err == nil && f > 0 {
				p.TargetDuration = f
			}
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(line[len("#EXTINF:"):], ",")
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 {
				return nil, fmt.Errorf("bad EXTINF %q", line)
			}
			dur = f
		case strings.HasPrefix(line, "#EXT-X-BYTERANGE"):
			ranged = true
		case line == "#EXT-X-ENDLIST":
			p.Ended = true
		case strings.HasPrefix(line, "#"):
		default:
			idx := len(p.Segments)
			p.Segments = append(p.Segments, mediaSegment{
				URI: line, Duration: dur, Seq: p.MediaSequence + int64(idx), Index: idx, Ranged: ranged,
			})
			dur, ranged = 0, false
		}
	}
	return p, nil
}
