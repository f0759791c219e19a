package tracker_test

// Raw-protocol tests: frames written by hand the way each real client writes them, sent
// with gorilla/websocket, and the tracker's answers compared byte for byte with literal
// strings. The expected bytes are not produced by our encoder: they are written here from
// the wire rules of Novage/wt-tracker (JSON.parse + JSON.stringify, see
// docs/tracker-interop.md and the wt-tracker protocol notes §1.5–1.6):
//
//   - announce reply: {"action":"announce","interval":I,"info_hash":IH,"complete":C,"incomplete":N}
//   - relayed offer:  {"action":"announce","info_hash":IH,"offer_id":OID,"peer_id":FROM,"offer":{"type":"offer","sdp":SDP}}
//   - relayed answer: the answer object as received, re-stringified, minus to_peer_id
//   - scrape reply:   {"action":"scrape","files":{IH:{"complete":C,"incomplete":N,"downloaded":C}}}
//   - strings come out as JSON.stringify writes them: \b \t \n \f \r \" \\ short escapes,
//     other control characters as lowercase \u00xx, everything else (U+0080–U+00FF, <, >,
//     &, /, DEL, U+2028) as raw UTF-8; invalid UTF-8 arrives as U+FFFD; lone surrogates
//     stay lowercase \udxxx escapes.
//
// Every misbehaving frame must close only its own connection: a bystander on another
// connection keeps working and the server stays up.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/testutil"
	"swarmcast/tracker"
)

// ioTimeout bounds every single read from the tracker. It is a safety net against hangs,
// not a performance assertion: on a healthy tracker every read returns in milliseconds.
const ioTimeout = 10 * time.Second

// testInterval is the announceInterval every test tracker runs with.
const testInterval = 20

// startTracker runs our tracker in-process on 127.0.0.1 port 0 with the given "tracker"
// config section and returns its ws:// URL. The server is shut down in t.Cleanup.
func startTracker(t *testing.T, trackerSection string) string {
	t.Helper()
	sections := map[string]json.RawMessage{
		"servers": json.RawMessage(`[{"server":{"host":"127.0.0.1","port":0}}]`),
	}
	if trackerSection != "" {
		sections["tracker"] = json.RawMessage(trackerSection)
	}
	cfg, err := tracker.DecodeConfig(sections, func(key string) { t.Errorf("config key %q reported as unknown", key) })
	if err != nil {
		t.Fatalf("DecodeConfig: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := tracker.New(cfg, tracker.Options{Logger: logger, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("tracker.New: %v", err)
	}
	addrs := srv.Addrs()
	if len(addrs) != 1 {
		srv.Close()
		t.Fatalf("tracker has %d listen addresses, want 1: %v", len(addrs), addrs)
	}
	addr := fmt.Sprint(addrs[0])
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
		srv.Close()
		t.Fatalf("tracker listens on %q, want 127.0.0.1:<port>", addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, tracker.ErrServerClosed) {
				t.Errorf("tracker Run returned %v", err)
			}
		case <-time.After(ioTimeout):
			t.Errorf("tracker Run did not return within %v of Close", ioTimeout)
		}
	})
	return "ws://" + addr + "/"
}

// checkGoroutines fails the test if goroutines started during it are still running after
// every later cleanup (servers, connections) has finished. Call it first in a test.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(ioTimeout)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d goroutines running, %d before the test\n%s", n, before, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// wsPeer is one raw WebSocket connection to the tracker.
type wsPeer struct {
	t    *testing.T
	name string
	c    *websocket.Conn
}

func dialPeer(t *testing.T, url, name string) *wsPeer {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: ioTimeout}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return &wsPeer{t: t, name: name, c: c}
}

func (p *wsPeer) sendRaw(kind int, frame []byte) {
	p.t.Helper()
	p.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := p.c.WriteMessage(kind, frame); err != nil {
		p.t.Fatalf("%s: write: %v", p.name, err)
	}
}

// send writes one text frame.
func (p *wsPeer) send(frame string) {
	p.t.Helper()
	p.sendRaw(websocket.TextMessage, []byte(frame))
}

// expect reads the next message and requires it to be exactly want.
func (p *wsPeer) expect(want string) {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(ioTimeout))
	kind, got, err := p.c.ReadMessage()
	if err != nil {
		p.t.Fatalf("%s: waiting for %q: %v", p.name, want, err)
	}
	if kind != websocket.TextMessage {
		p.t.Fatalf("%s: got message type %d, want a text frame", p.name, kind)
	}
	if string(got) != want {
		p.t.Fatalf("%s: wrong frame\n got: %q\nwant: %q", p.name, got, want)
	}
}

