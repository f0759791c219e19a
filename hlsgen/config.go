package hlsgen

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"swarmcast/internal/jsonconf"
)

// Config is the optional "hls" section of config.json. Zero values are replaced by the
// defaults below (SetDefaults); Validate then rejects impossible values, naming the JSON key.
// Config is a plain value: copy it freely.
type Config struct {
	// OutputDir is the HLS root folder ffmpeg writes into and the origin serves. Files the
	// generator owns there (see doc.go) are removed when Run starts.
	OutputDir string `json:"outputDir"`
	// Prefix is the URL path the origin is mounted under: starts and ends with "/".
	Prefix string `json:"prefix"`
	// Listen is the address the standalone `swarmcast hlsgen` subcommand serves the origin
	// on. The combined `all` mode ignores it and mounts the origin on the tracker's listener.
	Listen string `json:"listen"`

	// Source is the lavfi video test source: testsrc2, testsrc or smptebars.
	Source string `json:"source"`
	// FPS is the frame rate of every rendition.
	FPS int `json:"fps"`
	// SegmentSeconds is the segment duration (hls_time); every segment starts with the
	// only keyframe of its GOP (GOP = FPS × SegmentSeconds).
	SegmentSeconds int `json:"segmentSeconds"`
	// ListSize is the number of segments in each media playlist (hls_list_size).
	ListSize int `json:"listSize"`
	// DeleteThreshold is how many segments that left the playlist stay on disk
	// (hls_delete_threshold); default ListSize+1, which satisfies RFC 8216 §6.2.2.
	DeleteThreshold int `json:"deleteThreshold"`
	// SegmentType is "mpegts" (.ts segments) or "fmp4" (.m4s segments + an init_N.mp4).
	SegmentType string `json:"segmentType"`
	// Renditions is the ladder, 1 to 3 steps, all sharing segment numbers and boundaries.
	Renditions []Rendition `json:"renditions"`

	// AudioKbps is the AAC bitrate of the sine tone muxed into every rendition.
	AudioKbps int `json:"audioKbps"`
	// ToneHz is the frequency of the sine tone (it beeps once a second).
	ToneHz int `json:"toneHz"`
	// Preset is the libx264 preset (ultrafast … medium).
	Preset string `json:"preset"`
	// Tune is the libx264 tune; "none" disables it. Default zerolatency (no B-frames or
	// lookahead: about a third less CPU).
	Tune string `json:"tune"`
	// Profile is the H.264 profile: baseline, main or high.
	Profile string `json:"profile"`
	// Clock burns the wall clock and a frame counter into the picture (default true).
	Clock *bool `json:"clock"`
	// FontFile is the TrueType font drawtext uses for the clock.
	FontFile string `json:"fontFile"`
	// FFmpegPath is the ffmpeg program, a path or a name looked up in $PATH.
	FFmpegPath string `json:"ffmpegPath"`
	// SegmentMaxAge is the Cache-Control max-age, in seconds, the origin sends with media
	// segments (their URLs never repeat thanks to epoch numbering, so they are immutable).
	SegmentMaxAge int `json:"segmentMaxAge"`
}

// Rendition is one step of the ladder.
type Rendition struct {
	// Name is the rendition's folder below OutputDir (default v0, v1, v2).
	Name string `json:"name"`
	// Width and Height are the picture size; both even.
	Width  int `json:"width"`
	Height int `json:"height"`
	// VideoKbps is the capped video bitrate (b:v = maxrate, bufsize = 2×).
	VideoKbps int `json:"videoKbps"`
}

// Defaults. The default stream is two renditions that together need about a quarter of one
// core on the 2-core reference machine (docs/bench-hlsgen.md).
const (
	DefaultPrefix         = "/hls/"
	DefaultListen         = "0.0.0.0:8080"
	DefaultSource         = "testsrc2"
	DefaultFPS            = 25
	DefaultSegmentSeconds = 2
	DefaultListSize       = 20
	DefaultSegmentType    = "mpegts"
	DefaultAudioKbps      = 64
	DefaultToneHz         = 1000
	DefaultPreset         = "veryfast"
	DefaultTune           = "zerolatency"
	DefaultProfile        = "main"
	DefaultFontFile       = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	DefaultFFmpegPath     = "ffmpeg"
	DefaultSegmentMaxAge  = 86400
)

