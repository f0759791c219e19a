package hlsgen

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenConfigs are the argv golden tests; OutputDir does not appear in the argv.
func goldenConfigs() map[string]Config {
	noClock := false
	return map[string]Config{
		"default": {},
		"ladder":  {Renditions: LadderRenditions()},
		"fmp4":    {SegmentType: "fmp4", Source: "smptebars", Tune: "none", Profile: "high"},
		"single-noclock": {Clock: &noClock, FPS: 30, SegmentSeconds: 4, ListSize: 15,
			Renditions: []Rendition{{Name: "720p", Width: 1280, Height: 720, VideoKbps: 2500}}},
		"small": SmallConfig("/ignored"),
	}
}

func TestBuildArgsGolden(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			// One argument per line: the filter graph and the stream map contain spaces.
			got := strings.Join(BuildArgs(cfg), "\n") + "\n"
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./hlsgen -run TestBuildArgsGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("BuildArgs(%s) differs from %s:\n got:\n%s\nwant:\n%s", name, path, got, want)
			}
		})
	}
}

// TestBuildArgsInvariants checks the properties the golden files are meant to pin down,
// so a careless -update cannot silently lose them.
func TestBuildArgsInvariants(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			cfg.SetDefaults()
			args := BuildArgs(cfg)
			val := func(flag string) string {
				t.Helper()
				for i, a := range args[:len(args)-1] {
					if a == flag {
						return args[i+1]
					}
				}
				t.Fatalf("%s missing from %q", flag, args)
				return ""
			}
			gop := cfg.FPS * cfg.SegmentSeconds
			for _, f := range []string{"-g", "-keyint_min"} {
				if got := val(f); got != itoa(gop) {
					t.Errorf("%s = %s, want fps×segmentSeconds = %d", f, got, gop)
				}
			}
			if val("-sc_threshold") != "0" || val("-hls_start_number_source") != "epoch" || val("-hls_time") != itoa(cfg.SegmentSeconds) {
				t.Errorf("keyframe/numbering options wrong: %q", args)
			}
			flags := val("-hls_flags")
			for _, f := range []string{"delete_segments", "independent_segments", "program_date_time", "temp_file"} {
				if !strings.Contains(flags, f) {
					t.Errorf("-hls_flags %q lacks %s", flags, f)
				}
			}
			if n := strings.Count(val("-var_stream_map"), "name:"); n != len(cfg.Renditions) {
				t.Errorf("var_stream_map has %d streams, want %d", n, len(cfg.Renditions))
			}
			if count(args, "-re") != 2 {
				t.Errorf("want -re on both inputs: %q", args)
			}
			graph := val("-filter_complex")
			if *cfg.Clock != strings.Contains(graph, "drawtext=fontfile="+cfg.FontFile) {
				t.Errorf("clock %v but filter graph %q", *cfg.Clock, graph)
			}
			if !strings.Contains(graph, `%{localtime\:%F %T}`) && *cfg.Clock {
				t.Errorf("filter graph lacks the wall clock: %q", graph)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func count(args []string, s string) int {
	n := 0
	for _, a := range args {
		if a == s {
			n++
		}
	}
	return n
}