// syncHash is an info_hash no test announces; scraping it is a round trip that proves no
// other frame was queued for the connection before it.
const syncHash = "~sync~sync~sync~sync"

// expectNothingElse requires that the tracker has sent nothing else to this connection: a
// scrape round trip must come back as the very next frame.
func (p *wsPeer) expectNothingElse() {
	p.t.Helper()
	p.send(`{"action":"scrape","info_hash":"` + syncHash + `"}`)
	p.expect(`{"action":"scrape","files":{"` + syncHash + `":{"complete":0,"incomplete":0,"downloaded":0}}}`)
}

// expectClosed requires the tracker to close the connection without sending a data frame
// first.
func (p *wsPeer) expectClosed() {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(ioTimeout))
	kind, got, err := p.c.ReadMessage()
	if err == nil {
		p.t.Fatalf("%s: got frame (type %d) %q, want the connection closed", p.name, kind, got)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.t.Fatalf("%s: connection still open after %v, want it closed", p.name, ioTimeout)
	}
}

// reply is the exact announce reply with the test interval.
func reply(ihJSON string, complete, incomplete int) string {
	return fmt.Sprintf(`{"action":"announce","interval":%d,"info_hash":%s,"complete":%d,"incomplete":%d}`,
		testInterval, ihJSON, complete, incomplete)
}

// scrapeReply is the exact reply to a scrape of one info_hash.
func scrapeReply(ihJSON string, complete, incomplete int) string {
	return fmt.Sprintf(`{"action":"scrape","files":{%s:{"complete":%d,"incomplete":%d,"downloaded":%d}}}`,
		ihJSON, complete, incomplete, complete)
}

// eventuallyScrape polls with single-hash scrapes on p until the reply equals want (peers
// leave a swarm asynchronously when their connection closes).
func eventuallyScrape(t *testing.T, p *wsPeer, ihJSON, want string) {
	t.Helper()
	testutil.Eventually(t, ioTimeout, 20*time.Millisecond, func() error {
		p.send(`{"action":"scrape","info_hash":` + ihJSON + `}`)
		p.c.SetReadDeadline(time.Now().Add(ioTimeout))
		_, got, err := p.c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: scrape: %v", p.name, err)
		}
		if string(got) != want {
			return fmt.Errorf("scrape reply %q, want %q", got, want)
		}
		return nil
	})
}

// SDPs in the shape browsers write (CRLF line ends), with characters that a Go encoder
// escapes by default but JSON.stringify leaves alone: < > & and U+2028.
const (
	sdpJSONB1 = `"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:B1ab\r\na=x-note:<&>` + "\u2028" + `\r\n"`
	sdpJSONB2 = `"v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\na=ice-ufrag:B2ab\r\n"`
	sdpJSONB3 = `"v=0\r\no=- 3 2 IN IP4 127.0.0.1\r\na=ice-ufrag:B3ab\r\n"`
	sdpJSONB4 = `"v=0\r\no=- 4 2 IN IP4 127.0.0.1\r\na=ice-ufrag:B4ab\r\n"`
	sdpJSONB5 = `"v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\na=ice-ufrag:B5ab\r\n"`
	sdpJSONA  = `"v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\na=setup:active\r\na=ice-ufrag:Aans\r\n"`
)

