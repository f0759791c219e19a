package loadtest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// checkNoLeak fails the test if goroutines started during it are still running when its
// cleanups have run. Register it before anything that starts goroutines.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
			if n := runtime.NumGoroutine(); n > before {
				return fmt.Errorf("%d goroutines running, %d before the test", n, before)
			}
			return nil
		})
	})
}

// shortConfig is a bounded profile for tests: 50 connections for about three seconds.
func shortConfig(t *testing.T, url string) Config {
	t.Helper()
	c, err := Preset("light")
	if err != nil {
		t.Fatal(err)
	}
	c.URL = url
	c.Conns, c.Swarms, c.Offers, c.Numwant = 50, 5, 4, 4
	c.Interval = time.Second
	c.SmallSDP = true // keeps the in-process tracker far from saturation under -race
	c.Duration, c.Warmup = 2*time.Second, 500*time.Millisecond
	c.RampRate = 500
	return c
}

func within(t *testing.T, name string, got, want, tol int64) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s = %d, want %d ± %d", name, got, want, tol)
	}
}

// checkOpenResult asserts the invariants of an open-loop run against a tracker that
// relays every offer: every announce replied, every offer relayed, answered and
// delivered, within what the window's edges can split.
func checkOpenResult(t *testing.T, c Config, r *Result) {
	t.Helper()
	if r.ConnsOpen != int64(c.Conns) {
		t.Errorf("ConnsOpen = %d, want %d", r.ConnsOpen, c.Conns)
	}
	if r.Errors != 0 || r.Closes != 0 || r.ProtocolErrors != 0 || r.Failures != 0 {
		t.Errorf("errors: %+v", r)
	}
	// Each connection announces every second for 2 s: about 2 announces each.
	perConn := int64(c.Duration / c.Interval)
	within(t, "Announces", r.Announces, perConn*int64(c.Conns), int64(c.Conns))
	within(t, "Replies", r.Replies, r.Announces, int64(c.Conns))
	// 10 members per swarm, 4 offers each: every offer finds a receiver.
	within(t, "OffersRelayed", r.OffersRelayed, r.OffersSent, int64(c.Offers*c.Conns))
	if t.Failed() {
		t.Logf("result: %+v", r)
	}
	within(t, "AnswersSent", r.AnswersSent, r.OffersRelayed, int64(c.Conns))
	within(t, "AnswersDelivered", r.AnswersDelivered, r.AnswersSent, int64(c.Offers*c.Conns))
	if r.RTTSamples < r.Replies-int64(c.Conns) || r.RTTP50Ms <= 0 || r.RTTP99Ms < r.RTTP50Ms || r.RTTMaxMs < r.RTTP99Ms {
		t.Errorf("RTT: %d samples for %d replies, p50 %v p99 %v max %v", r.RTTSamples, r.Replies, r.RTTP50Ms, r.RTTP99Ms, r.RTTMaxMs)
	}
	msgs := float64(r.Announces+r.AnswersSent+r.Replies+r.OffersRelayed+r.AnswersDelivered+r.Other) / r.WindowS
	if d := r.MsgsPerS - msgs; d > 1 || d < -1 {
		t.Errorf("MsgsPerS = %v, want %v", r.MsgsPerS, msgs)
	}
	if r.SelfCPUCores <= 0 || r.SelfUsPerMsg <= 0 {
		t.Errorf("generator CPU not measured: %v cores, %v µs/msg", r.SelfCPUCores, r.SelfUsPerMsg)
	}
}

func TestRunOpenAgainstFakeTracker(t *testing.T) {
	engines := []string{"goroutine"}
	if epollAvailable {
		engines = append(engines, "epoll")
	}
	for _, engine := range engines {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/deflate=%v", engine, deflate), func(t *testing.T) {
				checkNoLeak(t)
				ft := startFakeTracker(t)
				c := shortConfig(t, ft.URL)
				c.Engine, c.Deflate = engine, deflate
				c.PID = os.Getpid() // the tracker runs in this process
				r, err := Run(context.Background(), c, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkOpenResult(t, c, r)
				if r.Engine != engine {
					t.Errorf("Engine = %q, want %q", r.Engine, engine)
				}
				// What the generator received passed through the tracker.
				if got := ft.announces.Load(); got < r.Replies {
					t.Errorf("tracker saw %d announces, generator got %d replies in the window alone", got, r.Replies)
				}
				if got := ft.answers.Load(); got < r.AnswersDelivered {
					t.Errorf("tracker saw %d answers, generator got %d in the window alone", got, r.AnswersDelivered)
				}
				wantDeflated := int64(0)
				if deflate {
					wantDeflated = int64(c.Conns)
				}
				if got := ft.deflated.Load(); got != wantDeflated {
					t.Errorf("%d connections offered permessage-deflate, want %d", got, wantDeflated)
				}
				if r.Server == nil || r.Server.CPUCores <= 0 || r.Server.RSSEndMiB <= 0 || r.Server.UsPerMsg <= 0 {
					t.Errorf("server sampling: %+v", r.Server)
				}
			})
		}
	}
}

