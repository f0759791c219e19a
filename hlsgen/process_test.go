package hlsgen

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeProc is a process that exits when told to, or on Interrupt unless it is stubborn.
type fakeProc struct {
	id        int
	stubborn  bool // ignores Interrupt
	exit      chan error
	once      sync.Once
	mu        sync.Mutex
	interrupt int
	killed    bool
}

func (p *fakeProc) Wait() error { return <-p.exit }
func (p *fakeProc) end(err error) {
	p.once.Do(func() { p.exit <- err })
}
func (p *fakeProc) Interrupt() {
	p.mu.Lock()
	p.interrupt++
	p.mu.Unlock()
	if !p.stubborn {
		p.end(errors.New("signal: interrupt"))
	}
}
func (p *fakeProc) state() (interrupts int, killed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.interrupt, p.killed
}
func (p *fakeProc) Kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	p.end(errors.New("signal: killed"))
}

// fakeStarter records every start and when it happened.
type fakeStarter struct {
	mu       sync.Mutex
	procs    []*fakeProc
	times    []time.Time
	stubborn bool
	failures int // the first n starts fail
}

func (f *fakeStarter) start() (process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, time.Now())
	if f.failures > 0 {
		f.failures--
		return nil, errors.New("exec: no such file")
	}
	p := &fakeProc{id: len(f.procs), stubborn: f.stubborn, exit: make(chan error, 1)}
	f.procs = append(f.procs, p)
	return p, nil
}

func (f *fakeStarter) last() *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs[len(f.procs)-1]
}

func (f *fakeStarter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times)
}

func newTestSupervisor(t *testing.T, f *fakeStarter, progress chan struct{}) *supervisor {
	t.Helper()
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &supervisor{
		start:      f.start,
		progress:   progress,
		stallAfter: 3 * time.Second,
		startGrace: 10 * time.Second,
		stopGrace:  5 * time.Second,
		minBackoff: 500 * time.Millisecond,
		maxBackoff: 4 * time.Second,
		log:        slog.New(slog.DiscardHandler),
		metrics:    m,
	}
}

// runSupervisor starts s.run in the bubble and returns a function that cancels it and
// waits for it to return.
func runSupervisor(s *supervisor) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func TestSupervisorRestartsWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		s := newTestSupervisor(t, f, make(chan struct{}, 1))
		stop := runSupervisor(s)
		synctest.Wait()
		start := time.Now()
		// Each process exits at once without producing a segment: backoff doubles up to max.
		for i := range 6 {
			if got := f.count(); got != i+1 {
				t.Fatalf("after %d exits: %d starts, want %d", i, got, i+1)
			}
			f.last().end(errors.New("exit status 1"))
			time.Sleep(10 * time.Second)
			synctest.Wait()
		}
		stop()
		f.mu.Lock()
		defer f.mu.Unlock()
		want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
		for i, w := range want {
			// Process i ended at start+i×10s; process i+1 started one backoff later.
			if got := f.times[i+1].Sub(start.Add(time.Duration(i) * 10 * time.Second)); got != w {
				t.Errorf("backoff before start %d = %v, want %v", i+1, got, w)
			}
		}
		if got := testutil.ToFloat64(s.metrics.Restarts); got != 6 {
			t.Errorf("restarts metric = %v, want 6", got)
		}
	})
}

func TestSupervisorBackoffResetsAfterProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{failures: 3} // 3 failed starts: backoff grows to 4 s
		progress := make(chan struct{}, 1)
		s := newTestSupervisor(t, f, progress)
		stop := runSupervisor(s)
		time.Sleep(500*time.Millisecond + time.Second + 2*time.Second)
		synctest.Wait()
		if f.count() != 4 || len(f.procs) != 1 {
			t.Fatalf("starts = %d (procs %d), want 4 (1)", f.count(), len(f.procs))
		}
		progress <- struct{}{}
		synctest.Wait()
		f.last().end(errors.New("exit status 1"))
		synctest.Wait()
		ended := time.Now()
		time.Sleep(time.Second)
		synctest.Wait()
		if f.count() != 5 {
			t.Fatalf("starts = %d, want 5", f.count())
		}
		if got := f.times[4].Sub(ended); got != s.minBackoff {
			t.Errorf("backoff after a productive run = %v, want %v", got, s.minBackoff)
		}
		stop()
	})
}

func TestSupervisorKillsStalledProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStarter{}
		progress := make(chan struct{}, 1)
		s := newTestSupervisor(t, f, progress)
		stop := runSupervisor(s)
		synctest.Wait()
		start := time.Now()
		// Segments keep coming for 5 s: no stall.
		for range 5 {
			time.Sleep(time.Second)
			progress <- struct{}{}
			synctest.Wait()
		}
		p := f.last()
		if n, _ := p.state(); n != 0 || f.count() != 1 {
			t.Fatalf("process interrupted while producing segments")
		}
		// Then nothing: after stallAfter the process is interrupted and replaced.
		time.Sleep(s.stallAfter - time.Millisecond)
		synctest.Wait()
		if n, _ := p.state(); n != 0 {
			t.Fatalf("interrupted before stallAfter")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n, _ := p.state(); n != 1 {
			t.Fatalf("stalled process not interrupted at %v", time.Since(start))
		}
		time.Sleep(s.minBackoff)
		synctest.Wait()
		if f.count() != 2 {
			t.Fatalf("starts = %d after a stall, want 2", f.count())
		}
		if got := testutil.ToFloat64(s.metrics.Stalls); got != 1 {
			t.Errorf("stalls metric = %v, want 1", got)
		}
		// A fresh process gets startGrace for its first segment.
		time.Sleep(s.startGrace - time.Millisecond)
		synctest.Wait()
		if n, _ := f.last().state(); n != 0 {
			t.Errorf("new process interrupted before startGrace")
		}
		stop()
	})
}

func TestSupervisorShutdown(t *testing.T) {
	for _, stubborn := range []bool{false, true} {
		name := map[bool]string{false: "obeys SIGINT", true: "needs SIGKILL"}[stubborn]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeStarter{stubborn: stubborn}
				s := newTestSupervisor(t, f, make(chan struct{}, 1))
				stop := runSupervisor(s)
				synctest.Wait()
				begin := time.Now()
				stop() // returns only once the process has exited
				n, killed := f.last().state()
				if n != 1 {
					t.Errorf("Interrupt called %d times, want 1", n)
				}
				took := time.Since(begin)
				if stubborn && (!killed || took != s.stopGrace) {
					t.Errorf("stubborn process: killed=%v after %v, want killed after %v", killed, took, s.stopGrace)
				}
				if !stubborn && (killed || took != 0) {
					t.Errorf("obedient process: killed=%v after %v, want a clean stop at once", killed, took)
				}
				if f.count() != 1 {
					t.Errorf("started %d processes, want 1", f.count())
				}
			})
		})
	}
}