// pmlOffers is five offers as P2P Media Loader 2.x (bittorrent-tracker's client) writes
// them: {"offer":{...},"offer_id":<20 random bytes as a binary string>}.
func pmlOffers(tag string) string {
	ids := []string{
		`"Ò\u0000\u001f\b\\\"Ù` + tag + `abcdefghijkl"`,
		`"` + tag + `2ÿþ\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u000b\u000e\u0010\u0011\u0012\u0013\u0014"`,
		`"` + tag + `3aaaaaaaaaaaaaaaaaa"`,
		`"` + tag + `4aaaaaaaaaaaaaaaaaa"`,
		`"` + tag + `5aaaaaaaaaaaaaaaaaa"`,
	}
	sdps := []string{sdpJSONB1, sdpJSONB2, sdpJSONB3, sdpJSONB4, sdpJSONB5}
	var b strings.Builder
	b.WriteString("[")
	for i := range ids {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"offer":{"type":"offer","sdp":` + sdps[i] + `},"offer_id":` + ids[i] + `}`)
	}
	b.WriteString("]")
	return b.String()
}

// TestRawP2PMediaLoader2 replays the frames of two P2P Media Loader 2.3 pages: 20-char
// base64 info_hashes, "-PM0203-" peer ids (one per info_hash on a shared socket), 5 offers
// with numwant 5, an answer, a stop, scrapes, and a page going away.
func TestRawP2PMediaLoader2(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d,"maxOffers":20}`, testInterval))

	const (
		ihVideo = `"eqTcMjKvsOz+MXluUmGZ"`
		ihAudio = `"q/9Xk2+Lr0aZbC1dE3fG"`
		pidA    = `"-PM0203-WO8h1NpS5Osm"` // page A, video swarm
		pidA2   = `"-PM0203-Qk4Tn0Rx8Vb2"` // page A, audio swarm (same socket)
		pidB    = `"-PM0203-Zz9Yy8Xx7Ww6"` // page B, video swarm
	)
	announce := func(ih, pid, offers string) string {
		return `{"numwant":5,"uploaded":0,"downloaded":0,"event":"started","action":"announce","info_hash":` + ih +
			`,"peer_id":` + pid + `,"offers":` + offers + `}`
	}

	a := dialPeer(t, url, "page A")
	b := dialPeer(t, url, "page B")
	s := dialPeer(t, url, "scraper")

	a.send(announce(ihVideo, pidA, pmlOffers("A")))
	a.expect(reply(ihVideo, 0, 1))
	a.send(announce(ihAudio, pidA2, pmlOffers("a")))
	a.expect(reply(ihAudio, 0, 1))
	a.expectNothingElse() // alone in both swarms: no offers relayed anywhere

	b.send(announce(ihVideo, pidB, pmlOffers("B")))
	b.expect(reply(ihVideo, 0, 2))
	// min(swarm−1, offers, maxOffers, numwant) = 1 = swarm−1: A gets B's first offer, with
	// the keys in wt-tracker's order and the offer reduced to type and sdp.
	a.expect(`{"action":"announce","info_hash":` + ihVideo + `,"offer_id":"Ò\u0000\u001f\b\\\"ÙBabcdefghijkl","peer_id":` + pidB +
		`,"offer":{"type":"offer","sdp":` + sdpJSONB1 + `}}`)

	// A answers; B gets the answer without to_peer_id, A gets nothing back.
	a.send(`{"action":"announce","info_hash":` + ihVideo + `,"peer_id":` + pidA + `,"to_peer_id":` + pidB +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `},"offer_id":"Ò\u0000\u001f\b\\\"ÙBabcdefghijkl"}`)
	b.expect(`{"action":"announce","info_hash":` + ihVideo + `,"peer_id":` + pidA +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `},"offer_id":"Ò\u0000\u001f\b\\\"ÙBabcdefghijkl"}`)
	a.expectNothingElse()
	b.expectNothingElse()

	// A periodic re-announce (no event) of B brings a fresh offer to A.
	b.send(`{"numwant":5,"uploaded":0,"downloaded":0,"action":"announce","info_hash":` + ihVideo + `,"peer_id":` + pidB +
		`,"offers":` + pmlOffers("C") + `}`)
	b.expect(reply(ihVideo, 0, 2))
	a.expect(`{"action":"announce","info_hash":` + ihVideo + `,"offer_id":"Ò\u0000\u001f\b\\\"ÙCabcdefghijkl","peer_id":` + pidB +
		`,"offer":{"type":"offer","sdp":` + sdpJSONB1 + `}}`)

	// A scrape of several hashes, one unknown, on a connection that never announced.
	s.send(`{"action":"scrape","info_hash":[` + ihVideo + `,` + ihAudio + `,"AAAAAAAAAAAAAAAAAAAA"]}`)
	s.expect(`{"action":"scrape","files":{` + ihVideo + `:{"complete":0,"incomplete":2,"downloaded":0},` +
		ihAudio + `:{"complete":0,"incomplete":1,"downloaded":0},"AAAAAAAAAAAAAAAAAAAA":{"complete":0,"incomplete":0,"downloaded":0}}}`)

	// PML leaves the audio swarm: "stopped" gets no reply and empties that swarm only.
	a.send(`{"numwant":5,"uploaded":0,"downloaded":0,"event":"stopped","action":"announce","info_hash":` + ihAudio + `,"peer_id":` + pidA2 + `}`)
	a.expectNothingElse()
	s.send(`{"action":"scrape","info_hash":` + ihAudio + `}`)
	s.expect(scrapeReply(ihAudio, 0, 0))

	// Page A closes its tab: its peer leaves the video swarm, B stays.
	a.c.Close()
	eventuallyScrape(t, s, ihVideo, scrapeReply(ihVideo, 0, 1))
	b.send(announce(ihVideo, pidB, pmlOffers("D")))
	b.expect(reply(ihVideo, 0, 1))
	b.expectNothingElse()
}

