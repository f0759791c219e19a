package browsertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// isolatedEnv marks a test binary that IsolateNetwork has re-executed in its own network
// namespace.
const isolatedEnv = "SWARMCAST_NETNS_ISOLATED"

// IsolateNetwork, called first thing in a TestMain, re-executes the test binary inside a new
// network namespace whose only interface is loopback (unshare --net, then ip link set lo up),
// and exits with the child's status. Everything the tests start — Go servers, pion peers,
// ffmpeg, node, Chromium — then runs in that namespace, so WebRTC can only gather and use
// 127.0.0.1 and ::1 candidates, and no packet can reach another host whatever a library does.
//
// Without it, Chromium also gathers candidates on the machine's other interfaces; the test page
// strips those from remote descriptions, but ICE can still pair a local non-loopback candidate
// with a remote loopback one (we have seen fd00::2 -> ::1 selected). Creating a namespace needs
// root (CAP_SYS_ADMIN); when that is not possible IsolateNetwork returns and the tests run in
// the host namespace, where CheckLoopback reports any pair that is not loopback.
func IsolateNetwork() {
	if NetworkIsolated() {
		return
	}
	unshare, err1 := exec.LookPath("unshare")
	ip, err2 := exec.LookPath("ip")
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: running in the host network namespace: %v\n", err)
		return
	}
	// Probe: can we make a namespace and bring its loopback up?
	if out, err := exec.Command(unshare, "--net", ip, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: running in the host network namespace (unshare --net: %v %s)\n", err, out)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: running in the host network namespace: %v\n", err)
		return
	}
	// unshare execs sh in the new namespace, and sh execs the test binary: one process, which
	// dies with us (Pdeathsig survives exec).
	args := append([]string{"--net", "--", "/bin/sh", "-c", ip + ` link set lo up && exec "$0" "$@"`, exe}, os.Args[1:]...)
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), isolatedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: running in the host network namespace: %v\n", err)
		signal.Stop(sigs)
		return
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintf(os.Stderr, "browsertest: test binary in the private network namespace: %v\n", err)
		os.Exit(2)
	}
}

// NetworkIsolated reports whether this process runs in the private network namespace
// IsolateNetwork made.
func NetworkIsolated() bool { return os.Getenv(isolatedEnv) != "" }
