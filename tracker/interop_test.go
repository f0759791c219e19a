package tracker_test

// Interop tests with real clients: two bittorrent-tracker@11 clients in Node (the tracker
// client inside WebTorrent and P2P Media Loader, with node-datachannel as its WebRTC)
// meet through our tracker and talk over a WebRTC data channel; anacrolix/torrent's
// WebTorrent tracker client announces, answers a relayed offer and re-announces with its
// "<regular>" event. See docs/tracker-interop.md.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	alog "github.com/anacrolix/log"
	atracker "github.com/anacrolix/torrent/tracker"
	"github.com/anacrolix/torrent/webtorrent"
	"github.com/gorilla/websocket"

	"swarmcast/internal/testutil"
)

// nodeTimeout bounds how long a Node script may take to reach the state a test waits for.
// On a healthy setup the whole exchange takes a few seconds.
const nodeTimeout = 90 * time.Second

// nodeEvent is one JSON line a script under testdata/interop writes to stdout.
type nodeEvent map[string]any

func (e nodeEvent) str(key string) string {
	s, _ := e[key].(string)
	return s
}

func (e nodeEvent) num(key string) (int, bool) {
	f, ok := e[key].(float64)
	return int(f), ok
}

// nodeProc is a Node process started by a test in its own process group.
type nodeProc struct {
	name    string
	cmd     *exec.Cmd
	events  chan nodeEvent
	stderr  *testutil.SyncBuffer
	closeIn func()
	exited  chan struct{}
	// bad receives a description of every error or warning event of every process of
	// the test, so that waiting on one process fails as soon as another one reports one.
	bad     chan string
	started time.Time
}

// lineWriter turns the script's stdout into events; lines that are not JSON objects are
// kept as {"event":"stdout","line":...} so nothing is lost from a failure report.
type lineWriter struct {
	name   string
	mu     sync.Mutex
	buf    []byte
	events chan nodeEvent
	bad    chan string
	all    *testutil.SyncBuffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.all.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := bytes.TrimSpace(w.buf[:i])
		w.buf = w.buf[i+1:]
		if len(line) == 0 {
			continue
		}
		ev := nodeEvent{}
		if err := json.Unmarshal(line, &ev); err != nil {
			ev = nodeEvent{"event": "stdout", "line": string(line)}
		}
		if fatalEvent(ev) {
			select {
			case w.bad <- w.name + " reported " + ev.str("event") + ": " + ev.str("message"):
			default:
			}
		}
		select {
		case w.events <- ev:
		default: // the test stopped reading; the line is still in all
		}
	}
}

// fatalEvent reports whether a script event fails the test: any error or warning except
// the failure of one WebRTC connection attempt ("peer_error", and bittorrent-tracker's
// "Connection error: …" warning for the same thing). libdatachannel occasionally fails an
// attempt under load ("Got a remote candidate without ICE transport", seen with the
// reference tracker too); the clients then try again with the offers of their next
// announce, and the test still requires a data channel before its deadline.
func fatalEvent(ev nodeEvent) bool {
	switch ev.str("event") {
	case "error":
		return true
	case "warning":
		return !strings.HasPrefix(ev.str("message"), "Connection error: ")
	}
	return false
}

