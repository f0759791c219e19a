package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"swarmcast/analytics"
	"swarmcast/hlsgen"
	"swarmcast/internal/jsonconf"
	"swarmcast/seeder"
	"swarmcast/seeder/torrent"
	"swarmcast/tracker"
)

// fileConfig is the whole config.json: wt-tracker's keys (servers, tracker,
// websocketsAccess) plus swarmcast's optional sections.
type fileConfig struct {
	Path    string // the file read, "" when running on built-in defaults
	Log     logConfig
	Tracker tracker.Config
	HLS     *hlsgen.Config // nil: no test-card generator
	Seeder  *seeder.Config // nil: no seeder
	// Analytics configures the demo page's viewer reports (only used by `all`); nil when
	// config.json has no "analytics" section.
	Analytics *analytics.Config
}

// loadConfig reads config.json the way wt-tracker does: the given path, else ./config.json
// if it exists, else defaults. Every section is decoded and validated whatever subcommand
// runs, so a mistake anywhere in the file is reported at start-up with its key.
func loadConfig(path string, warn func(string)) (*fileConfig, error) {
	data := []byte("{}")
	cfg := &fileConfig{}
	switch {
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("failed to read configuration file: %w", err)
		}
		data, cfg.Path = b, path
	default:
		b, err := os.ReadFile("config.json")
		switch {
		case err == nil:
			data, cfg.Path = b, "config.json"
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("failed to read configuration file: %w", err)
		}
	}
	if err := decodeConfig(data, cfg, warn); err != nil {
		if cfg.Path != "" {
			return nil, fmt.Errorf("%s: %w", cfg.Path, err)
		}
		return nil, err
	}
	return cfg, nil
}

func decodeConfig(data []byte, cfg *fileConfig, warn func(string)) error {
	var sections map[string]json.RawMessage
	if err := jsonconf.Decode(data, "", &sections, nil); err != nil {
		return fmt.Errorf("failed to parse JSON configuration file: %w", err)
	}
	if sections == nil {
		return errors.New("failed to parse JSON configuration file: the top level must be an object")
	}
	unknown := func(key string) { warn(fmt.Sprintf("config: unknown key %q ignored", key)) }

	// Each package takes (and deletes) the top-level keys it owns.
	var err error
	if cfg.Tracker, err = tracker.DecodeConfig(sections, unknown); err != nil {
		return err
	}
	if cfg.HLS, err = hlsgen.DecodeConfig(sections, unknown); err != nil {
		return err
	}
	if cfg.Seeder, err = seeder.DecodeConfig(sections, unknown); err != nil {
		return err
	}
	// The WebTorrent half's section is passed through undecoded; check it now so a mistake
	// there stops start-up (and -check) too.
	if cfg.Seeder != nil {
		if raw := bytes.TrimSpace(cfg.Seeder.WebTorrent); len(raw) > 0 && string(raw) != "null" {
			if _, err := torrent.DecodeConfig(raw, "seeder.webtorrent", unknown); err != nil {
				return err
			}
		}
	}
	if raw, ok := sections["analytics"]; ok {
		delete(sections, "analytics")
		var ac analytics.Config
		if err := jsonconf.Decode(raw, "analytics", &ac, unknown); err != nil {
			return err
		}
		if err := ac.Validate("analytics"); err != nil {
			return err
		}
		cfg.Analytics = &ac
	}
	if raw, ok := sections["log"]; ok {
		delete(sections, "log")
		if err := jsonconf.Decode(raw, "log", &cfg.Log, unknown); err != nil {
			return err
		}
		if err := cfg.Log.validate(); err != nil {
			return err
		}
	}
	rest := make([]string, 0, len(sections))
	for k := range sections {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		unknown(k)
	}
	return nil
}
