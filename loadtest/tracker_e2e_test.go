package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"swarmcast/tracker"
)

// testLogger sends the generator's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startTracker runs swarmcast's tracker in-process on 127.0.0.1 with an ephemeral port.
func startTracker(t *testing.T, trackerJSON, websocketsJSON string) string {
	t.Helper()
	if websocketsJSON == "" {
		websocketsJSON = "{}"
	}
	sections := map[string]json.RawMessage{
		"servers": json.RawMessage(`[{"server":{"host":"127.0.0.1","port":0},"websockets":` + websocketsJSON + `}]`),
	}
	if trackerJSON != "" {
		sections["tracker"] = json.RawMessage(trackerJSON)
	}
	cfg, err := tracker.DecodeConfig(sections, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tracker.New(cfg, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addrs()[0].String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, tracker.ErrServerClosed) {
				t.Errorf("tracker Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("tracker did not stop")
		}
	})
	return "ws://" + addr + "/"
}

// TestRunAgainstSwarmcastTracker drives the real tracker with a short open-loop profile,
// plain and with permessage-deflate, and checks that every announce was replied and every
// offer relayed, answered and delivered.
func TestRunAgainstSwarmcastTracker(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflate), func(t *testing.T) {
			checkNoLeak(t)
			url := startTracker(t, `{"announceInterval":120}`, "")
			c := shortConfig(t, url)
			c.Deflate = deflate
			r, err := Run(context.Background(), c, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkOpenResult(t, c, r)
		})
	}
}

// TestRunClosedAgainstSwarmcastTracker runs the aquatic-style closed loop: announces with
// null answer fields and answers with null offers must all be accepted (no closes).
// The loop runs flat out and each announce fans out to many receivers, so the tracker's
// per-connection send queue is raised well above its default of 64 frames: with the
// default, a receiver that is briefly behind is closed as a slow consumer.
func TestRunClosedAgainstSwarmcastTracker(t *testing.T) {
	checkNoLeak(t)
	url := startTracker(t, "", `{"sendQueueLength":4096}`)
	c, err := Preset("closed")
	if err != nil {
		t.Fatal(err)
	}
	c.URL, c.Conns, c.Swarms = url, 20, 2
	c.Duration, c.Warmup, c.RampRate = 2*time.Second, 300*time.Millisecond, 500
	r, err := Run(context.Background(), c, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.ConnsOpen != 20 {
		t.Errorf("errors %d (closes %d, failures %d, protocol %d), open %d", r.Errors, r.Closes, r.Failures, r.ProtocolErrors, r.ConnsOpen)
	}
	if r.Replies == 0 || r.OffersRelayed == 0 || r.AnswersDelivered == 0 {
		t.Errorf("closed loop did not exchange every kind of message: %+v", r)
	}
}

// BenchmarkSwarmcastTracker runs a load profile against an in-process tracker, so that
// `go test -bench SwarmcastTracker -benchtime 1x -cpuprofile cpu.prof -memprofile mem.prof`
// shows where the tracker spends CPU and memory. The generator shares the process: read
// the profile for the tracker package's functions, and use `swarmcast loadtest -pid`
// against the binary for the tracker's cost alone. LOADTEST_PROFILE (default light) and
// LOADTEST_DEFLATE=1 pick the load; each iteration is one 10-second window.
func BenchmarkSwarmcastTracker(b *testing.B) {
	name := os.Getenv("LOADTEST_PROFILE")
	if name == "" {
		name = "light"
	}
	c, err := Preset(name)
	if err != nil {
		b.Fatal(err)
	}
	c.Duration, c.Warmup = 10*time.Second, 3*time.Second
	c.Deflate = os.Getenv("LOADTEST_DEFLATE") == "1"
	for b.Loop() {
		b.StopTimer()
		url := startTrackerB(b)
		c.URL = url
		b.StartTimer()
		// Mid-window: goroutine stacks per connection (the tracker's reader and writer
		// goroutines; the generator's epoll engine has none) and, with
		// LOADTEST_HEAPPROFILE=file, a heap profile while every connection is open.
		var stackPerConn float64
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			time.Sleep(time.Duration(c.Conns)*time.Second/time.Duration(c.RampRate) + c.Warmup + c.Duration/2)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			stackPerConn = float64(ms.StackInuse) / 1024 / float64(c.Conns)
			if path := os.Getenv("LOADTEST_HEAPPROFILE"); path != "" {
				if f, err := os.Create(path); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}()
		r, err := Run(context.Background(), c, nil)
		if err != nil {
			b.Fatal(err)
		}
		<-sampled
		b.ReportMetric(stackPerConn, "stack-KiB/conn")
		b.ReportMetric(r.MsgsPerS, "msgs/s")
		b.ReportMetric(r.RTTP99Ms, "p99-ms")
		b.ReportMetric(float64(r.Errors), "errors")
	}
}

// startTrackerB is startTracker for benchmarks.
func startTrackerB(b *testing.B) string {
	b.Helper()
	cfg, err := tracker.DecodeConfig(map[string]json.RawMessage{
		"servers": json.RawMessage(`[{"server":{"host":"127.0.0.1","port":0}}]`),
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := tracker.New(cfg, tracker.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return "ws://" + srv.Addrs()[0].String() + "/"
}
