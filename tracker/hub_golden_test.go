package tracker

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/golden")

// TestGoldenTranscripts replays scripted sessions and compares every frame each client
// receives with the transcript in testdata/golden. Script lines:
//
//	A> {json}        client A sends a frame
//	A disconnect     client A's connection ends
//	sweep +41s       the clock moves on and the expiry sweep runs
//	# comment
//
// Output lines (indented, regenerated with -update): "  B< {json}" for a frame B received,
// "  A! reason: text" for a ClientError (the connection is then closed and disconnected).
func TestGoldenTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := runTranscript(t, string(data))
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(data) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(data), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("%s:%d differs (run with -update to accept):\n got %s\nwant %s", file, i+1, g, w)
					}
				}
			}
		})
	}
}

func runTranscript(t *testing.T, script string) string {
	h := newTestHub(t, HubConfig{})
	now := time.Unix(1e9, 0)
	h.now = func() time.Time { return now }
	clients := map[string]*client{}
	get := func(name string) *client {
		if clients[name] == nil {
			clients[name] = h.client()
		}
		return clients[name]
	}
	var out strings.Builder
	flush := func() {
		names := make([]string, 0, len(clients))
		for n := range clients {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, f := range clients[n].out.take() {
				fmt.Fprintf(&out, "  %s< %s\n", n, f)
			}
		}
	}
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") { // previous output: regenerated
			continue
		}
		out.WriteString(line + "\n")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "sweep +"):
			d, err := time.ParseDuration(strings.TrimPrefix(line, "sweep +"))
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			now = now.Add(d)
			h.expire(now)
		case strings.HasSuffix(line, " disconnect"):
			name := strings.TrimSuffix(line, " disconnect")
			h.Disconnect(get(name).sess)
			delete(clients, name)
		default:
			name, frame, ok := strings.Cut(line, "> ")
			if !ok {
				t.Fatalf("bad line %q", line)
			}
			c := get(name)
			if err := h.Handle(c.sess, []byte(frame)); err != nil {
				var ce *ClientError
				if !errors.As(err, &ce) {
					t.Fatalf("%s: %v", line, err)
				}
				flush()
				fmt.Fprintf(&out, "  %s! %s: %s\n", name, ce.Reason, ce.Msg)
				h.Disconnect(c.sess)
				delete(clients, name)
				continue
			}
			flush()
		}
	}
	return out.String()
}
