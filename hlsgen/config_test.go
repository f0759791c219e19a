package hlsgen

import (
	"encoding/json"
	"strings"
	"testing"
)

func decode(t *testing.T, hls string) (*Config, []string, error) {
	t.Helper()
	sections := map[string]json.RawMessage{}
	if hls != "" {
		sections["hls"] = json.RawMessage(hls)
	}
	sections["other"] = json.RawMessage(`1`)
	var unknown []string
	c, err := DecodeConfig(sections, func(k string) { unknown = append(unknown, k) })
	if _, ok := sections["hls"]; ok {
		t.Errorf("DecodeConfig left the hls key in sections")
	}
	if _, ok := sections["other"]; !ok {
		t.Errorf("DecodeConfig removed a key it does not own")
	}
	return c, unknown, err
}

func TestDecodeConfigAbsent(t *testing.T) {
	c, _, err := decode(t, "")
	if err != nil || c != nil {
		t.Fatalf("DecodeConfig without hls = %v, %v; want nil, nil", c, err)
	}
}

func TestDecodeConfigDefaults(t *testing.T) {
	c, unknown, err := decode(t, `{"bogus": 1, "renditions": [{"width": 320, "height": 180, "videoKbps": 300, "x": 0}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(unknown, ","), "hls.bogus,hls.renditions[0].x"; got != want {
		t.Errorf("unknown keys = %q, want %q", got, want)
	}
	if c.Prefix != "/hls/" || c.SegmentSeconds != 2 || c.ListSize != 20 || c.DeleteThreshold != 21 ||
		c.FPS != DefaultFPS || c.Preset != "veryfast" || !*c.Clock || c.SegmentType != "mpegts" {
		t.Errorf("defaults not applied: %+v", c)
	}
	if len(c.Renditions) != 1 || c.Renditions[0].Name != "v0" {
		t.Errorf("renditions = %+v, want one named v0", c.Renditions)
	}
	if c.GOP() != DefaultFPS*2 {
		t.Errorf("GOP = %d, want %d", c.GOP(), DefaultFPS*2)
	}
	empty, _, err := decode(t, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Renditions) != 2 {
		t.Errorf("default ladder has %d renditions, want 2", len(empty.Renditions))
	}
}

func TestConfigErrorsNameTheirKey(t *testing.T) {
	tests := []struct {
		name, json, wantKey string
	}{
		{"wrong type", `{"fps": "fast"}`, "hls.fps: "},
		{"fps range", `{"fps": 100}`, "hls.fps: "},
		{"segment seconds", `{"segmentSeconds": -1}`, "hls.segmentSeconds: "},
		{"list size", `{"listSize": 2}`, "hls.listSize: "},
		{"delete threshold", `{"deleteThreshold": -3}`, "hls.deleteThreshold: "},
		{"source", `{"source": "camera"}`, "hls.source: "},
		{"segment type", `{"segmentType": "webm"}`, "hls.segmentType: "},
		{"preset", `{"preset": "placebo"}`, "hls.preset: "},
		{"tune", `{"tune": "fast"}`, "hls.tune: "},
		{"profile", `{"profile": "high10"}`, "hls.profile: "},
		{"audio", `{"audioKbps": 4}`, "hls.audioKbps: "},
		{"tone", `{"toneHz": 5}`, "hls.toneHz: "},
		{"prefix without slash", `{"prefix": "hls"}`, "hls.prefix: "},
		{"prefix with dots", `{"prefix": "/a/../b/"}`, "hls.prefix: "},
		{"font with colon", `{"fontFile": "/x:y.ttf"}`, "hls.fontFile: "},
		{"too many renditions", `{"renditions": [{"width":64,"height":64,"videoKbps":100},{"width":64,"height":64,"videoKbps":100},{"width":64,"height":64,"videoKbps":100},{"width":64,"height":64,"videoKbps":100}]}`, "hls.renditions: "},
		{"odd width", `{"renditions": [{"width": 640, "height": 360, "videoKbps": 800}, {"width": 321, "height": 180, "videoKbps": 300}]}`, "hls.renditions[1].width: "},
		{"tiny height", `{"renditions": [{"width": 640, "height": 8, "videoKbps": 800}]}`, "hls.renditions[0].height: "},
		{"bitrate", `{"renditions": [{"width": 640, "height": 360, "videoKbps": 0}]}`, "hls.renditions[0].videoKbps: "},
		{"bad name", `{"renditions": [{"name": "../x", "width": 640, "height": 360, "videoKbps": 800}]}`, "hls.renditions[0].name: "},
		{"duplicate name", `{"renditions": [{"name": "a", "width": 640, "height": 360, "videoKbps": 800}, {"name": "a", "width": 320, "height": 180, "videoKbps": 300}]}`, "hls.renditions[1].name: "},
		{"clock type", `{"clock": "yes"}`, "hls.clock: "},
		{"listen", `{"listen": "8080"}`, "hls.listen: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decode(t, tt.json)
			if err == nil {
				t.Fatalf("DecodeConfig(%s) succeeded, want an error naming %q", tt.json, tt.wantKey)
			}
			if !strings.HasPrefix(err.Error(), tt.wantKey) {
				t.Errorf("error %q does not start with %q", err, tt.wantKey)
			}
		})
	}
}

func TestShippedConfigsValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"small":   SmallConfig(t.TempDir()),
		"ladder":  {Renditions: LadderRenditions()},
		"default": {},
	} {
		t.Run(name, func(t *testing.T) {
			c.SetDefaults()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
