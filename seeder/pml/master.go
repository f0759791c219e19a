package pml

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotPlaylist is returned by ParseMaster for text that does not start with #EXTM3U.
var ErrNotPlaylist = errors.New("not an HLS playlist (no #EXTM3U)")

// maxPlaylistBytes bounds the playlists ParseMaster accepts.
const maxPlaylistBytes = 4 << 20

// ParseMaster parses an HLS playlist the way hls.js does for P2P Media Loader and returns its
// streams in hls.js order: the levels (#EXT-X-STREAM-INF in playlist order, levels with codecs
// hls.js does not know dropped when others are known) followed by the audio tracks
// (#EXT-X-MEDIA TYPE=AUDIO in playlist order, with the audio codec of their group). A media
// playlist (no #EXT-X-STREAM-INF) yields one MediaOnly main stream whose URL is baseURL.
// Audio tracks without a URI are returned too (their index counts) with an empty URL.
func ParseMaster(body []byte, baseURL string) ([]Stream, error) {
	if len(body) > maxPlaylistBytes {
		return nil, fmt.Errorf("playlist of %d bytes is too large", len(body))
	}
	text := strings.TrimPrefix(string(body), "\ufeff")
	if !strings.HasPrefix(text, "#EXTM3U") {
		return nil, ErrNotPlaylist
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	lines := splitLines(text)

	type level struct {
		s       Stream
		attrs   map[string]string
		audio   string
		unknown bool
	}
	var levels []level
	var medias []map[string]string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			attrs := parseAttrs(line[len("#EXT-X-STREAM-INF:"):])
			uri := ""
			for j := i + 1; j < len(lines); j++ {
				if lines[j] == "" || strings.HasPrefix(lines[j], "#") {
					continue
				}
				uri, i = lines[j], j
				break
			}
			if uri == "" {
				continue
			}
			l := level{attrs: attrs, audio: attrs["AUDIO"]}
			l.s.Type = StreamMain
			l.s.URL = resolve(base, uri)
			l.s.Bandwidth = atoiOr0(attrs["BANDWIDTH"])
			if l.s.Bandwidth == 0 {
				l.s.Bandwidth = atoiOr0(attrs["AVERAGE-BANDWIDTH"])
			}
			if w, h, ok := parseResolution(attrs["RESOLUTION"]); ok {
				l.s.Width, l.s.Height = w, h
			}
			var audioCodecs string
			l.s.Codecs, audioCodecs, l.unknown = classifyCodecs(attrs["CODECS"])
			// hls.js's level controller rewrites the parsed level's videoCodec before P2P
			// Media Loader's MANIFEST_LOADED handler reads it.
			l.s.Codecs = convertAVC1ToAVCOTI(l.s.Codecs)
			l.attrs["_audio_codec"] = audioCodecs
			l.s.FrameRate = attrs["FRAME-RATE"]
			l.s.VideoRange = attrs["VIDEO-RANGE"]
			levels = append(levels, l)
		case strings.HasPrefix(line, "#EXT-X-MEDIA:"):
			medias = append(medias, parseAttrs(line[len("#EXT-X-MEDIA:"):]))
		}
	}
	if len(levels) == 0 {
		return []Stream{{Type: StreamMain, URL: baseURL, MediaOnly: true}}, nil
	}
	known := 0
	for _, l := range levels {
		if !l.unknown {
			known++
		}
	}
	if known > 0 && known < len(levels) {
		kept := levels[:0]
		for _, l := range levels {
			if !l.unknown {
				kept = append(kept, l)
			}
		}
		levels = kept
	}
	out := make([]Stream, 0, len(levels)+len(medias))
	for i, l := range levels {
		l.s.Index = i
		out = append(out, l.s)
	}

	var tracks []Stream
	embedded := false
	for _, m := range medias {
		if m["TYPE"] != "AUDIO" {
			continue
		}
		t := Stream{Type: StreamSecondary, Language: m["LANGUAGE"], Channels: m["CHANNELS"], Name: m["NAME"]}
		if t.Name == "" {
			t.Name = t.Language
		}
		if m["URI"] != "" {
			t.URL = resolve(base, m["URI"])
		} else {
			embedded = true
		}
		group := m["GROUP-ID"]
		// hls.js: the audio codec of the first level in the same group, else of the first level.
		codec := levels[0].attrs["_audio_codec"]
		for _, l := range levels {
			if l.audio == group {
				codec = l.attrs["_audio_codec"]
				break
			}
		}
		t.Codecs = codec
		tracks = append(tracks, t)
	}
	if len(tracks) > 0 && !embedded && levels[0].attrs["_audio_codec"] != "" && levels[0].audio == "" {
		// hls.js adds a "main" audio track first in this case; it shifts the indexes.
		tracks = append([]Stream{{Type: StreamSecondary, Name: "main"}}, tracks...)
	}
	for i := range tracks {
		tracks[i].Index = i
		out = append(out, tracks[i])
	}
	return out, nil
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