// startNode runs `node script args...` from the repository root in a new process group.
// Cleanup closes its stdin (the scripts exit on EOF), and kills the whole group if it has
// not exited within a few seconds.
func startNode(t *testing.T, root, nodeBin string, bad chan string, name, script string, args ...string) *nodeProc {
	t.Helper()
	cmd := exec.Command(nodeBin, append([]string{filepath.Join(root, "tracker", "testdata", "interop", script)}, args...)...)
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &nodeProc{name: name, cmd: cmd, events: make(chan nodeEvent, 1024), stderr: &testutil.SyncBuffer{}, exited: make(chan struct{}), bad: bad, started: time.Now()}
	stdout := &testutil.SyncBuffer{}
	cmd.Stdout = &lineWriter{name: name, events: p.events, bad: bad, all: stdout}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p.closeIn = func() { once.Do(func() { stdin.Close() }) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start node: %v", name, err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.closeIn()
		closed := time.Now()
		select {
		case <-p.exited:
			t.Logf("%s: exited %v after stdin closed", name, time.Since(closed).Round(time.Millisecond))
		case <-time.After(5 * time.Second):
			t.Logf("%s: still running 5 s after stdin closed; killing its process group", name)
		}
		// The group holds only this script (and anything it spawned); kill it either way.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("%s stdout:\n%s", name, stdout.String())
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// waitFor returns the next event named event. It fails on an error or warning event of
// any process sharing p's bad channel, on p exiting, and at the deadline.
func (p *nodeProc) waitFor(t *testing.T, deadline time.Time, event string) nodeEvent {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	// seen logs a failed connection attempt and reports whether ev is the awaited event.
	seen := func(ev nodeEvent) bool {
		if e := ev.str("event"); e == "peer_error" || (e == "warning" && !fatalEvent(ev)) {
			t.Logf("%s: a WebRTC connection attempt failed (%s); the clients retry at their next announce", p.name, ev.str("message"))
		}
		if ev.str("event") != event {
			return false
		}
		t.Logf("%s: %s after %v", p.name, event, time.Since(p.started).Round(time.Millisecond))
		return true
	}
	for {
		select {
		case ev := <-p.events:
			if seen(ev) {
				return ev
			}
		case msg := <-p.bad:
			t.Fatal(msg)
		case <-p.exited:
			// The process is gone; look at what it wrote before exiting.
			for len(p.events) > 0 {
				if ev := <-p.events; seen(ev) {
					return ev
				}
			}
			t.Fatalf("%s exited (%v) before %q; stderr:\n%s", p.name, p.cmd.ProcessState, event, p.stderr.String())
		case <-timer.C:
			t.Fatalf("%s: no %q event within %v", p.name, event, nodeTimeout)
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestInteropBittorrentTrackerClients runs two bittorrent-tracker@11 Client instances in
// two Node processes (two WebSocket connections). They announce the same info_hash through
// the tracker, exchange offer and answer through it, open a WebRTC data channel on
// loopback and pass a message each way; then each scrapes the tracker and must see one
// seeder and one leecher.
//
// The same script runs against bittorrent-tracker's own Server first: if that subtest
// fails, the script or the Node setup is broken, not our tracker.
func TestInteropBittorrentTrackerClients(t *testing.T) {
	checkGoroutines(t)
	root := testutil.RequireNodeModules(t, "bittorrent-tracker", "node-datachannel", "webrtc-polyfill")
	nodeBin := testutil.RequireTools(t, "node")[0]

	trackers := []struct {
		name  string
		start func(t *testing.T) string
	}{
		{"reference bittorrent-tracker server", func(t *testing.T) string {
			p := startNode(t, root, nodeBin, make(chan string, 16), "ref-tracker", "ref-tracker.mjs")
			ev := p.waitFor(t, time.Now().Add(nodeTimeout), "listening")
			port, ok := ev.num("port")
			if !ok || port <= 0 {
				t.Fatalf("ref-tracker: bad listening event %v", ev)
			}
			return fmt.Sprintf("ws://127.0.0.1:%d", port)
		}},
		{"swarmcast", func(t *testing.T) string {
			return startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))
		}},
	}
	for _, tr := range trackers {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.start(t)
			infoHash := randomHex(t, 20)
			nonce := randomHex(t, 8)
			type peerSpec struct {
				name, peerID string
				left         int
			}
			seeder := peerSpec{"seeder", randomHex(t, 20), 0}
			leecher := peerSpec{"leecher", randomHex(t, 20), 5000}
			msg := func(p peerSpec) string { return "hello from " + p.name + " " + nonce }
			bad := make(chan string, 16)
			run := func(p, other peerSpec) *nodeProc {
				opts, _ := json.Marshal(map[string]any{
					"tracker": url, "infoHash": infoHash, "peerId": p.peerID, "left": p.left,
					"message": msg(p), "expect": msg(other),
				})
				proc := startNode(t, root, nodeBin, bad, p.name, "peer.mjs", string(opts))
				proc.waitFor(t, time.Now().Add(nodeTimeout), "start")
				return proc
			}
			deadline := time.Now().Add(nodeTimeout)
			sp := run(seeder, leecher)
			// The seeder's own announce reply: alone in the swarm, complete.
			upd := sp.waitFor(t, deadline, "update")
			if c, _ := upd.num("complete"); c != 1 {
				t.Errorf("seeder's first announce reply: %v, want complete 1", upd)
			}
			lp := run(leecher, seeder)

			for _, pc := range []struct {
				proc       *nodeProc
				self, peer peerSpec
			}{{sp, seeder, leecher}, {lp, leecher, seeder}} {
				conn := pc.proc.waitFor(t, deadline, "connected")
				if got := conn.str("remotePeerId"); got != pc.peer.peerID {
					t.Errorf("%s connected to peer %q, want %q", pc.self.name, got, pc.peer.peerID)
				}
				assertLoopback(t, pc.self.name, conn)
				rcv := pc.proc.waitFor(t, deadline, "received")
				if got := rcv.str("data"); got != msg(pc.peer) {
					t.Errorf("%s received %q over the data channel, want %q", pc.self.name, got, msg(pc.peer))
				}
				sc := pc.proc.waitFor(t, deadline, "scrape")
				c, _ := sc.num("complete")
				i, _ := sc.num("incomplete")
				if c != 1 || i != 1 {
					t.Errorf("%s scrape: complete %d incomplete %d, want 1 and 1 (%v)", pc.self.name, c, i, sc)
				}
			}
		})
	}
}

// assertLoopback checks that a connected event reports only 127.0.0.1 candidates and a
// loopback selected pair.
func assertLoopback(t *testing.T, who string, conn nodeEvent) {
	t.Helper()
	for _, key := range []string{"localCandidates", "remoteCandidates"} {
		list, _ := conn[key].([]any)
		if len(list) == 0 {
			t.Errorf("%s: no %s in %v", who, key, conn)
		}
		for _, c := range list {
			s, _ := c.(string)
			if !strings.HasPrefix(s, "127.0.0.1:") {
				t.Errorf("%s: %s holds %q, want only 127.0.0.1 candidates", who, key, s)
			}
		}
	}
	pair, _ := conn["selectedPair"].(map[string]any)
	for _, end := range []string{"local", "remote"} {
		s, _ := pair[end].(string)
		if !strings.HasPrefix(s, "127.0.0.1:") {
			t.Errorf("%s: selected candidate pair %s end is %q, want 127.0.0.1", who, end, s)
		}
	}
}

// Fixed ids for the anacrolix test, with bytes that the Go JSON encoder (which anacrolix
// uses) and JSON.stringify write differently: Go escapes < > & as \u003c \u003e \u0026,
// JSON.stringify leaves them raw. The tracker must treat both spellings as the same id and
// always write the JSON.stringify form.
const (
	anaIH       = "\x00\xff\n\"\\<&\x80anacrolix-ih"
	anaIHJSON   = `"\u0000` + "\u00ff" + `\n\"\\<&` + "\u0080" + `anacrolix-ih"`
	anaPID      = "-GT0003-\x01\x7f\xe9anacrolix"
	anaPIDJSON  = `"-GT0003-\u0001` + "\x7f\u00e9" + `anacrolix"`
	rawPIDJSON  = `"\u001f` + "\u0080\u00fe" + `<&>raw-peer-id-1x"`
	rawOIDJSON  = `"raw-offer-id-\u0000\b\f\r\t\n` + "\u0099" + `"`
	rawOfferSDP = "v=0\r\no=- 1001 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=ice-ufrag:rAwC\r\na=ice-pwd:rawclientpassword01234567\r\n" +
		"a=fingerprint:sha-256 5A:1B:0C:3D:9E:2F:40:51:62:73:84:95:A6:B7:C8:D9:EA:FB:0C:1D:2E:3F:40:51:62:73:84:95:A6:B7:C8:D9\r\n" +
		"a=setup:actpass\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
	rawAnswerSDP = "v=0\r\no=- 1002 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=ice-ufrag:rAwA\r\na=ice-pwd:rawanswerpassword01234567\r\n" +
		"a=fingerprint:sha-256 5A:1B:0C:3D:9E:2F:40:51:62:73:84:95:A6:B7:C8:D9:EA:FB:0C:1D:2E:3F:40:51:62:73:84:95:A6:B7:C8:D9\r\n" +
		"a=setup:active\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
)

// logCapture records anacrolix's log lines (it logs from its own goroutines, possibly after
// the test has returned, so it must not use t.Log).
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCapture) Handle(r alog.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, r.Level.LogString()+" "+r.Text())
}

