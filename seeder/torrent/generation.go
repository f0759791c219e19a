package torrent

import (
	"errors"
	"fmt"
	"time"

	atorrent "github.com/anacrolix/torrent"
)

// anacrolix/torrent v1.61's WebTorrent tracker client keeps every PeerConnection it ever made
// in a map (TrackerClient.rtcPeerConns): answering connections are never removed, and offer
// connections are removed under a different key than they were stored under. The map is
// freed only when the tracker client closes, which happens when the last torrent using that
// tracker is dropped — never, in a live stream. Measured: RSS grows by ~40 KB per segment
// torrent (docs/bench-seeder-torrent.md).
//
// The seeder therefore rotates its anacrolix client: new segments go to a fresh client (a
// "generation") every Config.ClientRotation seconds; an old generation closes, freeing all
// of its connections, as soon as its last segment is dropped — one live window later.

// generation is one anacrolix client. cl is set at creation and never changed; live and
// started are guarded by Seeder.mu and changed only with Seeder.opMu held as well.
type generation struct {
	cl      *atorrent.Client
	started time.Time
	live    int // torrents in this client
}

// newGeneration starts an anacrolix client configured for WebTorrent only.
func (s *Seeder) newGeneration() (*generation, error) {
	cc := clientConfig(s.cfg, s.log.With("component", "anacrolix"))
	cc.Callbacks.StatusUpdated = append(cc.Callbacks.StatusUpdated, s.onStatus)
	cl, err := atorrent.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("webtorrent seeder: starting the torrent client: %w", err)
	}
	return &generation{cl: cl, started: s.now()}, nil
}

// currentGeneration returns the generation new torrents go to, starting a new one when the
// current one is older than ClientRotation. The caller holds opMu.
func (s *Seeder) currentGeneration() (*generation, error) {
	s.mu.Lock()
	cur := s.gens[len(s.gens)-1]
	s.mu.Unlock()
	if s.cfg.ClientRotation <= 0 || s.now().Sub(cur.started) < time.Duration(s.cfg.ClientRotation)*time.Second {
		return cur, nil
	}
	g, err := s.newGeneration()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.gens = append(s.gens, g)
	s.rotations++
	s.mu.Unlock()
	s.log.Debug("webtorrent seeder: new torrent client generation", "previousLive", cur.live)
	if err := s.retireIfIdle(cur); err != nil {
		s.log.Warn("webtorrent seeder: closing an old torrent client", "err", err)
	}
	return g, nil
}

// retireIfIdle closes g if it is not the current generation and seeds nothing any more.
// The caller holds opMu.
func (s *Seeder) retireIfIdle(g *generation) error {
	s.mu.Lock()
	if g.live > 0 || g == s.gens[len(s.gens)-1] {
		s.mu.Unlock()
		return nil
	}
	for i, x := range s.gens {
		if x == g {
			s.gens = append(s.gens[:i], s.gens[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	// Count its uploads before it goes, so the counter stays monotonic.
	st := g.cl.Stats()
	up := st.BytesWrittenData.Int64()
	errs := g.cl.Close()
	s.mu.Lock()
	s.retiredUploaded += up
	s.mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("closing the torrent client: %w", errors.Join(errs...))
	}
	return nil
}

// generations returns a copy of the live generations, oldest first.
func (s *Seeder) generations() []*generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*generation(nil), s.gens...)
}

// clientTorrents lists the torrents of every generation's client.
func (s *Seeder) clientTorrents() []*atorrent.Torrent {
	var out []*atorrent.Torrent
	for _, g := range s.generations() {
		out = append(out, g.cl.Torrents()...)
	}
	return out
}
