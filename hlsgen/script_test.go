package hlsgen

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"swarmcast/internal/testutil"
)

// TestGenerateVideoScript runs scripts/generate-video.sh (the standalone test card for
// people without Go) briefly and checks its output layout and segments.
func TestGenerateVideoScript(t *testing.T) {
	tools := testutil.RequireTools(t, "bash", "ffmpeg", "ffprobe")
	script := filepath.Join(testutil.RepoRoot(t), "scripts", "generate-video.sh")
	dir := t.TempDir()

	bad := exec.Command(tools[0], script, dir, "640by360")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "WIDTHxHEIGHT") {
		t.Errorf("bad size: err %v, output %q", err, out)
	}

	cmd := exec.Command(tools[0], script, dir, "128x72")
	cmd.Env = append(os.Environ(), "FPS=10", "SEG=1", "LIST=4", "PRESET=ultrafast")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	testutil.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		select {
		case err := <-exited:
			t.Fatalf("script exited early: %v\n%s", err, out.String())
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "v1", "index.m3u8"))
		if err != nil {
			return err
		}
		if n := strings.Count(string(b), "#EXTINF"); n < 2 {
			return fmt.Errorf("%d segments", n)
		}
		return nil
	})
	master, err := os.ReadFile(filepath.Join(dir, "master.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RESOLUTION=128x72", "v0/index.m3u8", "RESOLUTION=64x36", "v1/index.m3u8"} {
		if !strings.Contains(string(master), want) {
			t.Errorf("master playlist lacks %q:\n%s", want, master)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "v0", "index.m3u8"))
	uris := playlistURIs(b)
	if len(uris) < 2 || !strings.HasPrefix(uris[0], "seg") || segNumber(t, uris[0]) < time.Now().Unix()-60 {
		t.Fatalf("segments %q: want epoch-numbered seg<N>.ts", uris)
	}
	cfg := Config{FPS: 10, SegmentSeconds: 1}
	probeSegment(t, tools[2], filepath.Join(dir, "v0", uris[0]), cfg)
}