func (c *logCapture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// relayedOffer checks a relayed offer from anacrolix to the raw client: exact bytes apart
// from the random offer_id and the SDP, which must be a real pion offer. It returns the
// offer_id token as the tracker wrote it.
func relayedOffer(t *testing.T, frame []byte) string {
	t.Helper()
	prefix := `{"action":"announce","info_hash":` + anaIHJSON + `,"offer_id":`
	mid := `,"peer_id":` + anaPIDJSON + `,"offer":{"type":"offer","sdp":"v=0\r\n`
	s := string(frame)
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("relayed offer %q does not start with %q", s, prefix)
	}
	j := strings.Index(s, mid)
	if j < 0 {
		t.Fatalf("relayed offer %q does not contain %q", s, mid)
	}
	oid := s[len(prefix):j]
	var decoded struct {
		OfferID string `json:"offer_id"`
		Offer   struct {
			Type string `json:"type"`
			SDP  string `json:"sdp"`
		} `json:"offer"`
	}
	if err := json.Unmarshal(frame, &decoded); err != nil {
		t.Fatalf("relayed offer %q: %v", s, err)
	}
	if len([]rune(decoded.OfferID)) != 20 || !strings.Contains(decoded.Offer.SDP, "webrtc-datachannel") || !strings.HasSuffix(s, `"}}`) {
		t.Fatalf("relayed offer %q: want a 20-char offer_id and a data-channel SDP", s)
	}
	for _, goEscape := range []string{`\u003c`, `\u003e`, `\u0026`, `\u007f`, `\u0080`} {
		if strings.Contains(oid, goEscape) {
			t.Errorf("relayed offer_id %s holds %s: not JSON.stringify's form", oid, goEscape)
		}
	}
	return oid
}

