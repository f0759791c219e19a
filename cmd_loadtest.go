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
	"strings"
	"syscall"

	"swarmcast/loadtest"
)

// runLoadtest implements `swarmcast loadtest [flags]`: it runs one load test against a
// tracker on the loopback interface and prints a table and one JSON line.
func runLoadtest(args []string, stdout, stderr io.Writer) int {
	cfg, jsonOnly, logLevel, err := parseLoadtestFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "swarmcast loadtest: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "swarmcast loadtest: %v\n", err)
		return 1
	}
	if !jsonOnly {
		if err := res.WriteTable(stdout); err != nil {
			return 1
		}
	}
	if err := res.WriteJSON(stdout); err != nil {
		return 1
	}
	return 0
}

// parseLoadtestFlags turns the command line into a validated loadtest.Config. Errors name
// the flag.
func parseLoadtestFlags(args []string, stderr io.Writer) (cfg loadtest.Config, jsonOnly bool, level slog.Level, err error) {
	fs := flag.NewFlagSet("swarmcast loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", "light", "preset: "+strings.Join(loadtest.Presets, ", "))
	url := fs.String("url", "ws://127.0.0.1:8000/", "tracker WebSocket URL (ws:// or wss://); loopback hosts only unless -allow-remote")
	allowRemote := fs.Bool("allow-remote", false, "allow a target that is not a loopback address")
	// Numeric flags left unset keep the profile's value (fs.Visit below), so their
	// defaults here are never used.
	conns := fs.Int("conns", 0, "connections (default: the profile's)")
	swarms := fs.Int("swarms", 0, "swarms (default: the profile's)")
	interval := fs.Duration("interval", 0, "time between announces of one connection (default: the profile's)")
	offers := fs.Int("offers", 0, "offers per announce, also sets numwant (default: the profile's)")
	numwant := fs.Int("numwant", 0, "numwant per announce (default: the number of offers)")
	smallSDP := fs.Bool("small-sdp", false, "send a 47-byte SDP instead of a realistic ~1.3 KB one")
	duration := fs.Duration("duration", 0, "measured steady window (default: the profile's)")
	warmup := fs.Duration("warmup", 0, "wait between the last connection and the window (default: the profile's)")
	rampRate := fs.Int("ramp-rate", 0, "new connections per second (default: the profile's)")
	useTLS := fs.Bool("tls", false, "use TLS (implied by wss://); the certificate is not verified")
	deflate := fs.Bool("deflate", false, "negotiate permessage-deflate and send compressed messages")
	sources := fs.String("source-addrs", "", "local addresses to connect from, round robin: 127.0.0.1,127.0.0.2 or 127.0.0.1-127.0.0.4")
	loops := fs.Int("loops", 0, "epoll event loops (0: GOMAXPROCS)")
	engine := fs.String("engine", "", "client I/O: epoll or goroutine (default: epoll for ws:// open and idle profiles)")
	pid := fs.Int("pid", 0, "tracker process id: report its CPU and RSS from /proc")
	jsonFlag := fs.Bool("json", false, "print only the JSON line")
	verbose := fs.Bool("v", false, "log each connection failure")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: swarmcast loadtest [flags]\n\n"+
			"Load-tests a WebTorrent tracker on the loopback interface and reports messages/s,\n"+
			"announce RTT, errors and, with -pid, the tracker's CPU per message and RSS per connection.\n"+
			"Profiles: light (2000 conns, 100 swarms, announce every 5 s with 10 offers), mid (2 s),\n"+
			"heavy (1 s), idle (announce once), closed (aquatic_ws_load_test style send-one-read-one).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err = fs.Parse(args); err != nil {
		return cfg, false, 0, err
	}
	if fs.NArg() > 0 {
		return cfg, false, 0, fmt.Errorf("unexpected argument %q (all options are flags)", fs.Arg(0))
	}
	cfg, err = loadtest.Preset(*profile)
	if err != nil {
		return cfg, false, 0, fmt.Errorf("-profile: %w", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.URL = *url
	cfg.AllowRemote = *allowRemote
	if set["conns"] {
		cfg.Conns = *conns
	}
	if set["swarms"] {
		cfg.Swarms = *swarms
	}
	if set["interval"] {
		cfg.Interval = *interval
	}
	if set["offers"] {
		cfg.Offers = *offers
		cfg.Numwant = *offers
	}
	if set["numwant"] {
		cfg.Numwant = *numwant
	}
	if set["small-sdp"] {
		cfg.SmallSDP = *smallSDP
	}
	if set["duration"] {
		cfg.Duration = *duration
	}
	if set["warmup"] {
		cfg.Warmup = *warmup
	}
	if set["ramp-rate"] {
		cfg.RampRate = *rampRate
	}
	cfg.TLS = *useTLS
	cfg.Deflate = *deflate
	cfg.PID = *pid
	cfg.Loops = *loops
	cfg.Engine = *engine
	if *sources != "" {
		if cfg.SourceAddrs, err = loadtest.ParseSourceAddrs(*sources); err != nil {
			return cfg, false, 0, fmt.Errorf("-source-addrs: %w", err)
		}
	}
	if err = cfg.Validate(); err != nil {
		var fe *loadtest.FieldError
		if errors.As(err, &fe) {
			return cfg, false, 0, fmt.Errorf("%s: %s", flagOf[fe.Field], fe.Msg)
		}
		return cfg, false, 0, err
	}
	level = slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	if *jsonFlag {
		level = slog.LevelWarn
	}
	return cfg, *jsonFlag, level, nil
}

// flagOf maps Config fields to the flags that set them, for error messages.
var flagOf = map[string]string{
	"URL": "-url", "Mode": "-profile", "Conns": "-conns", "Swarms": "-swarms", "Interval": "-interval",
	"Offers": "-offers", "Numwant": "-numwant", "Duration": "-duration", "Warmup": "-warmup",
	"RampRate": "-ramp-rate", "SourceAddrs": "-source-addrs", "PID": "-pid",
	"DialTimeout": "-profile", "ReadBufBytes": "-profile", "Loops": "-loops", "Engine": "-engine",
}
