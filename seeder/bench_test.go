package seeder_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"swarmcast/seeder"
	"swarmcast/seeder/pml"
	"swarmcast/seeder/rtc"
	"swarmcast/seeder/trackerclient"
)

// The benchmarks run the receiving peers in a child process (this test binary re-executed
// with benchChildEnv set), so the parent's CPU time is the seeder's (or net/http's) alone.
const benchChildEnv = "SWARMCAST_SEEDER_BENCH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		os.Exit(benchChild(spec))
	}
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		code = checkGoroutines(base)
	}
	os.Exit(code)
}

// checkGoroutines fails the package when goroutines started by the tests outlive them
// (pion's timers may take a few seconds to wind down after every connection closed).
func checkGoroutines(base int) int {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+2 {
			return 0
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines after the tests, %d before\n%s\n", n, base, buf)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const benchSegmentSize = 1536 << 10 // 1.5 MiB, about 2 s of 6 Mbit/s video

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startChild runs the receivers: args are passed through benchChildEnv.
func startChild(b *testing.B, args ...string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if ps := cmd.ProcessState; ps != nil {
			b.Logf("receiver process CPU: %v", ps.UserTime()+ps.SystemTime())
		}
	})
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		b.Fatal("receivers did not connect")
	}
}

func benchmarkSeeder(b *testing.B, peers int) {
	f := newHLSFolder(b, benchSegmentSize)
	f.publish(b, 1, 20)
	trackerURL := startTracker(b)
	cfg := baseConfig(f, trackerURL)
	no := false
	cfg.Generations.PML22, cfg.Generations.PML06 = &no, &no
	cfg.OffersPerAnnounce = 0
	cfg.PollIntervalSeconds = 1
	sd := startSeeder(b, cfg)
	sw := swarmOf(b, sd.s, "2.3")
	startChild(b, "seeder", trackerURL, sw.InfoHash, strconv.Itoa(peers))

	stats := func() seeder.Stats { return sd.s.Stats().(seeder.Stats) }
	for stats().PeersByGeneration["2.3"] < peers {
		time.Sleep(10 * time.Millisecond)
	}
	startSegs, startBytes := stats().SegmentsServed, stats().UploadedBytes
	startCPU, start := cpuTime(), time.Now()
	b.ResetTimer()
	for stats().SegmentsServed < startSegs+uint64(b.N) {
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	report(b, time.Since(start), cpuTime()-startCPU, stats().SegmentsServed-startSegs, stats().UploadedBytes-startBytes)
}

func report(b *testing.B, wall, cpu time.Duration, segs, bytes uint64) {
	b.SetBytes(int64(bytes) / int64(max(segs, 1)))
	gbit := float64(bytes) * 8 / 1e9
	b.ReportMetric(float64(segs)/wall.Seconds(), "segments/s")
	b.ReportMetric(gbit*1000/wall.Seconds(), "Mbit/s")
	b.ReportMetric(cpu.Seconds()/gbit, "CPU-s/Gbit")
	b.ReportMetric(gbit*1000/cpu.Seconds(), "Mbit/CPU-s")
}

func BenchmarkSeederUpload(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) { benchmarkSeeder(b, n) })
	}
}

// BenchmarkHTTPServe is the baseline: Go's net/http serving the same segment bytes to the
// same number of keep-alive clients on loopback.
func BenchmarkHTTPServe(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			f := newHLSFolder(b, benchSegmentSize)
			data := f.segment(1)
			var served, bytes atomic.Uint64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "video/mp2t")
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				k, _ := w.Write(data)
				bytes.Add(uint64(k))
				served.Add(1)
			}))
			b.Cleanup(srv.Close)
			startChild(b, "http", srv.URL+"/seg.ts", strconv.Itoa(n))
			s0, b0 := served.Load(), bytes.Load()
			startCPU, start := cpuTime(), time.Now()
			b.ResetTimer()
			for served.Load() < s0+uint64(b.N) {
				time.Sleep(2 * time.Millisecond)
			}
			b.StopTimer()
			report(b, time.Since(start), cpuTime()-startCPU, served.Load()-s0, bytes.Load()-b0)
		})
	}
}

// benchChild is the receiving side: "seeder <tracker> <info_hash> <peers>" connects peers
// that request the window's segments round-robin forever; "http <url> <clients>" GETs.
func benchChild(spec string) int {
	args := strings.Fields(spec)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf)
	}()
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	go func() { <-sig; stop() }()
	lvl := slog.LevelWarn
	if os.Getenv("SEEDER_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	switch args[0] {
	case "http":
		n, _ := strconv.Atoi(args[2])
		fmt.Println("ready")
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, args[1], nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		return 0
	case "seeder":
		n, _ := strconv.Atoi(args[3])
		raw, _ := hex.DecodeString(args[2]) // not hex for 2.x: use as is
		ih := args[2]
		if len(raw) == 20 {
			ih = pml.Latin1(raw)
		}
		api, err := rtc.New(rtc.Config{LoopbackOnly: true, PerConnectionPorts: true}, log)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer api.Close()
		conns := make(chan *rtc.Conn, n)
		var wg sync.WaitGroup
		for i := range n {
			// Peers answer only the seeder, and offer to every swarm member so one offer
			// surely reaches the seeder.
			b := &browser{api: api, conns: conns, offer: map[string]*rtc.Pending{},
				onlyFrom: func(id string) bool { return !strings.Contains(id, "bench") }}
			c, _ := trackerclient.New(trackerclient.Config{URL: args[1], InfoHash: ih,
				PeerID: fmt.Sprintf("-PM0203-bench%07d", i), Offers: n}, b, log)
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Run(ctx) }()
		}
		var got []*rtc.Conn
		for len(got) < n {
			select {
			case c := <-conns:
				got = append(got, c)
			case <-ctx.Done():
				return 0
			}
		}
		fmt.Println("ready")
		for i, c := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				receive(ctx, c, i)
			}()
		}
		<-ctx.Done()
		for _, c := range got {
			c.Close()
		}
		wg.Wait()
		return 0
	}
	return 2
}

// receive requests segments 1..20 in turn and reads each to its Completed.
func receive(ctx context.Context, c *rtc.Conn, i int) {
	buf := make([]byte, rtc.MaxMessageSize)
	var j pml.Joiner
	seq := int64(1 + i%20)
	for r := int64(0); ctx.Err() == nil; r++ {
		msgs, _ := pml.Encode(&pml.Command{Type: pml.CmdRequest, ID: seq, Req: r % 1000}, pml.MaxMessageSize)
		if c.WriteMessage(msgs[0]) != nil {
			return
		}
		for {
			n, err := c.ReadMessage(buf)
			if err != nil {
				return
			}
			if !pml.IsCommandChunk(buf[:n]) {
				continue
			}
			p, err := j.Add(buf[:n])
			if err != nil || p == nil {
				continue
			}
			if cmd, err := pml.Decode(p); err == nil && (cmd.Type == pml.CmdCompleted || cmd.Type == pml.CmdAbsent) {
				break
			}
		}
		seq = 1 + seq%20
	}
}