// DefaultOutputDir is the default HLS root folder: swarmcast-hls in the system temp dir.
func DefaultOutputDir() string { return filepath.Join(os.TempDir(), "swarmcast-hls") }

// DefaultRenditions returns the default 2-step ladder: 640x360 and 320x180.
func DefaultRenditions() []Rendition {
	return []Rendition{
		{Name: "v0", Width: 640, Height: 360, VideoKbps: 800},
		{Name: "v1", Width: 320, Height: 180, VideoKbps: 300},
	}
}

// LadderRenditions returns a 3-step ladder (854x480, 640x360, 320x180) for
// "renditions" when more CPU is available (about half a core, docs/bench-hlsgen.md).
func LadderRenditions() []Rendition {
	return []Rendition{
		{Name: "v0", Width: 854, Height: 480, VideoKbps: 1200},
		{Name: "v1", Width: 640, Height: 360, VideoKbps: 800},
		{Name: "v2", Width: 320, Height: 180, VideoKbps: 300},
	}
}

// SmallConfig returns a tiny, fast stream for tests and quick demos: two renditions
// (192x108 and 96x54) at 10 fps with 1-second segments, 5-segment playlists and the
// ultrafast preset, written to dir. It starts producing segments within about 2 s and
// costs about a tenth of a core.
func SmallConfig(dir string) Config {
	c := Config{
		OutputDir:      dir,
		FPS:            10,
		SegmentSeconds: 1,
		ListSize:       5,
		Preset:         "ultrafast",
		AudioKbps:      32,
		Renditions: []Rendition{
			{Name: "v0", Width: 192, Height: 108, VideoKbps: 150},
			{Name: "v1", Width: 96, Height: 54, VideoKbps: 60},
		},
	}
	c.SetDefaults()
	return c
}

// SetDefaults replaces zero values with the defaults.
func (c *Config) SetDefaults() {
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setStr(&c.OutputDir, DefaultOutputDir())
	setStr(&c.Prefix, DefaultPrefix)
	setStr(&c.Listen, DefaultListen)
	setStr(&c.Source, DefaultSource)
	setInt(&c.FPS, DefaultFPS)
	setInt(&c.SegmentSeconds, DefaultSegmentSeconds)
	setInt(&c.ListSize, DefaultListSize)
	setInt(&c.DeleteThreshold, c.ListSize+1)
	setStr(&c.SegmentType, DefaultSegmentType)
	if len(c.Renditions) == 0 {
		c.Renditions = DefaultRenditions()
	} else {
		c.Renditions = append([]Rendition(nil), c.Renditions...)
	}
	for i := range c.Renditions {
		setStr(&c.Renditions[i].Name, fmt.Sprintf("v%d", i))
	}
	setInt(&c.AudioKbps, DefaultAudioKbps)
	setInt(&c.ToneHz, DefaultToneHz)
	setStr(&c.Preset, DefaultPreset)
	setStr(&c.Tune, DefaultTune)
	setStr(&c.Profile, DefaultProfile)
	if c.Clock == nil {
		t := true
		c.Clock = &t
	}
	setStr(&c.FontFile, DefaultFontFile)
	setStr(&c.FFmpegPath, DefaultFFmpegPath)
	setInt(&c.SegmentMaxAge, DefaultSegmentMaxAge)
}

var (
	renditionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	x264Presets   = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}
	x264Tunes     = []string{"none", "zerolatency", "fastdecode", "film", "animation", "grain", "stillimage"}
	h264Profiles  = []string{"baseline", "main", "high"}
	sources       = []string{"testsrc2", "testsrc", "smptebars"}
	segmentTypes  = []string{"mpegts", "fmp4"}
)

// MaxRenditions is the longest ladder accepted.
const MaxRenditions = 3

