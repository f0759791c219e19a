// Command swarmcast is the server side of browser P2P live video: a wt-tracker-compatible
// WebTorrent tracker, an HLS test-card generator and origin, and a seeding super-peer, in one
// binary.
//
//	swarmcast [flags] [all] [config.json]      everything config.json enables (default)
//	swarmcast [flags] tracker [config.json]    the tracker only (drop-in for wt-tracker)
//	swarmcast [flags] hlsgen [config.json]     the live test card and its HLS origin
//	swarmcast [flags] seeder [config.json]     the seeding super-peer
//	swarmcast loadtest [flags]                 a WebTorrent tracker load generator
//	swarmcast healthcheck [config.json]        exit 0 if the tracker answers on loopback
//
// As with wt-tracker, the config path is positional; without it ./config.json is read when
// it exists, else built-in defaults apply.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// subcommands maps each subcommand to its entry point. Each returns an exit status.
var subcommands = map[string]func(ctx context.Context, env *cmdEnv) error{
	"all":     runAll,
	"tracker": runTracker,
	"hlsgen":  runHLSGen,
	"seeder":  runSeeder,
	// healthcheck exits 0 when the tracker answers /stats.json on loopback (Docker HEALTHCHECK).
	"healthcheck": runHealthcheck,
}

// cmdEnv is what every subcommand gets: the loaded configuration and a logger.
type cmdEnv struct {
	cfg    *fileConfig
	log    *slog.Logger
	stdout io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	// loadtest has its own flag set; it does not read config.json.
	if len(args) > 0 && args[0] == "loadtest" {
		return runLoadtest(args[1:], stdout, stderr)
	}

	fs := flag.NewFlagSet("swarmcast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logLevel := fs.String("log-level", "", "log level: debug, info, warn or error (overrides log.level in config.json)")
	logFormat := fs.String("log-format", "", "log format: text or json (overrides log.format in config.json)")
	check := fs.Bool("check", false, "validate the configuration and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: swarmcast [flags] [all|tracker|hlsgen|seeder] [config.json]\n       swarmcast loadtest -h\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	name := "all"
	if len(rest) > 0 {
		if _, ok := subcommands[rest[0]]; ok {
			name, rest = rest[0], rest[1:]
		}
	}
	if len(rest) > 1 {
		fmt.Fprintf(stderr, "swarmcast: too many arguments: %q\n", rest)
		fs.Usage()
		return 2
	}
	path := ""
	if len(rest) == 1 {
		path = rest[0]
	}

	var warnings []string
	cfg, err := loadConfig(path, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		fmt.Fprintf(stderr, "swarmcast: %v\n", err)
		return 1
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	logger, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "swarmcast: %v\n", err)
		return 1
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	if cfg.Path != "" {
		logger.Info("configuration loaded", "path", cfg.Path)
	} else {
		logger.Info("no config.json found, using built-in defaults")
	}
	if *check {
		fmt.Fprintln(stdout, "configuration OK")
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := subcommands[name](ctx, &cmdEnv{cfg: cfg, log: logger, stdout: stdout}); err != nil {
		logger.Error("exiting", "err", err)
		return 1
	}
	return 0
}