func readFrame(t *testing.T, p *wsPeer) []byte {
	t.Helper()
	p.c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, b, err := p.c.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v", p.name, err)
	}
	return b
}

// TestInteropAnacrolixWebtorrent drives anacrolix/torrent's WebTorrent tracker client
// (webtorrent.TrackerClient, v1.61.0) through our tracker, with a raw gorilla/websocket
// client as the second member of the swarm:
//
//  1. anacrolix announces ("started", one pion offer): the raw client receives it relayed.
//  2. The raw client answers; anacrolix accepts the answer and, as v1.61.0 does, at once
//     re-announces with "event":"<regular>" and a new offer. wt-tracker would close the
//     socket on that unknown event; ours must treat it as a regular announce, so the new
//     offer reaches the raw client.
//  3. The raw client announces with its own offer: anacrolix receives it relayed, answers,
//     and the answer comes back, which proves the socket survived the "<regular>" announce.
//
// No ICE candidates are exchanged (the raw SDPs have none and pion's are never applied),
// so pion sends no packets anywhere; only the signalling is exercised.
//
// There is no goroutine-leak check here: after Close, anacrolix's TrackerClient sleeps a
// minute before its run loop notices, and its answering PeerConnections live until their
// own 30 s timer; both are anacrolix internals, not ours.
func TestInteropAnacrolixWebtorrent(t *testing.T) {
	// Step 2 relies on this release writing None as "<regular>" (tracker/shared in v1.61.0).
	if ev := atracker.None.String(); ev != "<regular>" {
		t.Fatalf("anacrolix/torrent writes a regular announce's event as %q, want \"<regular>\"; update this test for the new version", ev)
	}
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))

	var ih, pid [20]byte
	copy(ih[:], anaIH)
	copy(pid[:], anaPID)
	if len(anaIH) != 20 || len(anaPID) != 20 {
		t.Fatalf("test ids must be 20 bytes: %d %d", len(anaIH), len(anaPID))
	}

	raw := dialPeer(t, url, "raw client")
	raw.send(`{"action":"announce","event":"started","info_hash":` + anaIHJSON + `,"peer_id":` + rawPIDJSON +
		`,"left":100,"numwant":1,"offers":[]}`)
	raw.expect(reply(anaIHJSON, 0, 1))

	sent := &testutil.SyncBuffer{} // every byte anacrolix writes to the tracker
	logs := &logCapture{}
	logger := alog.NewLogger("anacrolix-webtorrent")
	logger.SetHandlers(logs)
	var mu sync.Mutex
	var announceErrs []string
	tc := &webtorrent.TrackerClient{
		Url: url,
		GetAnnounceRequest: func(ev atracker.AnnounceEvent, infoHash [20]byte) (atracker.AnnounceRequest, error) {
			return atracker.AnnounceRequest{InfoHash: infoHash, PeerId: pid, Event: ev, Left: 1000, NumWant: -1}, nil
		},
		PeerId: pid,
		OnConn: func(dc webtorrent.DataChannelConn, _ webtorrent.DataChannelContext) { dc.Close() },
		Logger: logger,
		Dialer: &websocket.Dialer{
			HandshakeTimeout: ioTimeout,
			NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &recordingConn{Conn: c, rec: sent}, nil
			},
		},
		OnConnected:          func(error) {},
		OnDisconnected:       func(error) {},
		OnAnnounceSuccessful: func(string) {},
		OnAnnounceError: func(ih string, err error) {
			mu.Lock()
			defer mu.Unlock()
			announceErrs = append(announceErrs, err.Error())
		},
	}
	tc.Start(func(error) {})
	t.Cleanup(func() {
		tc.Close()
		if t.Failed() {
			t.Logf("anacrolix log:\n%s", logs.text())
		}
	})

	// 1. anacrolix's "started" announce; its offer is relayed to the raw client.
	if err := tc.Announce(atracker.Started, ih); err != nil {
		t.Fatalf("anacrolix Announce(started): %v", err)
	}
	oid1 := relayedOffer(t, readFrame(t, raw))

	// 2. Answer it; anacrolix re-announces with "<regular>" and a new offer.
	raw.send(`{"action":"announce","info_hash":` + anaIHJSON + `,"peer_id":` + rawPIDJSON + `,"to_peer_id":` + anaPIDJSON +
		`,"answer":{"type":"answer","sdp":` + mustJSON(t, rawAnswerSDP) + `},"offer_id":` + oid1 + `}`)
	oid2 := relayedOffer(t, readFrame(t, raw))
	if oid2 == oid1 {
		t.Errorf("the offer after the answer has the first offer's id %s; want anacrolix's new offer", oid2)
	}

	// 3. The raw client offers to anacrolix; anacrolix answers on the same socket.
	raw.send(`{"action":"announce","info_hash":` + anaIHJSON + `,"peer_id":` + rawPIDJSON + `,"left":100,"numwant":1,"offers":[{"offer":{"type":"offer","sdp":` +
		mustJSON(t, rawOfferSDP) + `},"offer_id":` + rawOIDJSON + `}]}`)
	raw.expect(reply(anaIHJSON, 0, 2))
	ans := string(readFrame(t, raw))
	// anacrolix writes {"info_hash","action","peer_id","to_peer_id","answer","offer_id"}; the
	// tracker forwards it in that order, minus to_peer_id, with JSON.stringify's strings.
	prefix := `{"info_hash":` + anaIHJSON + `,"action":"announce","peer_id":` + anaPIDJSON + `,"answer":{"type":"answer","sdp":"v=0\r\n`
	suffix := `"},"offer_id":` + rawOIDJSON + `}`
	if !strings.HasPrefix(ans, prefix) || !strings.HasSuffix(ans, suffix) {
		t.Fatalf("answer from anacrolix:\n got: %q\nwant: %q … %q", ans, prefix, suffix)
	}
	if strings.Contains(ans, "to_peer_id") {
		t.Errorf("forwarded answer still holds to_peer_id: %q", ans)
	}

	// The "<regular>" announce really went out (read back from anacrolix's own frames),
	// and anacrolix's socket never broke.
	frames, err := clientTextFrames([]byte(sent.String()))
	if err != nil {
		t.Fatalf("decoding anacrolix's frames: %v", err)
	}
	var started, regular int
	for _, f := range frames {
		var req struct {
			Event  string            `json:"event"`
			Action string            `json:"action"`
			Offers []json.RawMessage `json:"offers"`
		}
		if json.Unmarshal([]byte(f), &req) != nil || req.Action != "announce" || len(req.Offers) != 1 {
			continue
		}
		switch req.Event {
		case "started":
			started++
		case "<regular>":
			regular++
		}
	}
	if started != 1 || regular < 1 {
		t.Errorf("anacrolix sent %d \"started\" and %d \"<regular>\" announces with an offer, want 1 and at least 1; frames:\n%s",
			started, regular, strings.Join(frames, "\n"))
	}
	if st := tc.Stats(); st.Dials != 1 {
		t.Errorf("anacrolix dialled the tracker %d times, want 1", st.Dials)
	}
	if l := logs.text(); strings.Contains(l, "read message error") || strings.Contains(l, "websocket instance ended") {
		t.Errorf("anacrolix's tracker socket was closed:\n%s", l)
	}
	mu.Lock()
	if len(announceErrs) > 0 {
		t.Errorf("anacrolix announce errors: %q", announceErrs)
	}
	mu.Unlock()
	raw.expectNothingElse()
}

