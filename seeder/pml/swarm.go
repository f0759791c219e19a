package pml

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Generation is a family of P2P Media Loader releases that compute the same swarm ids and
// speak the same data-channel format.
type Generation uint8

// Generations. The zero value is GenUnknown.
const (
	GenUnknown Generation = iota
	Gen06                 // 0.6.x (legacy JSON protocol)
	Gen22                 // 1.0.4 – 2.2.x (binary protocol, numeric stream index, MD5 info_hash)
	Gen23                 // 2.3.x (binary protocol, metadata stream index, SHA-1 info_hash)
)

// Generations lists the known generations in a stable order.
var Generations = []Generation{Gen06, Gen22, Gen23}

// String returns the short label used in logs, metrics and config ("0.6", "2.2", "2.3").
func (g Generation) String() string {
	switch g {
	case Gen06:
		return "0.6"
	case Gen22:
		return "2.2"
	case Gen23:
		return "2.3"
	}
	return "unknown"
}

// Binary reports whether the generation uses the binary framed command format.
func (g Generation) Binary() bool { return g == Gen22 || g == Gen23 }

// PeerIDPrefix is the 8-char peer_id prefix a real client of the generation uses.
func (g Generation) PeerIDPrefix() string {
	switch g {
	case Gen06:
		return "-WW0006-"
	case Gen22:
		return "-PM0202-"
	default:
		return "-PM0203-"
	}
}

// StreamType says whether a rendition is a main (video or muxed) level or a separate
// ("secondary") audio track.
type StreamType uint8

// Stream types.
const (
	StreamMain StreamType = iota
	StreamSecondary
)

// String returns the name used inside swarm strings ("main" or "secondary").
func (t StreamType) String() string {
	if t == StreamSecondary {
		return "secondary"
	}
	return "main"
}

// Stream is one rendition as hls.js presents it to P2P Media Loader: the metadata that goes
// into the swarm ids. Build it with ParseMaster (or by hand for a media-only stream).
type Stream struct {
	Type StreamType
	// Index is the 0-based position among hls.js's levels (main) or audioTracks (secondary).
	Index int
	// URL is the absolute URL of the rendition's media playlist, resolved against the master.
	URL string
	// MediaOnly marks the single level hls.js fabricates when the URL is a media playlist.
	MediaOnly bool

	Bandwidth  int    // main: BANDWIDTH (else AVERAGE-BANDWIDTH); 0 for audio tracks
	Codecs     string // main: hls.js videoCodec; secondary: audioCodec of the matching level
	Width      int    // 0 = absent
	Height     int    // 0 = absent
	FrameRate  string // FRAME-RATE attribute, verbatim
	VideoRange string // VIDEO-RANGE attribute, verbatim
	Language   string // secondary: LANGUAGE
	Channels   string // secondary: CHANNELS
	Name       string // secondary: NAME, else LANGUAGE
}

// ManifestSwarmID returns the swarm id P2P Media Loader derives from a manifest URL when no
// swarmId is configured: the URL with its query string removed (the #fragment is kept).
func ManifestSwarmID(manifestURL string) string {
	s, _, _ := strings.Cut(manifestURL, "?")
	return s
}

