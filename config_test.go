package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigPathResolution(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	// No argument and no ./config.json: built-in defaults.
	cfg, err := loadConfig("", func(string) {})
	if err != nil || cfg.Path != "" {
		t.Fatalf("defaults: cfg.Path=%q err=%v", cfg.Path, err)
	}
	if cfg.HLS != nil || cfg.Seeder != nil {
		t.Fatalf("defaults enabled optional parts: hls=%v seeder=%v", cfg.HLS, cfg.Seeder)
	}

	// ./config.json is picked up when present.
	writeFile(t, dir, "config.json", `{"tracker":{"maxOffers":7}}`)
	cfg, err = loadConfig("", func(string) {})
	if err != nil || cfg.Path != "config.json" {
		t.Fatalf("./config.json: cfg.Path=%q err=%v", cfg.Path, err)
	}

	// An explicit path wins; a missing explicit file is an error (wt-tracker refuses too).
	other := writeFile(t, dir, "other.json", `{}`)
	if cfg, err = loadConfig(other, func(string) {}); err != nil || cfg.Path != other {
		t.Fatalf("explicit: cfg.Path=%q err=%v", cfg.Path, err)
	}
	if _, err = loadConfig(filepath.Join(dir, "missing.json"), func(string) {}); err == nil ||
		!strings.Contains(err.Error(), "failed to read configuration file") {
		t.Fatalf("missing explicit file: err=%v", err)
	}
}

func TestLoadConfigErrorsAndWarnings(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantErr  string   // substring; "" = success
		wantWarn []string // substrings, in order
	}{
		{name: "not json", body: `{"servers":`, wantErr: "failed to parse JSON configuration file"},
		{name: "not an object", body: `[1,2]`, wantErr: "failed to parse JSON configuration file"},
		{name: "null top level", body: `null`, wantErr: "top level must be an object"},
		{name: "log level", body: `{"log":{"level":"loud"}}`, wantErr: "log.level"},
		{name: "log type", body: `{"log":{"format":7}}`, wantErr: "log.format"},
		{name: "analytics", body: `{"analytics":{"maxViewers":-2}}`, wantErr: "analytics.maxViewers"},
		{name: "unknown keys warn once each", body: `{"zzz":1,"log":{"colour":true},"aaa":{}}`,
			wantWarn: []string{`"log.colour"`, `"aaa"`, `"zzz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "config.json", tt.body)
			var warns []string
			cfg, err := loadConfig(p, func(w string) { warns = append(warns, w) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if len(warns) != len(tt.wantWarn) {
				t.Fatalf("warnings = %q, want %d", warns, len(tt.wantWarn))
			}
			for i, w := range tt.wantWarn {
				if !strings.Contains(warns[i], w) {
					t.Fatalf("warning %d = %q, want it to contain %s", i, warns[i], w)
				}
			}
			if cfg == nil {
				t.Fatal("nil config")
			}
		})
	}
}

func TestCheckFlag(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{}`)
	bad := writeFile(t, dir, "bad.json", `{"log":{"level":"loud"}}`)
	var out, errOut strings.Builder
	if code := run([]string{"-check", "tracker", good}, &out, &errOut); code != 0 {
		t.Fatalf("-check good config: exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "configuration OK") {
		t.Fatalf("stdout = %q", out.String())
	}
	errOut.Reset()
	if code := run([]string{"-check", bad}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "log.level") {
		t.Fatalf("-check bad config: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"tracker", good, "extra"}, &out, &errOut); code != 2 {
		t.Fatalf("extra argument: exit %d, want 2", code)
	}
}
