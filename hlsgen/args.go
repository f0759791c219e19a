package hlsgen

import (
	"fmt"
	"strings"
)

// Output layout below Config.OutputDir. ffmpeg writes the dot-prefixed (private) playlists;
// the generator publishes the public ones after the manifest lists their segments.
const (
	// MasterPlaylist is the public master playlist, in the HLS root folder.
	MasterPlaylist = "master.m3u8"
	// MediaPlaylist is the public media playlist inside each rendition folder.
	MediaPlaylist = "index.m3u8"
	// ManifestFile is the integrity manifest, in the HLS root folder.
	ManifestFile = "segments-sha256.json"

	privateMaster = ".master.m3u8" // written by ffmpeg, never served
	privateMedia  = ".index.m3u8"  // written by ffmpeg in each rendition folder, never served
	segmentPrefix = "seg"          // segment files are seg<media sequence number>.ts|.m4s
	initName      = "init.mp4"     // ffmpeg names it init_<rendition index>.mp4
)

// SegmentExt is the extension of media segments for the configured segment type.
func (c *Config) SegmentExt() string {
	if c.SegmentType == "fmp4" {
		return ".m4s"
	}
	return ".ts"
}

// BuildArgs returns ffmpeg's argument list (without the program name) for cfg, which must
// have been through SetDefaults and Validate. It is a pure function of cfg; paths in it are
// relative to cfg.OutputDir, which is ffmpeg's working directory.
func BuildArgs(cfg Config) []string {
	n := len(cfg.Renditions)
	srcW, srcH := 0, 0
	for _, r := range cfg.Renditions {
		srcW, srcH = max(srcW, r.Width), max(srcH, r.Height)
	}
	gop := fmt.Sprint(cfg.GOP())

	args := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("%s=size=%dx%d:rate=%d", cfg.Source, srcW, srcH, cfg.FPS),
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:beep_factor=4:sample_rate=48000", cfg.ToneHz),
		"-filter_complex", filterGraph(cfg, srcW, srcH),
	}
	for i := range n {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
	}
	for range n {
		args = append(args, "-map", "1:a")
	}
	args = append(args, "-c:v", "libx264", "-preset", cfg.Preset)
	if cfg.Tune != "none" {
		args = append(args, "-tune", cfg.Tune)
	}
	args = append(args,
		"-profile:v", cfg.Profile, "-pix_fmt", "yuv420p",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0")
	for i, r := range cfg.Renditions {
		k := fmt.Sprintf("%dk", r.VideoKbps)
		args = append(args,
			fmt.Sprintf("-b:v:%d", i), k,
			fmt.Sprintf("-maxrate:v:%d", i), k,
			fmt.Sprintf("-bufsize:v:%d", i), fmt.Sprintf("%dk", 2*r.VideoKbps))
	}
	args = append(args,
		"-c:a", "aac", "-b:a", fmt.Sprintf("%dk", cfg.AudioKbps), "-ac", "2", "-ar", "48000",
		"-f", "hls",
		"-hls_time", fmt.Sprint(cfg.SegmentSeconds),
		"-hls_list_size", fmt.Sprint(cfg.ListSize),
		"-hls_delete_threshold", fmt.Sprint(cfg.DeleteThreshold),
		"-hls_segment_type", cfg.SegmentType,
	)
	if cfg.SegmentType == "fmp4" {
		args = append(args, "-hls_fmp4_init_filename", initName)
	}
	streams := make([]string, n)
	for i, r := range cfg.Renditions {
		streams[i] = fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name)
	}
	args = append(args,
		// omit_endlist: a supervised restart must not end the stream for players.
		"-hls_flags", "delete_segments+independent_segments+program_date_time+temp_file+omit_endlist",
		"-hls_start_number_source", "epoch",
		"-master_pl_name", privateMaster,
		"-var_stream_map", strings.Join(streams, " "),
		"-hls_segment_filename", "%v/"+segmentPrefix+"%d"+cfg.SegmentExt(),
		"%v/"+privateMedia,
	)
	return args
}

// filterGraph draws the clock and frame counter once on the source picture, then splits it
// into one output per rendition, scaling those smaller than the source. Outputs are [v0]…
func filterGraph(cfg Config, srcW, srcH int) string {
	n := len(cfg.Renditions)
	var chain []string
	if *cfg.Clock {
		size := max(srcH/14, 8)
		chain = append(chain, fmt.Sprintf(
			`drawtext=fontfile=%s:text='%%{localtime\:%%F %%T}  frame %%{n}':fontsize=%d:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=%d:x=(w-tw)/2:y=h-th-%d`,
			cfg.FontFile, size, max(size/5, 2), max(size/2, 4)))
	}
	var outs []string
	var scales []string
	for i, r := range cfg.Renditions {
		if r.Width == srcW && r.Height == srcH {
			outs = append(outs, fmt.Sprintf("[v%d]", i))
			continue
		}
		outs = append(outs, fmt.Sprintf("[s%d]", i))
		scales = append(scales, fmt.Sprintf("[s%d]scale=w=%d:h=%d[v%d]", i, r.Width, r.Height, i))
	}
	if n > 1 {
		chain = append(chain, fmt.Sprintf("split=%d", n))
	} else if len(chain) == 0 {
		chain = append(chain, "null")
	}
	graph := "[0:v]" + strings.Join(chain, ",") + strings.Join(outs, "")
	for _, s := range scales {
		graph += ";" + s
	}
	return graph
}
