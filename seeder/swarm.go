package seeder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"swarmcast/seeder/pml"
	"swarmcast/seeder/rtc"
	"swarmcast/seeder/source"
	"swarmcast/seeder/trackerclient"
)

// offerTimeout is how long an unanswered own offer is kept (simple-peer's OFFER_TIMEOUT).
const offerTimeout = 50 * time.Second

// connectTimeout bounds ICE + DTLS + SCTP until the data channel opens.
const connectTimeout = 30 * time.Second

// SwarmInfo describes one swarm the seeder joins.
type SwarmInfo struct {
	Generation    string `json:"generation"`
	Rendition     int    `json:"rendition"`
	StreamType    string `json:"streamType"`
	StreamSwarmID string `json:"streamSwarmId"`
	// InfoHash is the info_hash as the tracker sees it (base64 text for 2.x; hex of the
	// 20 bytes for 0.6.x, whose info_hash is a latin1 binary string).
	InfoHash string `json:"infoHash"`
	PeerID   string `json:"peerId"`
}

// swarm is one (generation, rendition) swarm: its tracker memberships and its peers. It is
// the trackerclient.Handler of its clients.
type swarm struct {
	// Static after construction.
	s             *Seeder
	gen           pml.Generation
	rendition     int
	streamType    pml.StreamType
	streamSwarmID string
	infoHash      string // wire form
	peerID        string
	log           *slog.Logger
	clients       []*trackerclient.Client

	mu      sync.Mutex
	pending map[string]*rtc.Pending // guarded by mu: own offers by offer_id
	peers   map[string]*peer        // guarded by mu: connected (or connecting) peers by remote peer_id
}

var _ trackerclient.Handler = (*swarm)(nil)

func (sw *swarm) info() SwarmInfo {
	ih := sw.infoHash
	if sw.gen == pml.Gen06 {
		b := make([]byte, 0, 20)
		for _, r := range ih {
			b = append(b, byte(r))
		}
		ih = hex.EncodeToString(b)
	}
	return SwarmInfo{Generation: sw.gen.String(), Rendition: sw.rendition, StreamType: sw.streamType.String(),
		StreamSwarmID: sw.streamSwarmID, InfoHash: ih, PeerID: sw.peerID}
}

// buildSwarms derives every swarm of the enabled generations from the stream's renditions.
func (s *Seeder) buildSwarms(rends []source.Rendition) []*swarm {
	swarmID := s.cfg.SwarmID
	if swarmID == "" {
		swarmID = pml.ManifestSwarmID(s.src.PublicURL())
	}
	var out []*swarm
	for _, g := range s.generations() {
		for i, r := range rends {
			if r.OriginURL == "" {
				continue // an audio track inside the main rendition: nothing to seed
			}
			id, ok := pml.StreamSwarmID(g, swarmID, r.Stream)
			if !ok {
				continue
			}
			sw := &swarm{s: s, gen: g, rendition: i, streamType: r.Stream.Type, streamSwarmID: id,
				infoHash: pml.InfoHash(g, id), peerID: randomPeerID(g),
				pending: map[string]*rtc.Pending{}, peers: map[string]*peer{}}
			sw.log = s.log.With("generation", g.String(), "rendition", i)
			out = append(out, sw)
		}
	}
	return out
}