// Binary-string ids as WebTorrent writes them (hex2bin: one code point per byte). The
// info_hash holds every kind of byte that JSON.stringify treats specially.
//
// bytes: 00 01 08 09 0a 0c 0d 1f 22 5c 7f 80 9f a0 ff 3c 3e 26 2f 41
const (
	// binIH is JSON.stringify's form: short escapes, \u00xx for other controls, DEL and
	// U+0080–U+00FF raw (UTF-8), < > & / raw.
	binIH = `"\u0000\u0001\b\t\n\f\r\u001f\"\\` + "\x7f\u0080\u009f\u00a0\u00ff" + `<>&/A"`
	// binIHEscaped is the same string written with escapes only (mixed-case hex, \/): a
	// valid but non-canonical encoding another JSON writer may produce.
	binIHEscaped = `"\u0000\u0001\u0008\u0009\u000A\u000c\u000D\u001F\u0022\u005c\u007f\u0080\u009F\u00a0\u00FF\u003c\u003E\u0026\/\u0041"`
	// peer ids: bytes ff fe 00 … and 80 81 … (20 bytes each)
	binPidA        = `"` + "\u00ff\u00fe" + `\u0000\u0010` + "\u0080\u0081\u00c0\u00e9" + `-WW0001-abcd"`
	binPidAEscaped = `"\u00FF\u00fe\u0000\u0010\u0080\u0081\u00C0\u00e9\u002dWW0001-abcd"`
	binPidB        = `"-WW0001-` + "\u0099\u00aa\u00bb" + `\u0002\u001e` + "\u00f0\u00f7" + `xyz"`
	binOID         = `"` + "\u00a9" + `\u0000\"\\\u0007` + "\u00d7\u0085" + `offeridXXXXX"`
	binOIDEscaped  = `"\u00a9\u0000\u0022\u005C\u0007\u00d7\u0085offeridXXXXX"`
)

// TestRawWebTorrentBinaryIDs checks that ids made of arbitrary bytes (control bytes, 0x80+)
// name the same swarm and peer however the client escapes them, and that every frame the
// tracker writes carries them in JSON.stringify's canonical form. It also checks string
// edge cases inside an SDP: invalid UTF-8 (becomes U+FFFD) and a lone surrogate escape
// (kept as a lowercase escape).
func TestRawWebTorrentBinaryIDs(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))
	a := dialPeer(t, url, "webtorrent A")
	b := dialPeer(t, url, "webtorrent B")

	// A is a seeder ("left":0 counts as complete).
	a.send(`{"numwant":50,"uploaded":0,"downloaded":0,"left":0,"event":"started","action":"announce","info_hash":` + binIH +
		`,"peer_id":` + binPidA + `}`)
	a.expect(reply(binIH, 1, 0))

	// B announces the same swarm with every character escaped, one offer whose SDP holds an
	// invalid UTF-8 byte and a lone surrogate, and extra fields the tracker must drop.
	b.send(`{"numwant":1,"uploaded":0,"downloaded":0,"left":1000,"event":"started","action":"announce","info_hash":` + binIHEscaped +
		`,"peer_id":` + binPidB + `,"offers":[{"offer":{"type":"bogus","sdp":"v=0\r\n` + "\xff" + `x\uD800y","extra":1},"offer_id":` + binOIDEscaped + `,"more":true}]}`)
	b.expect(reply(binIH, 1, 1))
	a.expect(`{"action":"announce","info_hash":` + binIH + `,"offer_id":` + binOID + `,"peer_id":` + binPidB +
		`,"offer":{"type":"offer","sdp":"v=0\r\n` + "\ufffd" + `x\ud800y"}}`)

	// A answers with its own id escaped differently and an extra field; B receives the
	// object as A sent it (canonical strings, extra field kept) minus to_peer_id.
	a.send(`{"action":"announce","info_hash":` + binIHEscaped + `,"peer_id":` + binPidAEscaped + `,"to_peer_id":` + binPidB +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `},"offer_id":` + binOIDEscaped + `,"trackerid":"t\u00e9"}`)
	b.expect(`{"action":"announce","info_hash":` + binIH + `,"peer_id":` + binPidA +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `},"offer_id":` + binOID + `,"trackerid":"t` + "\u00e9" + `"}`)
	a.expectNothingElse()

	// Scrape with the escaped form; the key comes back canonical.
	b.send(`{"action":"scrape","info_hash":` + binIHEscaped + `}`)
	b.expect(scrapeReply(binIH, 1, 1))

	// "completed" from B: sticky complete, reply only (no offers in a completed announce).
	b.send(`{"numwant":50,"uploaded":1000,"downloaded":1000,"left":0,"event":"completed","action":"announce","info_hash":` + binIH +
		`,"peer_id":` + binPidB + `}`)
	b.expect(reply(binIH, 2, 0))
	b.expectNothingElse()
	a.expectNothingElse()
}

