package torrent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// anacrolix keeps its pion SettingEngine private, so its WebRTC stack gathers candidates on
// every interface of its network namespace and cannot be held to loopback. The interop tests
// therefore run every peer inside two network namespaces the test creates (linked by a veth
// pair, 10.203.0.1/24 and 10.203.0.2/24): the only non-loopback addresses they use, with no
// route to anything else.

const (
	seedAddr  = "10.203.0.1"
	leechAddr = "10.203.0.2"
)

// netnsPair is two network namespaces joined by a veth pair.
type netnsPair struct {
	ip          string // path of the ip tool
	seed, leech string // namespace names
}

// newNetnsPair creates the namespaces and removes them (and thus the veth pair) at cleanup.
func newNetnsPair(t testing.TB) *netnsPair {
	t.Helper()
	testutil.RequireRoot(t)
	ipPath := testutil.RequireTools(t, "ip")[0]
	tag := fmt.Sprintf("%d%d", os.Getpid()%100000, time.Now().UnixNano()%1000)
	p := &netnsPair{ip: ipPath, seed: "sc-seed-" + tag, leech: "sc-leech-" + tag}
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(ipPath, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", p.seed)
	t.Cleanup(func() { _ = exec.Command(ipPath, "netns", "del", p.seed).Run() })
	run("netns", "add", p.leech)
	t.Cleanup(func() { _ = exec.Command(ipPath, "netns", "del", p.leech).Run() })
	vs, vl := "scs"+tag, "scl"+tag
	if len(vs) > 15 {
		vs, vl = vs[:15], vl[:15]
	}
	run("-n", p.seed, "link", "add", vs, "type", "veth", "peer", "name", vl, "netns", p.leech)
	run("-n", p.seed, "addr", "add", seedAddr+"/24", "dev", vs)
	run("-n", p.leech, "addr", "add", leechAddr+"/24", "dev", vl)
	for _, ns := range []struct{ name, dev string }{{p.seed, vs}, {p.leech, vl}} {
		run("-n", ns.name, "link", "set", "lo", "up")
		run("-n", ns.name, "link", "set", ns.dev, "up")
	}
	return p
}

// proc is a process started inside a namespace, with its stdout delivered line by line.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	err   error // set before done is closed

	mu     sync.Mutex
	output []string // every stdout/stderr line, for failure messages
}

// start runs argv in namespace ns; the process is killed at cleanup if still running.
func (p *netnsPair) start(t testing.TB, name, ns string, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(p.ip, append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	pr := &proc{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 100), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			pr.record(sc.Text())
			select {
			case pr.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			pr.record("stderr: " + sc.Text())
		}
	}()
	go func() {
		wg.Wait()
		pr.err = cmd.Wait()
		close(pr.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-pr.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-pr.done
		}
		if t.Failed() || os.Getenv("WT_SHOW_OUTPUT") != "" {
			t.Logf("%s output:\n%s", name, pr.outputText())
		}
	})
	return pr
}

func (pr *proc) record(line string) {
	pr.mu.Lock()
	pr.output = append(pr.output, line)
	pr.mu.Unlock()
}

func (pr *proc) outputText() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return strings.Join(pr.output, "\n")
}

// expect waits for a stdout line starting with prefix and returns the rest of it.
func (pr *proc) expect(prefix string, timeout time.Duration) string {
	pr.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-pr.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-pr.done:
			// Drain what was printed before exiting.
			for {
				select {
				case l := <-pr.lines:
					if rest, ok := strings.CutPrefix(l, prefix); ok {
						return strings.TrimSpace(rest)
					}
				default:
					pr.t.Fatalf("%s exited (%v) before printing %q:\n%s", pr.name, pr.err, prefix, pr.outputText())
				}
			}
		case <-deadline:
			pr.t.Fatalf("%s printed no %q within %v:\n%s", pr.name, prefix, timeout, pr.outputText())
		}
	}
}

func (pr *proc) send(line string) {
	pr.t.Helper()
	if _, err := io.WriteString(pr.stdin, line+"\n"); err != nil {
		pr.t.Fatalf("writing to %s: %v", pr.name, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (pr *proc) wait(ctx context.Context) int {
	pr.t.Helper()
	select {
	case <-pr.done:
	case <-ctx.Done():
		pr.t.Fatalf("%s still running: %v\n%s", pr.name, ctx.Err(), pr.outputText())
	}
	if pr.err != nil {
		if ee, ok := pr.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		pr.t.Fatalf("%s: %v", pr.name, pr.err)
	}
	return 0
}