func (s *Seeder) generations() []pml.Generation {
	var g []pml.Generation
	if *s.cfg.Generations.PML23 {
		g = append(g, pml.Gen23)
	}
	if *s.cfg.Generations.PML22 {
		g = append(g, pml.Gen22)
	}
	if *s.cfg.Generations.PML06 {
		g = append(g, pml.Gen06)
	}
	return g
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// randomPeerID is a 20-char ASCII peer_id with the generation's client prefix.
func randomPeerID(g pml.Generation) string { return g.PeerIDPrefix() + randomAlnum(12) }

// Offers implements trackerclient.Handler: fresh own offers for an announce.
func (sw *swarm) Offers(ctx context.Context, n int) []trackerclient.Offer {
	var out []trackerclient.Offer
	for range n {
		if sw.s.full() || ctx.Err() != nil {
			break
		}
		p, sdp, err := sw.s.api.Offer(ctx, randomHex(20))
		if err != nil {
			sw.log.Debug("cannot create offer", "err", err)
			break
		}
		id := randomAlnum(20)
		sw.mu.Lock()
		sw.pending[id] = p
		sw.mu.Unlock()
		time.AfterFunc(offerTimeout, func() {
			sw.mu.Lock()
			_, unanswered := sw.pending[id]
			delete(sw.pending, id)
			sw.mu.Unlock()
			if unanswered {
				p.Close()
			}
		})
		sw.s.metrics.offers.WithLabelValues("sent").Inc()
		out = append(out, trackerclient.Offer{ID: id, SDP: sdp})
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	errFull      = errors.New("seeder is at maxPeers")
	errDuplicate = errors.New("already connected to this peer")
)

// reserve claims a peer slot for remote in this swarm.
func (sw *swarm) reserve(remote string) error {
	sw.mu.Lock()
	_, dup := sw.peers[remote]
	sw.mu.Unlock()
	if dup {
		sw.s.metrics.offers.WithLabelValues("rejected_duplicate").Inc()
		return errDuplicate
	}
	if !sw.s.acquire() {
		sw.s.metrics.offers.WithLabelValues("rejected_full").Inc()
		return errFull
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if _, dup := sw.peers[remote]; dup {
		sw.s.release()
		return errDuplicate
	}
	sw.peers[remote] = nil // connecting
	return nil
}

func (sw *swarm) unreserve(remote string) {
	sw.mu.Lock()
	delete(sw.peers, remote)
	sw.mu.Unlock()
	sw.s.release()
}

// OnOffer implements trackerclient.Handler: answer a browser's offer.
func (sw *swarm) OnOffer(ctx context.Context, from, offerID, sdp string) (string, error) {
	if err := sw.reserve(from); err != nil {
		return "", err
	}
	p, answer, err := sw.s.api.Answer(ctx, sdp)
	if err != nil {
		sw.unreserve(from)
		return "", err
	}
	sw.s.metrics.offers.WithLabelValues("answered").Inc()
	sw.s.goPeer(func(ctx context.Context) { sw.connect(ctx, p, from) })
	return answer, nil
}

// OnAnswer implements trackerclient.Handler: a browser answered one of our offers.
func (sw *swarm) OnAnswer(from, offerID, sdp string) {
	sw.mu.Lock()
	p, ok := sw.pending[offerID]
	delete(sw.pending, offerID)
	sw.mu.Unlock()
	if !ok {
		return
	}
	if err := sw.reserve(from); err != nil {
		p.Close()
		return
	}
	if err := p.Accept(sdp); err != nil {
		sw.log.Debug("bad answer", "err", err)
		p.Close()
		sw.unreserve(from)
		return
	}
	sw.s.goPeer(func(ctx context.Context) { sw.connect(ctx, p, from) })
}

// connect waits for the data channel and serves the peer. The slot reserved for remote is
// released when it ends.
func (sw *swarm) connect(ctx context.Context, p *rtc.Pending, remote string) {
	defer sw.unreserve(remote)
	wctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := p.Wait(wctx)
	cancel()
	if err != nil {
		if errors.Is(err, rtc.ErrICEFailed) || errors.Is(err, context.DeadlineExceeded) {
			sw.s.metrics.iceFailures.Inc()
			sw.s.iceFailures.Add(1)
		}
		sw.log.Debug("peer did not connect", "peer", remote, "err", err)
		return
	}
	pr := newPeer(sw, conn, remote)
	sw.mu.Lock()
	sw.peers[remote] = pr
	sw.mu.Unlock()
	g := sw.s.metrics.peers.WithLabelValues(sw.gen.String())
	g.Inc()
	pr.log.Info("peer connected")
	reason := pr.run(ctx)
	g.Dec()
	if reason == reasonICEFailed {
		sw.s.metrics.iceFailures.Inc()
		sw.s.iceFailures.Add(1)
	}
	sw.s.metrics.closed.WithLabelValues(reason.String()).Inc()
	pr.log.Info("peer closed", "reason", reason.String())
}

// notifyPeers asks every connected peer to re-announce.
func (sw *swarm) notifyPeers() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, p := range sw.peers {
		if p != nil {
			p.notify(p.announce)
		}
	}
}

func (sw *swarm) peerCount() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	n := 0
	for _, p := range sw.peers {
		if p != nil {
			n++
		}
	}
	return n
}

func (sw *swarm) closePending() {
	sw.mu.Lock()
	ps := sw.pending
	sw.pending = map[string]*rtc.Pending{}
	sw.mu.Unlock()
	for _, p := range ps {
		p.Close()
	}
}