// TestRawLibtorrent replays libtorrent's frames: one peer_id per torrent on one socket,
// "offers" always an array (possibly empty), "corrupt" and "key" fields, the "paused"
// event, and its answer layout.
func TestRawLibtorrent(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))

	const (
		ih1    = `"` + "\u00b1\u00b2" + `libtorrent-ih1-xxxx"`
		ih2    = `"` + "\u00c1\u00c2" + `libtorrent-ih2-xxxx"`
		lt1    = `"-LT2090-aaaaaaaaaaaa"`
		lt2    = `"-LT2090-bbbbbbbbbbbb"`
		other  = `"-WW0100-cccccccccccc"`
		ltOID  = `"offer-id-0000000001"`
		ltOID2 = `"offer-id-0000000002"`
		wtOID  = `"wt-offer-id-0000001"`
	)
	lt := func(ih, pid, event string, left int, offers string) string {
		ev := ""
		if event != "" {
			ev = `,"event":"` + event + `"`
		}
		return fmt.Sprintf(`{"action":"announce","info_hash":%s,"uploaded":0,"downloaded":0,"left":%d,"corrupt":0,"numwant":%d,"key":"5c4b2a1f"%s,"peer_id":%s,"offers":%s}`,
			ih, left, strings.Count(offers, `"offer_id"`), ev, pid, offers)
	}
	ltOffer := func(oid string) string {
		return `[{"offer_id":` + oid + `,"offer":{"type":"offer","sdp":` + sdpJSONB2 + `}}]`
	}

	l := dialPeer(t, url, "libtorrent")
	w := dialPeer(t, url, "webtorrent")

	// Two torrents, two peer_ids, one socket; the seeding torrent announces an empty
	// offers array.
	l.send(lt(ih1, lt1, "started", 0, `[]`))
	l.expect(reply(ih1, 1, 0))
	l.send(lt(ih2, lt2, "started", 5000, ltOffer(ltOID)))
	l.expect(reply(ih2, 0, 1))

	// A browser joins ih1 with one offer: the libtorrent seeder receives it.
	w.send(`{"numwant":1,"uploaded":0,"downloaded":0,"left":100,"event":"started","action":"announce","info_hash":` + ih1 +
		`,"peer_id":` + other + `,"offers":[{"offer":{"type":"offer","sdp":` + sdpJSONB3 + `},"offer_id":` + wtOID + `}]}`)
	w.expect(reply(ih1, 1, 1))
	l.expect(`{"action":"announce","info_hash":` + ih1 + `,"offer_id":` + wtOID + `,"peer_id":` + other +
		`,"offer":{"type":"offer","sdp":` + sdpJSONB3 + `}}`)

	// libtorrent's answer layout: offer_id before to_peer_id and peer_id.
	l.send(`{"action":"announce","info_hash":` + ih1 + `,"offer_id":` + wtOID + `,"to_peer_id":` + other + `,"peer_id":` + lt1 +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `}}`)
	w.expect(`{"action":"announce","info_hash":` + ih1 + `,"offer_id":` + wtOID + `,"peer_id":` + lt1 +
		`,"answer":{"type":"answer","sdp":` + sdpJSONA + `}}`)

	// A regular re-announce with an empty offers array while another peer is present:
	// reply only.
	l.send(lt(ih1, lt1, "", 0, `[]`))
	l.expect(reply(ih1, 1, 1))
	w.expectNothingElse()

	// "paused" (libtorrent's upload-only state) is treated as a regular announce: a reply,
	// and the socket stays open. (wt-tracker closes here; libtorrent then retries without
	// the event — our tracker accepts it directly.)
	l.send(lt(ih2, lt2, "paused", 5000, ltOffer(ltOID2)))
	l.expect(reply(ih2, 0, 1))
	l.expectNothingElse()

	// Stopping one torrent leaves the other.
	l.send(lt(ih2, lt2, "stopped", 5000, `[]`))
	l.expectNothingElse()
	w.send(`{"action":"scrape","info_hash":[` + ih1 + `,` + ih2 + `]}`)
	w.expect(`{"action":"scrape","files":{` + ih1 + `:{"complete":1,"incomplete":1,"downloaded":1},` +
		ih2 + `:{"complete":0,"incomplete":0,"downloaded":0}}}`)
}