// Validate reports the first invalid value, named by its JSON key below "hls". Call
// SetDefaults first: zero values are invalid here.
func (c *Config) Validate() error {
	oneOf := func(key, v string, allowed []string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return jsonconf.Errorf("hls."+key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	between := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return jsonconf.Errorf("hls."+key, "must be between %d and %d, got %d", lo, hi, v)
		}
		return nil
	}
	if strings.ContainsRune(c.OutputDir, 0) {
		return jsonconf.Errorf("hls.outputDir", "contains a NUL byte")
	}
	if !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/") || strings.Contains(c.Prefix, "//") {
		return jsonconf.Errorf("hls.prefix", "must start and end with \"/\" (like \"/hls/\"), got %q", c.Prefix)
	}
	if strings.ContainsAny(c.Prefix, "?#%\\ ") || strings.Contains(c.Prefix, "/../") || strings.Contains(c.Prefix, "/./") {
		return jsonconf.Errorf("hls.prefix", "must be a plain path, got %q", c.Prefix)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return jsonconf.Errorf("hls.listen", "must be host:port (like \"0.0.0.0:8080\"), got %q", c.Listen)
	}
	checks := []error{
		oneOf("source", c.Source, sources),
		between("fps", c.FPS, 1, 60),
		between("segmentSeconds", c.SegmentSeconds, 1, 30),
		between("listSize", c.ListSize, 3, 1000),
		between("deleteThreshold", c.DeleteThreshold, 1, 1000),
		oneOf("segmentType", c.SegmentType, segmentTypes),
		between("audioKbps", c.AudioKbps, 8, 512),
		between("toneHz", c.ToneHz, 20, 20000),
		oneOf("preset", c.Preset, x264Presets),
		oneOf("tune", c.Tune, x264Tunes),
		oneOf("profile", c.Profile, h264Profiles),
		between("segmentMaxAge", c.SegmentMaxAge, 1, 365*86400),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if c.FontFile == "" || strings.ContainsAny(c.FontFile, "'\\:,;[]") {
		return jsonconf.Errorf("hls.fontFile", "must be a path without quotes, backslashes, colons, commas, semicolons or brackets, got %q", c.FontFile)
	}
	if c.FFmpegPath == "" {
		return jsonconf.Errorf("hls.ffmpegPath", "must not be empty")
	}
	if n := len(c.Renditions); n < 1 || n > MaxRenditions {
		return jsonconf.Errorf("hls.renditions", "must have 1 to %d entries, got %d", MaxRenditions, n)
	}
	seen := map[string]int{}
	for i, r := range c.Renditions {
		key := fmt.Sprintf("hls.renditions[%d]", i)
		if !renditionName.MatchString(r.Name) {
			return jsonconf.Errorf(key+".name", "must be 1-32 letters, digits, '-' or '_', got %q", r.Name)
		}
		if j, dup := seen[r.Name]; dup {
			return jsonconf.Errorf(key+".name", "%q is already used by renditions[%d]", r.Name, j)
		}
		seen[r.Name] = i
		for _, d := range []struct {
			key string
			v   int
		}{{"width", r.Width}, {"height", r.Height}} {
			if d.v < 16 || d.v > 3840 || d.v%2 != 0 {
				return jsonconf.Errorf(key+"."+d.key, "must be an even number between 16 and 3840, got %d", d.v)
			}
		}
		if r.VideoKbps < 16 || r.VideoKbps > 50000 {
			return jsonconf.Errorf(key+".videoKbps", "must be between 16 and 50000, got %d", r.VideoKbps)
		}
	}
	return nil
}

// GOP is the keyframe interval in frames: one keyframe at the start of every segment.
func (c *Config) GOP() int { return c.FPS * c.SegmentSeconds }

// DecodeConfig takes the "hls" key out of the top-level sections of config.json, decodes it,
// applies defaults and validates it. It returns nil when the key is absent (no generator).
// unknown is called with the path of every key it does not know.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (*Config, error) {
	raw, ok := sections["hls"]
	if !ok {
		return nil, nil
	}
	delete(sections, "hls")
	var c Config
	if err := jsonconf.Decode(raw, "hls", &c, unknown); err != nil {
		return nil, err
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
