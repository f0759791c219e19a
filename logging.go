package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logConfig is the optional top-level "log" section of config.json.
type logConfig struct {
	Level  string `json:"level"`  // debug, info (default), warn, error
	Format string `json:"format"` // text (default) or json
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log.level: unknown level %q (want debug, info, warn or error)", s)
}

// validate checks the section so that a bad value stops start-up with the key named.
func (c logConfig) validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	switch strings.ToLower(c.Format) {
	case "", "text", "json":
		return nil
	}
	return fmt.Errorf("log.format: unknown format %q (want text or json)", c.Format)
}

func newLogger(c logConfig, w io.Writer) (*slog.Logger, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(c.Format) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