func resolve(base *url.URL, ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(u).String()
}

func atoiOr0(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func parseResolution(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 0 || h < 0 {
		return 0, 0, false
	}
	return w, h, true
}

// parseAttrs parses an HLS attribute list: KEY=VALUE pairs separated by commas, where VALUE
// may be a quoted string containing commas. Quotes are removed.
func parseAttrs(s string) map[string]string {
	m := make(map[string]string)
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
		} else {
			comma := strings.IndexByte(s, ',')
			if comma < 0 {
				val, s = s, ""
			} else {
				val, s = s[:comma], s[comma:]
			}
		}
		m[key] = strings.TrimSpace(val)
	}
	return m
}

// videoSampleEntries and audioSampleEntries are the 4-char codec prefixes hls.js classifies.
var (
	videoSampleEntries = setOf("avc1", "avc2", "avc3", "avc4", "avcp", "av01", "dav1", "drac", "dva1", "dvav",
		"dvh1", "dvhe", "encv", "hev1", "hvc1", "mjp2", "mp4v", "mvc1", "mvc2", "mvc3", "mvc4", "resv", "rv60",
		"s263", "svc1", "svc2", "vc-1", "vp08", "vp09")
	audioSampleEntries = setOf("a3ds", "ac-3", "ac-4", "alac", "alaw", "dra1", "dts+", "dts-", "dtsc", "dtse",
		"dtsh", "ec-3", "enca", "fLaC", "flac", "FLAC", "g719", "g726", "m4ae", "mha1", "mha2", "mhm1", "mhm2",
		"mlpa", "mp4a", "raw ", "Opus", "opus", "samr", "sawb", "sawp", "sevc", "sqcp", "ssmv", "twos", "ulaw")
	textSampleEntries = setOf("stpp", "wvtt")
)

func setOf(v ...string) map[string]bool {
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}

// classifyCodecs splits a CODECS attribute into hls.js's videoCodec and audioCodec strings
// and reports whether any codec was of no known type.
func classifyCodecs(attr string) (video, audio string, unknown bool) {
	fields := strings.FieldsFunc(attr, func(r rune) bool { return r == ' ' || r == ',' })
	var v, a []string
	for _, c := range fields {
		p := c
		if len(p) > 4 {
			p = p[:4]
		}
		base, _, _ := strings.Cut(c, "/")
		switch {
		case videoSampleEntries[p]:
			v = append(v, base)
		case audioSampleEntries[p]:
			a = append(a, base)
		case textSampleEntries[p]:
		default:
			unknown = true
		}
	}
	return strings.Join(v, ","), strings.Join(a, ","), unknown
}

// convertAVC1ToAVCOTI mirrors hls.js's convertAVC1ToAVCOTI (RFC 4281 "avc1.P.L" decimal
// profile and level to the RFC 6381 hex form): for every comma-separated codec starting
// "avc1." with at least three dot-separated parts it writes "avc1." + hex(parseInt(P)) +
// the last 4 hex digits of "000" + hex(parseInt(L)).
func convertAVC1ToAVCOTI(codecs string) string {
	if codecs == "" {
		return ""
	}
	parts := strings.Split(codecs, ",")
	for i, c := range parts {
		f := strings.Split(c, ".")
		if len(f) > 2 && f[0] == "avc1" {
			lv := "000" + jsParseIntHex(f[2])
			parts[i] = "avc1." + jsParseIntHex(f[1]) + lv[len(lv)-4:]
		}
	}
	return strings.Join(parts, ",")
}

// jsParseIntHex is JS parseInt(s).toString(16) for the decimal strings found in codec
// attributes: leading whitespace skipped, an optional sign, the leading decimal digits;
// "NaN" when there are none.
func jsParseIntHex(s string) string {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return "NaN"
	}
	n, err := strconv.ParseUint(s[:end], 10, 64)
	if err != nil {
		return "NaN" // beyond what codec strings carry
	}
	h := strconv.FormatUint(n, 16)
	if neg && n != 0 {
		h = "-" + h
	}
	return h
}
