package tracker

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rssClientEnv tells the helper process where to connect: "<url> <count>".
const rssClientEnv = "SWARMCAST_RSS_CLIENT"

// BenchmarkIdleConnectionRSS measures what one idle WebSocket connection costs the server
// process: 10 000 connections are opened from a child process (so each process stays
// well under the 20 000 open-files limit) and the server's resident set size, Go heap and
// goroutine stacks are compared before and after. Run it with -benchtime=1x; see
// docs/bench-tracker-server.md.
func BenchmarkIdleConnectionRSS(b *testing.B) {
	n := 10000
	if s := os.Getenv("SWARMCAST_RSS_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, useTLS := range []bool{false, true} {
		b.Run(map[bool]string{false: "ws", true: "wss"}[useTLS], func(b *testing.B) {
			benchIdleRSS(b, useTLS, n)
		})
	}
}

type memSample struct {
	rss, heap, stack uint64
	goroutines       int
}

func sampleMem() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := procRSS()
	return memSample{rss: rss, heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

func benchIdleRSS(b *testing.B, useTLS bool, n int) {
	cfg := testConfig(nil)
	if useTLS {
		dir := b.TempDir()
		ca := newTestCA(b, "bench CA")
		chain, key, _ := ca.issue(b, "bench", false)
		cfg.Servers[0].Server.CertFile = writeFile(b, dir, "chain.pem", chain)
		cfg.Servers[0].Server.KeyFile = writeFile(b, dir, "key.pem", key)
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-runErr
	}()
	scheme := map[bool]string{false: "ws", true: "wss"}[useTLS]
	url := scheme + "://" + srv.Addrs()[0].String() + "/"

	before := sampleMem()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkRSSClientHelper$", "-test.benchtime=1x")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", rssClientEnv, url, n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "ready" {
			ready = true
			break
		}
		if strings.HasPrefix(sc.Text(), "error") {
			b.Fatal(sc.Text())
		}
	}
	if !ready {
		b.Fatal("client process ended before opening its connections")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	for srv.listeners[0].openConnections() != int64(n) {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d connections open", srv.listeners[0].openConnections(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dialTime := time.Since(start)
	time.Sleep(time.Second)
	after := sampleMem()
	if path := os.Getenv("SWARMCAST_RSS_HEAPPROFILE"); path != "" {
		if f, err := os.Create(path + "." + scheme); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	b.ReportMetric(per(after.rss, before.rss), "rss-B/conn")
	b.ReportMetric(per(after.heap, before.heap), "heap-B/conn")
	b.ReportMetric(per(after.stack, before.stack), "stack-B/conn")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	b.ReportMetric(float64(n), "conns")
	b.ReportMetric(dialTime.Seconds(), "s-to-connect")
}

// BenchmarkRSSClientHelper is the client process of BenchmarkIdleConnectionRSS. It opens
// the connections named by SWARMCAST_RSS_CLIENT, prints "ready" and holds them until its
// stdin is closed.
func BenchmarkRSSClientHelper(b *testing.B) {
	spec := os.Getenv(rssClientEnv)
	if spec == "" {
		b.Skip("the client process of BenchmarkIdleConnectionRSS; not a benchmark of its own")
	}
	url, count, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		b.Fatal(err)
	}
	d := websocket.Dialer{
		ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: time.Minute,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the benchmark's own throwaway certificate
	}
	conns := make([]*websocket.Conn, 0, n)
	for len(conns) < n {
		c, _, err := d.Dial(url, nil)
		if err != nil {
			fmt.Printf("error: dial %d: %v\n", len(conns), err)
			return
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// BenchmarkServeForProfile runs a tracker (default config) on SWARMCAST_SERVE_ADDR (e.g.
// 127.0.0.1:18431) for SWARMCAST_SERVE_SECONDS, so that `swarmcast loadtest -pid` can
// drive it while go test's -cpuprofile, -memprofile and -mutexprofile record the tracker
// alone. SWARMCAST_SERVE_COMPRESSION=0 turns permessage-deflate off. See
// docs/bench-tracker-perf.md.
func BenchmarkServeForProfile(b *testing.B) {
	addr := os.Getenv("SWARMCAST_SERVE_ADDR")
	if addr == "" {
		b.Skip("set SWARMCAST_SERVE_ADDR (and SWARMCAST_SERVE_SECONDS) to serve for a profile")
	}
	host, port, _ := strings.Cut(addr, ":")
	secs, _ := strconv.Atoi(os.Getenv("SWARMCAST_SERVE_SECONDS"))
	if secs <= 0 {
		secs = 60
	}
	cfg := testConfig(func(c *Config) {
		c.Servers[0].Server.Host = host
		c.Servers[0].Server.Port, _ = strconv.Atoi(port)
		if os.Getenv("SWARMCAST_SERVE_COMPRESSION") == "0" {
			c.Servers[0].WebSockets.Compression = 0
		}
	})
	srv, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	fmt.Fprintf(os.Stderr, "serving on %s for %d s (pid %d)\n", addr, secs, os.Getpid())
	for i := 0; i < b.N; i++ {
		if err := srv.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