// TestRawMalformedFramesAffectOnlyTheirConnection sends each kind of bad input on its own
// connection (whose peer already joined a swarm) and checks: that connection is closed,
// its peer leaves the swarm, and a bystander connection in the same swarm keeps working.
func TestRawMalformedFramesAffectOnlyTheirConnection(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))

	const (
		ih        = `"malformed-frames-ih1"`
		bystander = `"-WW0100-bystander001"`
		offender  = `"-WW0100-offender0001"`
	)
	by := dialPeer(t, url, "bystander")
	by.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + bystander + `,"left":0}`)
	by.expect(reply(ih, 1, 0))

	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	bigOffers := func(size int) string {
		var b strings.Builder
		b.WriteString(`{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender + `,"numwant":1,"offers":[`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"offer_id":"big-offer-%010d","offer":{"type":"offer","sdp":%s}}`, i, sdpJSONB2)
		}
		b.WriteString("]}")
		return b.String()
	}

	cases := []struct {
		name   string
		binary bool
		frame  string
	}{
		{name: "null", frame: `null`},
		{name: "not JSON", frame: `hello tracker`},
		{name: "truncated", frame: `{"action":"announce","info_hash":`},
		{name: "two values", frame: `{"action":"scrape"}{"action":"scrape"}`},
		{name: "empty frame", frame: ``},
		{name: "array", frame: `[{"action":"scrape"}]`},
		{name: "string", frame: `"announce"`},
		{name: "number", frame: `42`},
		{name: "binary frame", binary: true, frame: `{"action":"scrape"}`},
		{name: "unknown action", frame: `{"action":"dance","info_hash":` + ih + `}`},
		{name: "missing action", frame: `{"info_hash":` + ih + `,"peer_id":` + offender + `}`},
		{name: "peer_id not a string", frame: `{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":12345}`},
		{name: "info_hash missing", frame: `{"action":"announce","event":"started","peer_id":` + offender + `}`},
		// Any string event is a regular announce (see TestRawLibtorrent's "paused"); an event
		// that is not a string or null is a protocol error.
		{name: "event not a string", frame: `{"action":"announce","event":2,"info_hash":` + ih + `,"peer_id":` + offender + `}`},
		{name: "answer without to_peer_id", frame: `{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender +
			`,"answer":{"type":"answer","sdp":"x"},"offer_id":"o"}`},
		{name: "deep nesting", frame: `{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender + `,"x":` + deep + `}`},
		{name: "deep nesting of objects", frame: strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000)},
		// A bad offer that would be relayed closes the connection before any output (a
		// deliberate difference: wt-tracker sends the reply first).
		{name: "offers not an array", frame: `{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender + `,"numwant":1,"offers":{"a":1}}`},
		{name: "offer item not an object", frame: `{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender + `,"numwant":1,"offers":[1]}`},
		{name: "offer without offer object", frame: `{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender + `,"numwant":1,"offers":[{"offer_id":"x","offer":"sdp"}]}`},
		{name: "more than maxPayloadLength of offers", frame: bigOffers(65537)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := dialPeer(t, url, "offender")
			o.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + offender + `,"left":10}`)
			o.expect(reply(ih, 1, 1))
			kind := websocket.TextMessage
			if tc.binary {
				kind = websocket.BinaryMessage
			}
			o.c.SetWriteDeadline(time.Now().Add(ioTimeout))
			if err := o.c.WriteMessage(kind, []byte(tc.frame)); err != nil {
				// The tracker may close an oversized frame's connection while it is still
				// being written; that is the outcome this case expects.
				if len(tc.frame) <= 65536 {
					t.Fatalf("offender: write: %v", err)
				}
				t.Logf("offender: write of the %d-byte frame failed: %v", len(tc.frame), err)
			}
			o.expectClosed()

			// The offender's peer is gone; the bystander and new connections still work.
			eventuallyScrape(t, by, ih, scrapeReply(ih, 1, 0))
			by.send(`{"action":"announce","info_hash":` + ih + `,"peer_id":` + bystander + `,"left":0}`)
			by.expect(reply(ih, 1, 0))
			by.expectNothingElse()
			fresh := dialPeer(t, url, "fresh")
			fresh.expectNothingElse()
		})
	}

	// An answer for a peer that is not (or no longer) connected is dropped: no close, no
	// reply (a deliberate difference: wt-tracker closes the answerer's socket, though the
	// offerer may simply have left).
	t.Run("answer to unknown peer", func(t *testing.T) {
		o := dialPeer(t, url, "answerer")
		o.send(`{"action":"announce","info_hash":` + ih + `,"peer_id":` + offender +
			`,"to_peer_id":"-WW0100-nobody000000","answer":{"type":"answer","sdp":"x"},"offer_id":"o"}`)
		o.expectNothingElse()
		by.expectNothingElse()
	})

	// Just under maxPayloadLength (64 KiB) of offers is a valid frame: the reply, one offer
	// to the bystander (numwant 1), and the connection stays open.
	t.Run("64 KiB of offers", func(t *testing.T) {
		o := dialPeer(t, url, "big announcer")
		frame := bigOffers(65536 - 2000)
		if len(frame) > 65536 {
			t.Fatalf("test frame is %d bytes, want at most 65536", len(frame))
		}
		o.send(frame)
		o.expect(reply(ih, 1, 1))
		by.expect(`{"action":"announce","info_hash":` + ih + `,"offer_id":"big-offer-0000000000","peer_id":` + offender +
			`,"offer":{"type":"offer","sdp":` + sdpJSONB2 + `}}`)
		o.expectNothingElse()
		by.expectNothingElse()
	})
}

// TestRawNumberForms checks how numwant and left are read, as JSON.parse and wt-tracker
// read them: offers are relayed only when numwant is an integer-valued number
// (Number.isInteger), and a peer is complete when left === 0 (so -0, 0.0 and values that
// underflow to 0 count, the string "0" and null do not). Duplicate keys: the last wins.
func TestRawNumberForms(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))
	const pidR = `"-WW0100-receiver0001"`
	r := dialPeer(t, url, "receiver")

	cases := []struct {
		name         string
		numwant      string // raw JSON value; "" leaves the key out
		left         string // raw JSON value; "" leaves the key out
		wantOffer    bool
		wantComplete bool
	}{
		{name: "numwant 1", numwant: `1`, wantOffer: true},
		{name: "numwant 1.0", numwant: `1.0`, wantOffer: true},
		{name: "numwant 1e0", numwant: `1e0`, wantOffer: true},
		{name: "numwant 10E-1", numwant: `10E-1`, wantOffer: true},
		{name: "numwant 100 capped by offers", numwant: `100`, wantOffer: true},
		{name: "numwant duplicate key last wins", numwant: `0,"numwant":1`, wantOffer: true},
		{name: "numwant 1.5", numwant: `1.5`},
		{name: "numwant string", numwant: `"1"`},
		{name: "numwant null", numwant: `null`},
		{name: "numwant absent"},
		{name: "numwant 0", numwant: `0`},
		{name: "numwant -1", numwant: `-1`},
		{name: "numwant overflows to Infinity", numwant: `1e400`},
		{name: "left 0", numwant: `1`, left: `0`, wantOffer: true, wantComplete: true},
		{name: "left -0", numwant: `1`, left: `-0`, wantOffer: true, wantComplete: true},
		{name: "left 0.0", numwant: `1`, left: `0.0`, wantOffer: true, wantComplete: true},
		{name: "left 0e5", numwant: `1`, left: `0e5`, wantOffer: true, wantComplete: true},
		{name: "left underflows to 0", numwant: `1`, left: `1e-400`, wantOffer: true, wantComplete: true},
		{name: "left string 0", numwant: `1`, left: `"0"`, wantOffer: true},
		{name: "left null", numwant: `1`, left: `null`, wantOffer: true},
		{name: "left 1", numwant: `1`, left: `1`, wantOffer: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ih := fmt.Sprintf(`"number-forms-case-%02d"`, i)
			pid := fmt.Sprintf(`"-WW0100-announcer%03d"`, i)
			r.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + pidR + `}`)
			r.expect(reply(ih, 0, 1))

			x := dialPeer(t, url, "announcer")
			frame := `{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + pid
			if tc.numwant != "" {
				frame += `,"numwant":` + tc.numwant
			}
			if tc.left != "" {
				frame += `,"left":` + tc.left
			}
			frame += `,"offers":[{"offer":{"type":"offer","sdp":` + sdpJSONB4 + `},"offer_id":"number-forms-offer-1"}]}`
			x.send(frame)
			if tc.wantComplete {
				x.expect(reply(ih, 1, 1))
			} else {
				x.expect(reply(ih, 0, 2))
			}
			if tc.wantOffer {
				r.expect(`{"action":"announce","info_hash":` + ih + `,"offer_id":"number-forms-offer-1","peer_id":` + pid +
					`,"offer":{"type":"offer","sdp":` + sdpJSONB4 + `}}`)
			}
			r.expectNothingElse()
			x.expectNothingElse()
		})
	}
}

