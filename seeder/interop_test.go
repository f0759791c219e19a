package seeder_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmcast/internal/testutil"
	"swarmcast/seeder/pml"
)

// startBittorrentTracker runs the reference WebSocket tracker (webtorrent/bittorrent-tracker,
// node_modules) on 127.0.0.1 and returns its ws:// URL.
func startBittorrentTracker(t *testing.T) string {
	t.Helper()
	root := testutil.RequireNodeModules(t, "bittorrent-tracker")
	script := filepath.Join(t.TempDir(), "tracker.mjs")
	src := fmt.Sprintf(`import { Server } from %q
const server = new Server({ udp: false, http: false, ws: true, stats: false })
server.on("error", (e) => { console.error(e); process.exit(1) })
server.on("warning", (e) => console.error("warning:", e.message))
server.listen(0, "127.0.0.1", () => console.log(server.ws.address().port))
`, "file://"+filepath.Join(root, "node_modules", "bittorrent-tracker", "index.js"))
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case port <- strings.TrimSpace(sc.Text()):
			default:
			}
		}
	}()
	select {
	case p := <-port:
		return "ws://127.0.0.1:" + p
	case <-time.After(20 * time.Second):
		t.Fatal("bittorrent-tracker did not start")
	}
	return ""
}

// TestBittorrentTrackerInterop runs the seeder and a browser-like peer through the reference
// bittorrent-tracker server instead of ours.
func TestBittorrentTrackerInterop(t *testing.T) {
	trackerURL := startBittorrentTracker(t)
	f := newHLSFolder(t, 70_000)
	f.publish(t, 50, 52)
	cfg := baseConfig(f, trackerURL)
	no := false
	cfg.Generations.PML06, cfg.Generations.PML22 = &no, &no
	sd := startSeeder(t, cfg)
	sw := swarmOf(t, sd.s, "2.3")
	conn := connect(t, trackerURL, sw, 1)
	r := newReader(t, conn)
	if ann, _ := r.command(); fmt.Sprint(ann.Loaded) != "[50 51 52]" {
		t.Fatalf("announcement %+v", ann)
	}
	send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 51, Req: 7})
	if hdr, _ := r.command(); hdr.Type != pml.CmdData || hdr.Size != int64(len(f.segment(51))) {
		t.Fatalf("header %+v", hdr)
	}
	done, chunks := r.command()
	if done.Type != pml.CmdCompleted || !bytes.Equal(bytes.Join(chunks, nil), f.segment(51)) {
		t.Fatalf("segment not received intact (%+v)", done)
	}
}
