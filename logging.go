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

func newLogger(c logConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("log.level: unknown level %q (want debug, info, warn or error)", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log.format: unknown format %q (want text or json)", c.Format)
	}
}