// recordingConn copies everything written to the connection into rec.
type recordingConn struct {
	net.Conn
	rec *testutil.SyncBuffer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.rec.Write(p)
	return c.Conn.Write(p)
}

// clientTextFrames decodes what a WebSocket client wrote: the HTTP upgrade request, then
// masked frames (RFC 6455 §5.2). It returns the text messages, with continuation frames
// joined; control frames are skipped. A frame cut off at the end is ignored.
func clientTextFrames(b []byte) ([]string, error) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return nil, errors.New("no HTTP upgrade request")
	}
	b = b[i+4:]
	var msgs []string
	var cur []byte
	inText := false
	for len(b) >= 2 {
		fin, opcode := b[0]&0x80 != 0, b[0]&0x0f
		if b[1]&0x80 == 0 {
			return nil, errors.New("client frame not masked")
		}
		n, hdr := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return msgs, nil
			}
			n, hdr = uint64(binary.BigEndian.Uint16(b[2:4])), 4
		case 127:
			if len(b) < 10 {
				return msgs, nil
			}
			n, hdr = binary.BigEndian.Uint64(b[2:10]), 10
		}
		if uint64(len(b)) < uint64(hdr)+4+n {
			return msgs, nil
		}
		mask := b[hdr : hdr+4]
		payload := make([]byte, n)
		for j := range payload {
			payload[j] = b[hdr+4+j] ^ mask[j%4]
		}
		b = b[uint64(hdr)+4+n:]
		switch {
		case opcode == 1:
			cur, inText = payload, true
		case opcode == 0 && inText:
			cur = append(cur, payload...)
		default:
			continue
		}
		if fin {
			msgs = append(msgs, string(cur))
			cur, inText = nil, false
		}
	}
	return msgs, nil
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