// TestRawFullScrape checks a scrape without info_hash: every swarm, in the order
// JSON.stringify writes wt-tracker's files object: integer-like keys ("7") first in
// ascending order, then the others in swarm creation order (a swarm that emptied and came
// back counts as new).
func TestRawFullScrape(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))
	c := dialPeer(t, url, "client")
	s := dialPeer(t, url, "scraper")

	s.send(`{"action":"scrape"}`)
	s.expect(`{"action":"scrape","files":{}}`)

	ann := func(ih, pid, extra string) {
		t.Helper()
		c.send(`{"action":"announce","event":"started","info_hash":"` + ih + `","peer_id":"` + pid + `"` + extra + `}`)
	}
	ann("alpha-alpha-alpha-aa", "-WW0100-fullscrape01", ``)
	c.expect(reply(`"alpha-alpha-alpha-aa"`, 0, 1))
	ann("bravo-bravo-bravo-bb", "-WW0100-fullscrape01", `,"left":0`)
	c.expect(reply(`"bravo-bravo-bravo-bb"`, 1, 0))
	ann("7", "-WW0100-fullscrape01", ``)
	c.expect(reply(`"7"`, 0, 1))
	ann("charlie-charlie-cccc", "-WW0100-fullscrape02", ``)
	c.expect(reply(`"charlie-charlie-cccc"`, 0, 1))
	ann("3", "-WW0100-fullscrape02", ``)
	c.expect(reply(`"3"`, 0, 1))

	// alpha empties (its swarm is deleted) and comes back: it moves to the end.
	c.send(`{"action":"announce","event":"stopped","info_hash":"alpha-alpha-alpha-aa","peer_id":"-WW0100-fullscrape01"}`)
	c.expectNothingElse()
	ann("alpha-alpha-alpha-aa", "-WW0100-fullscrape02", ``)
	c.expect(reply(`"alpha-alpha-alpha-aa"`, 0, 1))

	s.send(`{"action":"scrape"}`)
	s.expect(`{"action":"scrape","files":{` +
		`"3":{"complete":0,"incomplete":1,"downloaded":0},` +
		`"7":{"complete":0,"incomplete":1,"downloaded":0},` +
		`"bravo-bravo-bravo-bb":{"complete":1,"incomplete":0,"downloaded":1},` +
		`"charlie-charlie-cccc":{"complete":0,"incomplete":1,"downloaded":0},` +
		`"alpha-alpha-alpha-aa":{"complete":0,"incomplete":1,"downloaded":0}}}`)
}

