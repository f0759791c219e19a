package seeder_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"swarmcast/seeder"
	"swarmcast/seeder/pml"
	"swarmcast/seeder/rtc"
	"swarmcast/seeder/trackerclient"
	"swarmcast/tracker"
)

func logger(t testing.TB) *slog.Logger {
	t.Helper()
	// Warn and above only: pion may log (at info) from its own goroutines after a test ends.
	lvl := slog.LevelWarn
	if os.Getenv("SEEDER_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: lvl}))
}

// hlsFolder writes a live stream folder with one video rendition: segments first..last with
// deterministic pseudo-random content of size bytes, the manifest and the playlists.
type hlsFolder struct {
	dir      string
	size     int
	manifest map[string]string
}

func newHLSFolder(t testing.TB, size int) *hlsFolder {
	t.Helper()
	f := &hlsFolder{dir: t.TempDir(), size: size, manifest: map[string]string{}}
	f.write(t, "master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=1280x720\nv0/index.m3u8\n")
	return f
}

func (f *hlsFolder) write(t testing.TB, name string, data string) {
	t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".tmp", []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
}

// segment returns the bytes of segment seq. Some chunks are made to look like commands so
// the seeder's boundary shifting is exercised.
func (f *hlsFolder) segment(seq int64) []byte {
	b := make([]byte, f.size+int(seq%5))
	x := uint32(seq*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if len(b) > 2*65535 {
		copy(b[0:], "cstr")
		copy(b[65535-4:], "cend")
		copy(b[65535:], `{"`)
		copy(b[2*65535-1:], "}")
	}
	return b
}

func (f *hlsFolder) publish(t testing.TB, first, last int64) {
	t.Helper()
	var pl strings.Builder
	fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for q := first; q <= last; q++ {
		name := fmt.Sprintf("v0/seg%d.ts", q)
		data := f.segment(q)
		sum := sha256.Sum256(data)
		f.manifest[name] = hex.EncodeToString(sum[:])
		f.write(t, name, string(data))
		fmt.Fprintf(&pl, "#EXTINF:2.000,\nseg%d.ts\n", q)
	}
	m, _ := json.Marshal(map[string]any{"version": 1, "segments": f.manifest})
	f.write(t, "segments-sha256.json", string(m))
	f.write(t, "v0/index.m3u8", pl.String())
}

func startTracker(t testing.TB) string {
	t.Helper()
	cfg := tracker.DefaultConfig()
	cfg.Servers[0].Server.Host = "127.0.0.1"
	cfg.Servers[0].Server.Port = 0
	srv, err := tracker.New(cfg, tracker.Options{Logger: logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return "ws://" + srv.Addrs()[0].String()
}

type running struct {
	s   *seeder.Seeder
	reg *prometheus.Registry
}

func startSeeder(t testing.TB, cfg seeder.Config) running {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := seeder.New(&cfg, seeder.Options{Logger: logger(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("seeder did not stop")
		}
	})
	return running{s: s, reg: reg}
}

func swarmOf(t testing.TB, s *seeder.Seeder, gen string) seeder.SwarmInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, sw := range s.Swarms() {
			if sw.Generation == gen {
				return sw
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s swarm", gen)
	return seeder.SwarmInfo{}
}

// browser is a Go test peer that plays a P2P Media Loader page's part: it announces with
// offers through the tracker, answers offers, and hands over the opened data channels.
var offerSeq atomic.Int64

type browser struct {
	api   *rtc.API
	conns chan *rtc.Conn
	mu    sync.Mutex
	offer map[string]*rtc.Pending
	wg    sync.WaitGroup
	// onlyFrom, when set, is the only peer_id whose offers are answered.
	onlyFrom func(peerID string) bool
}

func (b *browser) Offers(ctx context.Context, n int) []trackerclient.Offer {
	var out []trackerclient.Offer
	for i := range n {
		p, sdp, err := b.api.Offer(ctx, "dc")
		if err != nil {
			return out
		}
		id := fmt.Sprintf("offer-%015d", offerSeq.Add(1)) // 20 chars
		_ = i
		b.mu.Lock()
		b.offer[id] = p
		b.mu.Unlock()
		out = append(out, trackerclient.Offer{ID: id, SDP: sdp})
	}
	return out
}

func (b *browser) wait(p *rtc.Pending) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if c, err := p.Wait(ctx); err == nil {
			b.conns <- c
		}
	}()
}

func (b *browser) OnOffer(ctx context.Context, from, id, sdp string) (string, error) {
	if b.onlyFrom != nil && !b.onlyFrom(from) {
		return "", fmt.Errorf("not answering %s", from)
	}
	p, answer, err := b.api.Answer(ctx, sdp)
	if err != nil {
		return "", err
	}
	b.wait(p)
	return answer, nil
}

func (b *browser) OnAnswer(from, id, sdp string) {
	b.mu.Lock()
	p := b.offer[id]
	delete(b.offer, id)
	b.mu.Unlock()
	if p != nil && p.Accept(sdp) == nil {
		b.wait(p)
	}
}

// connect joins the swarm as a browser of the given generation and returns the first data
// channel that opens (to the seeder, the only other swarm member).
func connect(t testing.TB, trackerURL string, sw seeder.SwarmInfo, offers int) *rtc.Conn {
	t.Helper()
	api, err := rtc.New(rtc.Config{LoopbackOnly: true, PerConnectionPorts: true}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{api: api, conns: make(chan *rtc.Conn, 8), offer: map[string]*rtc.Pending{}}
	ih := sw.InfoHash
	if sw.Generation == "0.6" {
		raw, _ := hex.DecodeString(ih)
		ih = pml.Latin1(raw)
	}
	prefix := "-PM0203-"
	if sw.Generation == "0.6" {
		prefix = "-WW0006-"
	}
	c, err := trackerclient.New(trackerclient.Config{URL: trackerURL, InfoHash: ih, PeerID: prefix + fmt.Sprintf("%012d", time.Now().UnixNano()%1e12),
		Offers: offers, MinBackoff: 50 * time.Millisecond}, b, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	var conn *rtc.Conn
	select {
	case conn = <-b.conns:
	case <-time.After(30 * time.Second):
		t.Fatal("no data channel to the seeder")
	}
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
		b.mu.Lock()
		for _, p := range b.offer {
			p.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
		close(b.conns)
		for c := range b.conns {
			c.Close()
		}
		api.Close()
	})
	return conn
}

// reader reads messages in the background so the test can wait for specific ones.
type reader struct {
	t    testing.TB
	msgs chan []byte
}

func newReader(t testing.TB, c *rtc.Conn) *reader {
	r := &reader{t: t, msgs: make(chan []byte, 1024)}
	go func() {
		defer close(r.msgs)
		buf := make([]byte, rtc.MaxMessageSize)
		for {
			n, err := c.ReadMessage(buf)
			if err != nil {
				return
			}
			r.msgs <- bytes.Clone(buf[:n])
		}
	}()
	return r
}

func (r *reader) next() []byte {
	r.t.Helper()
	select {
	case m, ok := <-r.msgs:
		if !ok {
			r.t.Fatal("data channel closed")
		}
		return m
	case <-time.After(15 * time.Second):
		r.t.Fatal("timed out waiting for a message")
	}
	return nil
}

// command reads messages until a complete binary command arrives; data messages seen on
// the way are returned too.
func (r *reader) command() (*pml.Command, [][]byte) {
	r.t.Helper()
	var j pml.Joiner
	var data [][]byte
	for {
		m := r.next()
		if !pml.IsCommandChunk(m) {
			data = append(data, m)
			continue
		}
		p, err := j.Add(m)
		if err != nil {
			r.t.Fatal(err)
		}
		if p == nil {
			continue
		}
		c, err := pml.Decode(p)
		if err != nil {
			r.t.Fatal(err)
		}
		return c, data
	}
}

func send(t testing.TB, c *rtc.Conn, cmd *pml.Command) {
	t.Helper()
	msgs, err := pml.Encode(cmd, pml.MaxMessageSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := c.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
}

func baseConfig(f *hlsFolder, trackerURL string) seeder.Config {
	return seeder.Config{Origin: filepath.Join(f.dir, "master.m3u8"), PublicURL: "http://127.0.0.1:9/live/master.m3u8",
		Trackers: []string{trackerURL}, LoopbackOnly: true, PollIntervalSeconds: 0.05, OffersPerAnnounce: 1}
}

func TestBinaryProtocolGoToGo(t *testing.T) {
	f := newHLSFolder(t, 150_000)
	f.publish(t, 100, 104)
	trackerURL := startTracker(t)
	cfg := baseConfig(f, trackerURL)
	cfg.PeerUploadMbps = 0.25 // ~2 s per 64 KiB chunk after the first: requests and cancels arrive mid-upload
	sd := startSeeder(t, cfg)
	sw := swarmOf(t, sd.s, "2.3")
	want := pml.InfoHash(pml.Gen23, "v2-http://127.0.0.1:9/live/master.m3u8-main-BCR4cAarxwQFrRHwtejcqcawQTU=")
	if sw.InfoHash != want {
		t.Fatalf("info_hash %s, want %s", sw.InfoHash, want)
	}

	conn := connect(t, trackerURL, sw, 1)
	if ra := conn.RemoteAddr(); !strings.HasPrefix(ra, "127.0.0.1:") {
		t.Fatalf("selected pair remote %q is not loopback", ra)
	}
	r := newReader(t, conn)
	ann, _ := r.command()
	if ann.Type != pml.CmdAnnouncement || fmt.Sprint(ann.Loaded) != "[100 101 102 103 104]" {
		t.Fatalf("announcement %+v", ann)
	}

	t.Run("request", func(t *testing.T) {
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 103, Req: 517})
		hdr, _ := r.command()
		want := f.segment(103)
		if hdr.Type != pml.CmdData || hdr.ID != 103 || hdr.Req != 517 || hdr.Size != int64(len(want)) {
			t.Fatalf("header %+v", hdr)
		}
		done, chunks := r.command()
		if done.Type != pml.CmdCompleted || done.ID != 103 || done.Req != 517 {
			t.Fatalf("completion %+v", done)
		}
		if got := bytes.Join(chunks, nil); !bytes.Equal(got, want) {
			t.Fatalf("received %d bytes, differ from the segment (%d bytes)", len(got), len(want))
		}
		for _, c := range chunks {
			if len(c) > pml.MaxMessageSize || pml.IsCommandChunk(c) {
				t.Fatalf("bad chunk of %d bytes", len(c))
			}
		}
	})
	t.Run("resume offset", func(t *testing.T) {
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 104, Req: 1, Offset: 70000})
		hdr, _ := r.command()
		want := f.segment(104)[70000:]
		if hdr.Type != pml.CmdData || hdr.Size != int64(len(want)) {
			t.Fatalf("header %+v, want size %d", hdr, len(want))
		}
		done, chunks := r.command()
		if done.Type != pml.CmdCompleted || !bytes.Equal(bytes.Join(chunks, nil), want) {
			t.Fatalf("resumed data wrong (%+v)", done)
		}
	})
	t.Run("absent", func(t *testing.T) {
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 99, Req: 2})
		c, _ := r.command()
		if c.Type != pml.CmdAbsent || c.ID != 99 || c.Req != 2 {
			t.Fatalf("got %+v, want absent", c)
		}
	})
	t.Run("cancel and one upload per connection", func(t *testing.T) {
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 100, Req: 10})
		hdr, _ := r.command()
		if hdr.Type != pml.CmdData || hdr.Req != 10 {
			t.Fatalf("header %+v", hdr)
		}
		// A new request replaces the running upload: no Completed for r=10.
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 101, Req: 11})
		c, _ := r.command()
		if c.Type != pml.CmdData || c.Req != 11 {
			t.Fatalf("after a second request got %+v, want SegmentData r=11", c)
		}
		send(t, conn, &pml.Command{Type: pml.CmdCancel, ID: 101, Req: 11})
		// Nothing more for r=11: the next command must answer the next request.
		send(t, conn, &pml.Command{Type: pml.CmdRequest, ID: 98, Req: 12})
		c, _ = r.command()
		if c.Type != pml.CmdAbsent || c.Req != 12 {
			t.Fatalf("after cancel got %+v, want absent r=12", c)
		}
		if got := testutil.ToFloat64(metric(t, sd.reg, "swarmcast_seeder_segments_total", map[string]string{"generation": "2.3", "result": "cancelled"})); got != 2 {
			t.Errorf("cancelled = %v, want 2", got)
		}
	})
	t.Run("window moves", func(t *testing.T) {
		f.publish(t, 103, 106)
		for {
			c, _ := r.command()
			if c.Type == pml.CmdAnnouncement && fmt.Sprint(c.Loaded) == "[103 104 105 106]" {
				break
			}
		}
	})
	t.Run("malformed message drops the peer", func(t *testing.T) {
		if err := conn.WriteMessage([]byte("cstr\x01i\x7fcend")); err != nil {
			t.Fatal(err)
		}
		for range r.msgs { // drains until the seeder closes the channel
		}
		deadline := time.Now().Add(10 * time.Second)
		for testutil.ToFloat64(metric(t, sd.reg, "swarmcast_seeder_protocol_errors_total", map[string]string{"generation": "2.3"})) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("protocol error not counted")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	st := sd.s.Stats().(seeder.Stats)
	if st.SegmentsServed < 2 || st.UploadedBytes < 150_000 || st.SegmentsAbsent < 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestLegacyProtocolGoToGo(t *testing.T) {
	f := newHLSFolder(t, 140_000)
	f.publish(t, 7, 9)
	trackerURL := startTracker(t)
	cfg := baseConfig(f, trackerURL)
	no := false
	cfg.Generations.PML22, cfg.Generations.PML23 = &no, &no
	sd := startSeeder(t, cfg)
	sw := swarmOf(t, sd.s, "0.6")
	if sw.InfoHash != hex.EncodeToString([]byte(latin1Bytes(pml.InfoHash(pml.Gen06, "http://127.0.0.1:9/live/master.m3u8+V0")))) {
		t.Fatalf("info_hash %s", sw.InfoHash)
	}
	conn := connect(t, trackerURL, sw, 1)
	r := newReader(t, conn)
	m := r.next()
	if want := `{"c":2,"m":{"http://127.0.0.1:9/live/master.m3u8+V0":["7|8|9",[0,0,0]]}}`; string(m) != want {
		t.Fatalf("segments map %s, want %s", m, want)
	}
	id := sw.StreamSwarmID + "+8"
	if err := conn.WriteMessage(pml.AppendLegacyRequest(nil, id)); err != nil {
		t.Fatal(err)
	}
	hdr, err := pml.DecodeLegacy(r.next())
	want := f.segment(8)
	if err != nil || hdr.Type != pml.LegacyData || hdr.ID != id || hdr.Size != int64(len(want)) {
		t.Fatalf("header %+v %v", hdr, err)
	}
	var got []byte
	for len(got) < len(want) {
		c := r.next()
		if pml.IsLegacyCommand(c) {
			t.Fatalf("a chunk looks like a command: %q…", c[:8])
		}
		got = append(got, c...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("segment bytes differ")
	}
	if err := conn.WriteMessage(pml.AppendLegacyRequest(nil, sw.StreamSwarmID+"+1")); err != nil {
		t.Fatal(err)
	}
	if c, err := pml.DecodeLegacy(r.next()); err != nil || c.Type != pml.LegacyAbsent {
		t.Fatalf("got %+v %v, want absent", c, err)
	}
	// Oversized message: dropped.
	if err := conn.WriteMessage(bytes.Repeat([]byte("x"), 70_000)); err != nil {
		t.Fatal(err)
	}
	for range r.msgs {
	}
}

// TestSeederOffers checks the seeder's own offers: a browser that only answers (sends no
// offers) still gets connected once the seeder announces.
func TestSeederOffers(t *testing.T) {
	f := newHLSFolder(t, 1000)
	f.publish(t, 1, 2)
	trackerURL := startTracker(t)
	// The browser joins first with no offers; the seeder's "started" announce relays its
	// offer to it.
	api, err := rtc.New(rtc.Config{LoopbackOnly: true, PerConnectionPorts: true}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	b := &browser{api: api, conns: make(chan *rtc.Conn, 8), offer: map[string]*rtc.Pending{}}
	cfg := baseConfig(f, trackerURL)
	no := false
	cfg.Generations.PML22, cfg.Generations.PML06 = &no, &no
	ih := pml.InfoHash(pml.Gen23, "v2-http://127.0.0.1:9/live/master.m3u8-main-BCR4cAarxwQFrRHwtejcqcawQTU=")
	c, _ := trackerclient.New(trackerclient.Config{URL: trackerURL, InfoHash: ih, PeerID: "-PM0203-abcdefghijkl", Offers: 0}, b, logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !c.Stats().Connected || c.Stats().Announces == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the tracker register the announce
	startSeeder(t, cfg)
	select {
	case conn := <-b.conns:
		t.Cleanup(conn.Close)
		r := newReader(t, conn)
		ann, _ := r.command()
		if fmt.Sprint(ann.Loaded) != "[1 2]" {
			t.Fatalf("announcement %+v", ann)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the seeder's offer never connected")
	}
	t.Cleanup(func() { b.wg.Wait() })
}

func latin1Bytes(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// metric finds one labelled series in reg.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	return &gathered{reg: reg, name: name, labels: labels}
}

type gathered struct {
	reg    *prometheus.Registry
	name   string
	labels map[string]string
}

func (g *gathered) Describe(chan<- *prometheus.Desc) {}
func (g *gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := g.labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			v := 0.0
			if m.Counter != nil {
				v = m.Counter.GetValue()
			} else if m.Gauge != nil {
				v = m.Gauge.GetValue()
			}
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.UntypedValue, v)
			return
		}
	}
}
