// Package testutil holds helpers shared by swarmcast's tests: locating the repository,
// requiring the external tools that end-to-end tests drive (node, chromium, ffmpeg), and
// polling for a condition.
//
// End-to-end tests skip when a tool is missing on a developer machine, but fail when the
// environment variable SWARMCAST_REQUIRE_E2E is set (CI sets it), so CI can never pass
// with an end-to-end test silently skipped.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// RequireE2EEnv is the environment variable that turns missing-tool skips into failures.
const RequireE2EEnv = "SWARMCAST_REQUIRE_E2E"

// RepoRoot returns the directory holding go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// skipOrFail skips the test, or fails it when end-to-end tests are required.
func skipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireE2EEnv) != "" {
		tb.Fatalf("%s (%s is set, so end-to-end tests may not skip; run scripts/install-deps.sh)", msg, RequireE2EEnv)
	}
	tb.Skipf("%s; run scripts/install-deps.sh to enable this test", msg)
}

// RequireTools returns the absolute path of each named program, skipping (or failing, see
// RequireE2EEnv) when one is not installed.
func RequireTools(tb testing.TB, names ...string) []string {
	tb.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			skipOrFail(tb, "%s is not installed", n)
		}
		paths[i] = p
	}
	return paths
}

// RequireNodeModules checks that the npm packages the test drives are installed in the
// repository's node_modules (npm ci) and returns the repository root.
func RequireNodeModules(tb testing.TB, pkgs ...string) string {
	tb.Helper()
	RequireTools(tb, "node")
	root := RepoRoot(tb)
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(root, "node_modules", p, "package.json")); err != nil {
			skipOrFail(tb, "npm package %s is not installed", p)
		}
	}
	return root
}

// Eventually polls cond every interval until it returns nil or timeout passes, then fails
// the test with cond's last error.
func Eventually(tb testing.TB, timeout, interval time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

// LeakCheckMain runs a package's tests and then fails the package if goroutines started by
// them outlive them: after the tests pass, the goroutine count must come back to at most
// slack above what it was before, within wait. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m, 2, 20*time.Second)) }
func LeakCheckMain(m *testing.M, slack int, wait time.Duration) int {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > base+slack {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines after the tests, %d before\n%s\n", runtime.NumGoroutine(), base, buf)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0
}