// statsSockets returns webSocketsCount of the single listener from /stats.json.
func statsSockets(t *testing.T, wsURL string) (int, error) {
	t.Helper()
	client := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http" + strings.TrimPrefix(wsURL, "ws") + "stats.json")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Servers []struct {
			WebSocketsCount int `json:"webSocketsCount"`
		} `json:"servers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	if len(st.Servers) != 1 {
		return 0, fmt.Errorf("/stats.json lists %d servers, want 1", len(st.Servers))
	}
	return st.Servers[0].WebSocketsCount, nil
}

// TestRawReconnectSamePeerID replays a client that lost its socket and reconnected with
// the same peer_id (bittorrent-tracker keeps its peer_id across reconnects) while the old
// socket is still open: the peer moves to the new connection, offers go there, and closing
// the old socket later must not remove the peer.
func TestRawReconnectSamePeerID(t *testing.T) {
	checkGoroutines(t)
	url := startTracker(t, fmt.Sprintf(`{"announceInterval":%d}`, testInterval))
	const (
		ih    = `"reconnect-test-ih-01"`
		pidX  = `"-WW0100-reconnecting"`
		pidO  = `"-WW0100-otherpeer001"`
		offer = `"offers":[{"offer":{"type":"offer","sdp":` + sdpJSONB5 + `},"offer_id":"reconnect-offer-0001"}]`
	)
	old := dialPeer(t, url, "old socket")
	other := dialPeer(t, url, "other peer")
	old.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + pidX + `}`)
	old.expect(reply(ih, 0, 1))
	other.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + pidO + `}`)
	other.expect(reply(ih, 0, 2))

	reconnected := dialPeer(t, url, "new socket")
	reconnected.send(`{"action":"announce","event":"started","info_hash":` + ih + `,"peer_id":` + pidX + `}`)
	reconnected.expect(reply(ih, 0, 2))

	relayed := `{"action":"announce","info_hash":` + ih + `,"offer_id":"reconnect-offer-0001","peer_id":` + pidO +
		`,"offer":{"type":"offer","sdp":` + sdpJSONB5 + `}}`
	other.send(`{"action":"announce","info_hash":` + ih + `,"peer_id":` + pidO + `,"numwant":1,` + offer + `}`)
	other.expect(reply(ih, 0, 2))
	reconnected.expect(relayed)
	old.expectNothingElse()

	old.c.Close()
	testutil.Eventually(t, ioTimeout, 20*time.Millisecond, func() error {
		n, err := statsSockets(t, url)
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("webSocketsCount %d, want 2 after the old socket closed", n)
		}
		return nil
	})
	other.send(`{"action":"scrape","info_hash":` + ih + `}`)
	other.expect(scrapeReply(ih, 0, 2))
	other.send(`{"action":"announce","info_hash":` + ih + `,"peer_id":` + pidO + `,"numwant":1,` + offer + `}`)
	other.expect(reply(ih, 0, 2))
	reconnected.expect(relayed)
	reconnected.expectNothingElse()
}