// StreamShortID is P2P Media Loader 2.3's generateStreamShortId: base64(SHA-1) of the
// normalised stream metadata. For a main stream with bitrate 0 only the bitrate is used, as the
// hls.js integration does for levels with missing metadata.
func StreamShortID(s Stream) string {
	sum := sha1.Sum([]byte(ShortIDInput(s)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// ShortIDInput returns the string StreamShortID hashes.
func ShortIDInput(s Stream) string {
	if s.Type == StreamMain && s.Bandwidth == 0 {
		return "0--------"
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(s.Bandwidth))
	b.WriteByte('-')
	b.WriteString(normalizeCodecs(s.Codecs))
	b.WriteByte('-')
	if s.Width > 0 || s.Height > 0 {
		b.WriteString(strconv.Itoa(s.Width))
	}
	b.WriteByte('-')
	if s.Width > 0 || s.Height > 0 {
		b.WriteString(strconv.Itoa(s.Height))
	}
	b.WriteByte('-')
	if s.Language != "" && s.Language != "und" {
		b.WriteString(strings.ToLower(firstUTF16Units(s.Language, 2)))
	}
	b.WriteByte('-')
	ch, _, _ := strings.Cut(s.Channels, "/")
	b.WriteString(ch)
	b.WriteByte('-')
	b.WriteString(strings.TrimSpace(strings.ToLower(s.Name)))
	b.WriteByte('-')
	b.WriteString(normalizeFrameRate(s.FrameRate))
	b.WriteByte('-')
	b.WriteString(strings.TrimSpace(strings.ToUpper(s.VideoRange)))
	return b.String()
}

// firstUTF16Units approximates JS String.slice(0, n) for the short language tags it is used on.
func firstUTF16Units(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func normalizeCodecs(codecs string) string {
	if codecs == "" {
		return ""
	}
	parts := strings.Split(codecs, ",")
	for i, c := range parts {
		c = strings.ToLower(strings.TrimSpace(c))
		f := strings.Split(c, ".")
		if len(f) == 3 && (f[0] == "avc1" || f[0] == "avc") {
			p, err1 := strconv.Atoi(f[1])
			l, err2 := strconv.Atoi(f[2])
			if err1 == nil && err2 == nil && p >= 0 && l >= 0 && strconv.Itoa(p) == f[1] && strconv.Itoa(l) == f[2] {
				c = fmt.Sprintf("%s.%02x00%02x", f[0], p, l)
			}
		}
		parts[i] = c
	}
	sort.Strings(parts) // JS default sort is UTF-16 code-unit order; equal to byte order for ASCII
	return strings.Join(parts, ",")
}

func normalizeFrameRate(v string) string {
	t := strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if t == "" { // Number("  ") is 0 in JS
		return "0"
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// StreamSwarmID returns the per-rendition swarm string of generation g, and false when the
// generation does not share this kind of stream over P2P (0.6.x ignores separate audio).
func StreamSwarmID(g Generation, swarmID string, s Stream) (string, bool) {
	switch g {
	case Gen06:
		if s.Type != StreamMain {
			return "", false
		}
		if s.MediaOnly {
			return swarmID, true
		}
		return swarmID + "+V" + strconv.Itoa(s.Index), true
	case Gen22:
		return "v2-" + swarmID + "-" + s.Type.String() + "-" + strconv.Itoa(s.Index), true
	case Gen23:
		return "v2-" + swarmID + "-" + s.Type.String() + "-" + StreamShortID(s), true
	}
	return "", false
}

// InfoHash returns the info_hash of a stream swarm string exactly as it appears in the
// tracker's JSON: for Gen06 the 20 SHA-1 bytes as latin1 runes, for Gen22/Gen23 20 base64
// characters.
func InfoHash(g Generation, streamSwarmID string) string {
	switch g {
	case Gen06:
		sum := sha1.Sum([]byte("2" + streamSwarmID))
		return Latin1(sum[:])
	case Gen22:
		sum := md5.Sum([]byte(streamSwarmID))
		return base64.StdEncoding.EncodeToString(sum[1:16])
	case Gen23:
		sum := sha1.Sum([]byte(streamSwarmID))
		return base64.StdEncoding.EncodeToString(sum[:15])
	}
	return ""
}

// Latin1 maps each byte to the rune with the same value (a JS "binary string").
func Latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// LegacySegmentID is a 0.6.x segment id: streamSwarmId + "+" + media sequence number.
func LegacySegmentID(streamSwarmID string, seq int64) string {
	return streamSwarmID + "+" + strconv.FormatInt(seq, 10)
}
