package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"swarmcast/tracker"
)

func TestLoadtestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // substring of stderr
	}{
		{"unknown profile", []string{"-profile", "extreme"}, "-profile"},
		{"remote url", []string{"-url", "ws://192.0.2.7:8000/"}, "-url"},
		{"bad scheme", []string{"-url", "http://127.0.0.1:8000/"}, "-url"},
		{"zero conns", []string{"-conns", "0"}, "-conns"},
		{"negative offers", []string{"-offers", "-2"}, "-offers"},
		{"zero interval", []string{"-interval", "0s"}, "-interval"},
		{"long duration", []string{"-duration", "1h"}, "-duration"},
		{"bad source", []string{"-source-addrs", "127.0.0.9-127.0.0.1"}, "-source-addrs"},
		{"remote source", []string{"-source-addrs", "10.1.1.1"}, "-source-addrs"},
		{"negative pid", []string{"-pid", "-5"}, "-pid"},
		{"bad engine", []string{"-engine", "uring"}, "-engine"},
		{"epoll with tls", []string{"-engine", "epoll", "-url", "wss://127.0.0.1:1/"}, "-engine"},
		{"negative loops", []string{"-loops", "-1"}, "-loops"},
		{"not a number", []string{"-conns", "many"}, "-conns"},
		{"stray argument", []string{"light"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runLoadtest(tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not name %s", stderr.String(), tt.want)
			}
		})
	}
}

func TestLoadtestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runLoadtest([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	for _, f := range []string{"-profile", "-url", "-deflate", "-source-addrs", "-pid", "-json"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("usage does not mention %s", f)
		}
	}
}

func TestLoadtestTrackerDown(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runLoadtest([]string{"-url", "ws://127.0.0.1:1/", "-conns", "5", "-duration", "1s"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "first connection") {
		t.Errorf("exit %d, stderr %q; want 1 and a connection error", code, stderr.String())
	}
}

// TestLoadtestAgainstTracker runs the subcommand against an in-process tracker and reads
// its JSON line.
func TestLoadtestAgainstTracker(t *testing.T) {
	cfg, err := tracker.DecodeConfig(map[string]json.RawMessage{
		"servers": json.RawMessage(`[{"server":{"host":"127.0.0.1","port":0}}]`),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tracker.New(cfg, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("tracker did not stop")
		}
	})
	var stdout, stderr bytes.Buffer
	args := []string{"-url", "ws://" + srv.Addrs()[0].String() + "/", "-profile", "mid", "-conns", "40", "-swarms", "4",
		"-interval", "1s", "-offers", "3", "-small-sdp", "-duration", "1500ms", "-warmup", "300ms", "-json"}
	if code := runLoadtest(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("-json printed %d lines, want 1:\n%s", len(lines), stdout.String())
	}
	var r struct {
		Profile          string  `json:"profile"`
		Conns            int     `json:"conns_open"`
		Offers           int     `json:"offers"`
		Announces        int64   `json:"announces"`
		Replies          int64   `json:"replies"`
		AnswersDelivered int64   `json:"answers_delivered"`
		Errors           int64   `json:"errors"`
		MsgsPerS         float64 `json:"msgs_per_s"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Profile != "mid" || r.Conns != 40 || r.Offers != 3 || r.Errors != 0 {
		t.Errorf("result %+v", r)
	}
	if r.Announces == 0 || r.Replies == 0 || r.AnswersDelivered == 0 || r.MsgsPerS == 0 {
		t.Errorf("no traffic measured: %+v", r)
	}
}