// TestRunTLS runs over wss:// against a self-signed certificate, which the generator
// accepts without verification.
func TestRunTLS(t *testing.T) {
	checkNoLeak(t)
	ft := startFakeTrackerOpts(t, true)
	c := shortConfig(t, ft.URL)
	r, err := Run(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.TLS || r.Engine != "goroutine" {
		t.Errorf("TLS %v engine %q, want true and goroutine", r.TLS, r.Engine)
	}
	checkOpenResult(t, c, r)
}

// TestRunSourceAddrs spreads connections over two loopback source addresses.
func TestRunSourceAddrs(t *testing.T) {
	engines := []string{"goroutine"}
	if epollAvailable {
		engines = append(engines, "epoll")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			checkNoLeak(t)
			ft := startFakeTracker(t)
			c := shortConfig(t, ft.URL)
			c.Engine = engine
			c.Duration = time.Second
			var err error
			if c.SourceAddrs, err = ParseSourceAddrs("127.0.0.2-127.0.0.3"); err != nil {
				t.Fatal(err)
			}
			r, err := Run(context.Background(), c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.ConnsOpen != int64(c.Conns) || r.Errors != 0 {
				t.Errorf("open %d errors %d", r.ConnsOpen, r.Errors)
			}
			var seen []string
			ft.remotes.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
			slices.Sort(seen)
			if !slices.Equal(seen, []string{"127.0.0.2", "127.0.0.3"}) {
				t.Errorf("tracker saw connections from %v, want 127.0.0.2 and 127.0.0.3", seen)
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	checkNoLeak(t)
	ft := startFakeTracker(t)
	c, err := Preset("idle")
	if err != nil {
		t.Fatal(err)
	}
	c.URL, c.Conns, c.Swarms = ft.URL, 30, 3
	c.Duration, c.Warmup, c.RampRate = time.Second, 300*time.Millisecond, 500
	r, err := Run(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ConnsOpen != 30 || r.Errors != 0 {
		t.Errorf("open %d, errors %d", r.ConnsOpen, r.Errors)
	}
	// One announce per connection, all before the window: silence inside it.
	if got := ft.announces.Load(); got != 30 {
		t.Errorf("tracker saw %d announces, want one per connection (30)", got)
	}
	if r.Announces != 0 || r.MsgsPerS != 0 {
		t.Errorf("window not silent: %d announces, %v msgs/s", r.Announces, r.MsgsPerS)
	}
}

func TestRunClosedLoop(t *testing.T) {
	checkNoLeak(t)
	ft := startFakeTracker(t)
	c, err := Preset("closed")
	if err != nil {
		t.Fatal(err)
	}
	c.URL, c.Conns, c.Swarms = ft.URL, 20, 2
	c.Duration, c.Warmup, c.RampRate = 2*time.Second, 300*time.Millisecond, 500
	r, err := Run(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Engine != "goroutine" || r.Errors != 0 || r.ConnsOpen != 20 {
		t.Errorf("engine %s, errors %d, open %d", r.Engine, r.Errors, r.ConnsOpen)
	}
	if r.Announces == 0 || r.Replies == 0 || r.OffersRelayed == 0 || r.AnswersSent == 0 || r.AnswersDelivered == 0 {
		t.Errorf("closed loop did not exchange every kind of message: %+v", r)
	}
	// Send one, read at least one: every message sent is followed by a read, except
	// the stalls (read timeouts that end in a new send) and one per connection at the
	// window's edge.
	in, out := int64(r.MsgsInPerS*r.WindowS+0.5), int64(r.MsgsOutPerS*r.WindowS+0.5)
	if in < out-r.Stalls-int64(c.Conns)-2 {
		t.Errorf("%d messages in for %d out and %d stalls: some sends were not followed by a read", in, out, r.Stalls)
	}
}

func TestRunRefusesDownTracker(t *testing.T) {
	checkNoLeak(t)
	ft := startFakeTracker(t)
	url := ft.URL
	c := shortConfig(t, url)
	c.URL = "ws://127.0.0.1:1/" // nothing listens on port 1
	start := time.Now()
	if _, err := Run(context.Background(), c, nil); err == nil {
		t.Fatal("Run succeeded against a port nobody listens on")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("Run took %v to fail; the first connection should fail fast", time.Since(start))
	}
}

func TestRunStopsOnContext(t *testing.T) {
	checkNoLeak(t)
	ft := startFakeTracker(t)
	c := shortConfig(t, ft.URL)
	c.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, c, nil)
	if err == nil {
		t.Fatal("Run returned no error after its context ended")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Run took %v to stop after cancellation", time.Since(start))
	}
}
