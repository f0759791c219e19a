package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"swarmcast/analytics"
	"swarmcast/hlsgen"
	"swarmcast/seeder"
	"swarmcast/seeder/source"
	"swarmcast/seeder/torrent"
	"swarmcast/tracker"
	"swarmcast/web"
)

// demoInfoPath is the small JSON document the demo page reads at start-up (see demoInfo).
const demoInfoPath = "/api/demo"

// analyticsPath is where the page reports its byte counters (POST) and reads the swarm's
// totals (GET).
const analyticsPath = "/api/stats"

// runAll runs every part config.json enables, in one process, until ctx ends:
//
//   - the tracker (always) on its "servers" listeners, with /stats.json and /metrics;
//   - with an "hls" section: the live test card (ffmpeg) and its origin under hls.prefix on
//     the tracker's listeners;
//   - with a "seeder" section: the seeding super-peer on seeder.udpPort, which reads the test
//     card from its output folder and joins the built-in tracker over loopback;
//   - with any of "hls", "seeder" or "analytics": the demo page at / and /assets/, and
//     /api/demo (what the page needs to know: stream path, swarm id, seeder peer ids);
//   - with an "analytics" section: the viewers' reports at /api/stats.
//
// A config.json with none of those sections (a plain wt-tracker one) runs just the tracker,
// exactly as `swarmcast tracker`. When any part fails, the others are stopped; runAll returns
// once every part has stopped (ffmpeg included).
func runAll(ctx context.Context, env *cmdEnv) error {
	cfg, log := env.cfg, env.log
	if cfg.HLS == nil && cfg.Seeder == nil && cfg.Analytics == nil {
		log.Info("config.json has no \"hls\", \"seeder\" or \"analytics\" section: running the tracker only")
		return runTracker(ctx, env)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := tracker.New(cfg.Tracker, tracker.Options{Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	defer srv.Close()

	g := newGroup(ctx, log)
	// Parts start as they are set up; from here on every error path must still wait for
	// the parts already started.
	if err := setupAll(g, env, srv, reg); err != nil {
		g.Cancel()
		return errors.Join(err, g.Wait())
	}
	// The listeners serve once every route is mounted (Handle must precede Run).
	g.Go("tracker", srv.Run)
	stop := reloadTLSOnSIGHUP(ctx, env, srv)
	defer stop()
	return g.Wait()
}

// setupAll creates the optional parts, mounts their routes on srv and starts them in g.
func setupAll(g *group, env *cmdEnv, srv *tracker.Server, reg *prometheus.Registry) error {
	cfg, log := env.cfg, env.log
	info := &demoInfo{Stream: "", SeederPeerIDs: []string{}}

	var hlsCfg *hlsgen.Config
	if cfg.HLS != nil {
		gen, err := hlsgen.New(*cfg.HLS, log, reg)
		if err != nil {
			return err
		}
		eff := gen.Config()
		hlsCfg = &eff
		// A master playlist left by an earlier run would make the seeder read the old
		// stream's renditions before the generator cleans the folder.
		if err := os.Remove(filepath.Join(eff.OutputDir, hlsgen.MasterPlaylist)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("hls.outputDir: %w", err)
		}
		srv.Handle(eff.Prefix, gen.Origin(reg))
		info.Stream = eff.Prefix + hlsgen.MasterPlaylist
		info.LiveSyncDurationCount = eff.ListSize - 1
		g.Go("hls test card", gen.Run)
		log.Info("HLS origin mounted", "prefix", eff.Prefix, "dir", eff.OutputDir)
	}

	if cfg.Seeder != nil {
		scfg, err := seederConfigForAll(*cfg.Seeder, cfg.Tracker, srv.Addrs(), hlsCfg)
		if err != nil {
			return err
		}
		s, err := seeder.New(&scfg, seeder.Options{Logger: log, Registry: reg})
		if err != nil {
			return err
		}
		srv.AddStats("seeder", s.Stats)
		info.swarms = s.Swarms
		info.SwarmID = scfg.SwarmID
		if info.Stream == "" {
			info.Stream = scfg.PublicURL
			if info.Stream == "" {
				info.Stream = scfg.Origin
			}
		}
		g.Go("seeder", func(ctx context.Context) error {
			defer s.Close()
			if hlsCfg != nil {
				// The test card needs a few seconds for its first segments; reading before
				// that would only log retries.
				if !waitForFile(ctx, scfg.Origin) {
					return nil
				}
			}
			return s.Run(ctx)
		})
		log.Info("seeder configured", "origin", scfg.Origin, "public_url", scfg.PublicURL, "swarm_id", scfg.SwarmID,
			"trackers", scfg.Trackers, "udp", s.UDPAddrs())
		if raw := bytes.TrimSpace(cfg.Seeder.WebTorrent); len(raw) > 0 && string(raw) != "null" {
			if err := startWebTorrent(g, log, reg, srv, s, raw, hlsCfg, cfg.Tracker); err != nil {
				return err
			}
		}
	}

	if cfg.Analytics != nil {
		col, err := analytics.New(*cfg.Analytics, log, reg)
		if err != nil {
			return err
		}
		srv.Handle(analyticsPath, col.Handler())
		srv.AddStats("analytics", func() any { return col.Totals() })
		info.Analytics = true
	}

	page := web.Handler()
	// Exact paths only, so that anything else still gets the tracker's own 404 (and an
	// ./index.html in the working directory still wins at /, as with wt-tracker).
	srv.Handle("/{$}", page)
	srv.Handle("/index.html", page)
	srv.Handle("/assets/", page)
	srv.Handle(demoInfoPath, info)
	if !web.HasBundle() {
		log.Warn("this binary was built without the demo page's script bundle: run scripts/build-web.sh, then go build")
	}
	for _, a := range srv.Addrs() {
		log.Info("demo page", "url", "http://"+displayAddr(a)+"/")
	}
	return nil
}

// startWebTorrent runs the WebTorrent half of the seeder (seeder.webtorrent): every segment
// the seeder's source holds becomes a torrent, announced to seeder.webtorrent.trackers (a
// loopback entry means the built-in tracker, as for seeder.trackers), and torrents.json is
// served under hls.prefix + "webtorrent/" (or /webtorrent/ without the test card).
func startWebTorrent(g *group, log *slog.Logger, reg prometheus.Registerer, srv *tracker.Server, s *seeder.Seeder,
	raw json.RawMessage, hlsCfg *hlsgen.Config, tc tracker.Config) error {
	const key = "seeder.webtorrent"
	tcfg, err := torrent.DecodeConfig(raw, key, nil) // unknown keys were reported when config.json was loaded
	if err != nil {
		return err
	}
	if base, wsPath, ok := plainListener(tc, srv.Addrs()); ok && wsPath != "" {
		trackers := []string{"ws://" + base + wsPath}
		for _, t := range tcfg.Trackers {
			if !isLoopbackURL(t) {
				trackers = append(trackers, t)
			}
		}
		tcfg.Trackers = trackers
	}
	if tc.Hub.Expiry != tracker.ExpiryConnection {
		// anacrolix announces each torrent once; with wt-tracker's expiry the seeder drops out
		// of a segment's swarm 2×announceInterval later although it still seeds it.
		log.Warn(`the WebTorrent seeder announces each segment only once: set "tracker": {"expiry": "connection"} so it stays in the swarms it seeds`,
			"tracker.expiry", tc.Hub.Expiry)
	}
	ts, err := torrent.New(tcfg, torrent.Options{Logger: log.With("component", "webtorrent"), Registry: reg})
	if err != nil {
		return err
	}
	prefix := "/webtorrent/"
	if hlsCfg != nil {
		prefix = hlsCfg.Prefix + "webtorrent/"
	}
	srv.Handle(prefix, ts.Handler())
	srv.AddStats("webtorrent", ts.Stats)
	g.Go("webtorrent seeder", ts.Run)
	g.Go("webtorrent feed", func(ctx context.Context) error {
		feedTorrents(ctx, s.Source(), ts, log)
		return nil
	})
	log.Info("WebTorrent seeder configured", "trackers", tcfg.Trackers, "torrents", prefix+"torrents.json")
	return nil
}

// feedTorrents keeps ts in step with the source's live window until ctx ends: new segments
// are added, segments that left the window are removed.
func feedTorrents(ctx context.Context, src *source.Source, ts *torrent.Seeder, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-src.Ready():
	}
	changes, unsubscribe := src.Subscribe()
	defer unsubscribe()
	added := map[string]bool{}
	for {
		live := map[string]bool{}
		snap := src.Snapshot()
		if snap != nil {
			for _, w := range snap.Windows {
				for _, seg := range w.Segments {
					live[seg.URI] = true
					if added[seg.URI] {
						continue
					}
					rendition := path.Dir(seg.URI)
					if rendition == "." {
						rendition = fmt.Sprintf("r%d", seg.Rendition)
					}
					err := ts.Add(torrent.Segment{Rendition: rendition, URI: seg.URI, URL: seg.URL, Data: seg.Data, SHA256: seg.SHA256})
					if err != nil {
						log.Warn("webtorrent: cannot seed segment", "uri", seg.URI, "err", err)
					}
					added[seg.URI] = true // do not retry a segment that failed
				}
			}
		}
		for uri := range added {
			if !live[uri] {
				ts.Remove(uri)
				delete(added, uri)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		}
	}
}

// waitForFile waits until path exists; false when ctx ended first.
func waitForFile(ctx context.Context, path string) bool {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// demoInfo is served at /api/demo: what the page needs besides its own location.
type demoInfo struct {
	// Stream is the master playlist, a path on this server ("/hls/master.m3u8") or an
	// absolute URL; "" when this server has no stream to offer.
	Stream string `json:"stream"`
	// SwarmID is P2P Media Loader's swarmId setting (the seeder's), "" for the default
	// (the manifest URL).
	SwarmID string `json:"swarmId"`
	// LiveSyncDurationCount is the hls.js setting that keeps players far enough behind live
	// for P2P (playlist length − 1, as P2P Media Loader itself sets it); 0: unset.
	LiveSyncDurationCount int `json:"liveSyncDurationCount"`
	// SeederPeerIDs are the peer_ids of the seeder in its P2P Media Loader swarms, so the
	// page can tell bytes from the seeder from bytes from other viewers.
	SeederPeerIDs []string `json:"seederPeerIds"`
	// Seeder is true when a seeder runs (its peer ids may not be known yet).
	Seeder bool `json:"seeder"`
	// Analytics is true when /api/stats accepts reports.
	Analytics bool `json:"analytics"`

	swarms func() []seeder.SwarmInfo // nil without a seeder
}

func (d *demoInfo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	out := *d
	out.SeederPeerIDs = []string{}
	if d.swarms != nil {
		out.Seeder = true
		seen := map[string]bool{}
		for _, sw := range d.swarms() {
			if !seen[sw.PeerID] {
				seen[sw.PeerID] = true
				out.SeederPeerIDs = append(out.SeederPeerIDs, sw.PeerID)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// seederConfigForAll adapts the "seeder" section to run next to the built-in tracker and
// test card:
//
//   - with the test card, the seeder reads it from hls.outputDir (origin = its
//     master.m3u8), and publicUrl defaults to the stream's URL on the first plain listener
//     (http://127.0.0.1:port/hls/master.m3u8 when it listens on all addresses);
//   - the seeder joins the built-in tracker over loopback (ws://127.0.0.1:port/); entries of
//     seeder.trackers on a loopback host (127.0.0.0/8, ::1, localhost) are taken to mean the
//     built-in tracker and replaced by it, others are joined as well.
func seederConfigForAll(c seeder.Config, tc tracker.Config, addrs []net.Addr, hlsCfg *hlsgen.Config) (seeder.Config, error) {
	base, wsPath, ok := plainListener(tc, addrs)
	if hlsCfg != nil {
		c.Origin = filepath.Join(hlsCfg.OutputDir, hlsgen.MasterPlaylist)
		if c.PublicURL == "" {
			if !ok {
				return c, errors.New("seeder.publicUrl: required when every listener uses TLS (the master playlist URL players load)")
			}
			c.PublicURL = "http://" + base + hlsCfg.Prefix + hlsgen.MasterPlaylist
		}
	}
	trackers := make([]string, 0, len(c.Trackers)+1)
	if ok && wsPath != "" {
		trackers = append(trackers, "ws://"+base+wsPath)
	}
	for _, t := range c.Trackers {
		if !ok || wsPath == "" || !isLoopbackURL(t) {
			trackers = append(trackers, t)
		}
	}
	c.Trackers = trackers
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// plainListener returns the loopback host:port of the first listener without TLS, and the
// WebSocket path to announce on ("" when websockets.path has a parameter segment).
func plainListener(tc tracker.Config, addrs []net.Addr) (hostport, wsPath string, ok bool) {
	for i, lc := range tc.Servers {
		if i >= len(addrs) || lc.Server.KeyFile != "" || lc.Server.CertFile != "" {
			continue
		}
		return displayAddr(addrs[i]), announcePath(lc.WebSockets.Path), true
	}
	return "", "", false
}

// announcePath turns a websockets.path pattern into a path a client can connect to.
func announcePath(p string) string {
	switch {
	case p == "" || p == "/*":
		return "/"
	case strings.HasSuffix(p, "/*"):
		p = strings.TrimSuffix(p, "*")
	}
	if strings.Contains(p, ":") || strings.Contains(p, "*") {
		return ""
	}
	return p
}

// displayAddr is a bound address as a client on this machine reaches it: the unspecified
// address becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// isLoopbackURL reports whether u's host is localhost or a loopback address.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// group runs the parts of `swarmcast all`. Each part runs until the group's context ends;
// a part that returns (with an error or not) before that cancels the others. Wait returns
// once every part has returned.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup

	mu   sync.Mutex
	errs []error // guarded by mu
}

func newGroup(ctx context.Context, log *slog.Logger) *group {
	ctx, cancel := context.WithCancel(ctx)
	return &group{ctx: ctx, cancel: cancel, log: log}
}

// Go starts run(ctx) as the part called name.
func (g *group) Go(name string, run func(ctx context.Context) error) {
	g.wg.Go(func() {
		err := run(g.ctx)
		if err == nil && g.ctx.Err() == nil {
			err = errors.New("stopped unexpectedly")
		}
		if err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
			if g.ctx.Err() == nil {
				g.log.Error("part failed, stopping the others", "part", name, "err", err)
			}
			g.cancel()
			return
		}
		g.log.Debug("part stopped", "part", name)
	})
}

// Cancel stops every part.
func (g *group) Cancel() { g.cancel() }

// Wait waits for every part and returns their errors, first failure first.
func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}
