package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmcast/internal/jsonconf"
	"swarmcast/tracker/wire"
)

// HubConfig is the "tracker" section of config.json.
type HubConfig struct {
	MaxOffers        int `json:"maxOffers"`        // default 20
	AnnounceInterval int `json:"announceInterval"` // seconds; default 20
	// Expiry says when a swarm membership ends without a "stopped" (swarmcast addition):
	//   "announce" (default, wt-tracker): 2×announceInterval after its last announce, even
	//     while the connection is open;
	//   "connection": when its connection closes. For clients that announce once and never
	//     re-announce on a timer, such as anacrolix/torrent (the WebTorrent seeder): their
	//     memberships then live as long as their socket. Dead sockets are still dropped by
	//     websockets.idleTimeout, and disconnects remove every membership.
	Expiry string `json:"expiry"`
}

// Expiry modes of HubConfig.Expiry.
const (
	ExpiryAnnounce   = "announce"
	ExpiryConnection = "connection"
)

// Defaults and bounds of HubConfig.
const (
	DefaultMaxOffers        = 20
	DefaultAnnounceInterval = 20     // seconds, wt-tracker's default since 2024-06
	maxMaxOffers            = 10000  // more offers than any client sends
	maxAnnounceInterval     = 604800 // one week, in seconds
)

// MaxIDLength is the longest info_hash or peer_id (in bytes, after binary-string decoding)
// an announce may carry. wt-tracker has no limit; real ids are 20 bytes.
const MaxIDLength = 128

// Validate fills in defaults for zero values (wt-tracker treats a missing key the same way)
// and rejects impossible values with an error naming the JSON key.
func (c *HubConfig) Validate() error {
	if c.MaxOffers == 0 {
		c.MaxOffers = DefaultMaxOffers
	}
	if c.AnnounceInterval == 0 {
		c.AnnounceInterval = DefaultAnnounceInterval
	}
	if c.Expiry == "" {
		c.Expiry = ExpiryAnnounce
	}
	if c.Expiry != ExpiryAnnounce && c.Expiry != ExpiryConnection {
		return jsonconf.Errorf("tracker.expiry", "must be %q or %q, got %q", ExpiryAnnounce, ExpiryConnection, c.Expiry)
	}
	if c.MaxOffers < 0 || c.MaxOffers > maxMaxOffers {
		return jsonconf.Errorf("tracker.maxOffers", "must be between 1 and %d, got %d", maxMaxOffers, c.MaxOffers)
	}
	if c.AnnounceInterval < 0 || c.AnnounceInterval > maxAnnounceInterval {
		return jsonconf.Errorf("tracker.announceInterval", "must be between 1 and %d seconds, got %d", maxAnnounceInterval, c.AnnounceInterval)
	}
	return nil
}

// Hub holds every swarm and peer and implements the protocol. It is shared by all
// listeners (like wt-tracker's single FastTracker). It is safe for concurrent use; see the
// package documentation for the protocol flow.
type Hub struct {
	// Static after NewHub.
	cfg     HubConfig
	log     *slog.Logger
	met     *hubMetrics
	now     func() time.Time
	msgPool sync.Pool // *wire.Message

	// Read by metrics without the lock; written under mu.
	numSwarms atomic.Int64
	numPeers  atomic.Int64 // Σ swarm sizes (a peer_id in two swarms counts twice)

	mu                   sync.Mutex
	swarms               map[string]*swarm // guarded by mu
	swarmHead, swarmTail *swarm            // guarded by mu
	peers                map[string]*peer  // guarded by mu; by peer_id across all sessions
	peerHead, peerTail   *peer             // guarded by mu
	rng                  *rand.Rand        // guarded by mu; picks the offer window
}

// Session is the hub's per-connection state (the peer_ids the connection announced).
type Session struct {
	sender Sender  // static
	relay  Relayer // static: sender as a Relayer, nil when it is not one
	peers  *peer   // guarded by Hub.mu; newest first
	closed bool    // guarded by Hub.mu; set by Disconnect
}

// HubStats is a point-in-time view for /stats.json.
type HubStats struct {
	Torrents int // number of swarms
	Peers    int // sum of swarm sizes
	// PerInfoHash lists every swarm in a stable order, hex info_hash and size; nil unless asked.
	PerInfoHash []SwarmCount
}

// SwarmCount is one swarm in HubStats.PerInfoHash.
type SwarmCount struct {
	InfoHashHex string
	Peers       int
}

// NewHub returns a hub; its metrics are registered on reg (nil: not registered). cfg is
// validated (defaults filled in) first.
func NewHub(cfg HubConfig, reg prometheus.Registerer, log *slog.Logger) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg:    cfg,
		log:    log,
		now:    time.Now,
		swarms: make(map[string]*swarm),
		peers:  make(map[string]*peer),
		rng:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	met, err := newHubMetrics(reg, h)
	if err != nil {
		return nil, fmt.Errorf("tracker: registering hub metrics: %w", err)
	}
	h.met = met
	return h, nil
}

// NewSession registers a connection whose outgoing frames go to s.
func (h *Hub) NewSession(s Sender) *Session {
	r, _ := s.(Relayer)
	return &Session{sender: s, relay: r}
}

// Client errors: static texts (wt-tracker's TrackerError messages where it has one).
var (
	errNotJSON          = &ClientError{Reason: ReasonInvalidJSON, Msg: "invalid JSON"}
	errNotObject        = &ClientError{Reason: ReasonInvalidJSON, Msg: "message is not a JSON object"}
	errTooDeep          = &ClientError{Reason: ReasonInvalidJSON, Msg: "JSON nested too deeply"}
	errUnknownAction    = &ClientError{Reason: ReasonProtocol, Msg: "unknown action"}
	errUnknownEvent     = &ClientError{Reason: ReasonProtocol, Msg: "unknown announce event"}
	errAnnouncePeerID   = &ClientError{Reason: ReasonProtocol, Msg: "announce: peer_id field is missing or wrong"}
	errAnnounceInfoHash = &ClientError{Reason: ReasonProtocol, Msg: "announce: info_hash field is missing or wrong"}
	errOffersNotArray   = &ClientError{Reason: ReasonProtocol, Msg: "announce: offers field is not an array"}
	errOfferItem        = &ClientError{Reason: ReasonProtocol, Msg: wire.ErrOfferItem.Error()}
	errOfferField       = &ClientError{Reason: ReasonProtocol, Msg: wire.ErrOfferField.Error()}
	errAnswerToPeerID   = &ClientError{Reason: ReasonProtocol, Msg: "answer: to_peer_id field is missing or wrong"}
	errAnswerPeerID     = &ClientError{Reason: ReasonProtocol, Msg: "answer: peer_id field is missing or wrong"}
	errStopPeerID       = &ClientError{Reason: ReasonProtocol, Msg: "stop: peer_id field is missing or wrong"}
)

// clientError returns a copy of a template, so callers can never modify the shared value.
func clientError(tmpl *ClientError) *ClientError {
	e := *tmpl
	return &e
}

// Handle processes one text frame received on sess. A non-nil error means the connection
// must be closed; errors.As(err, **ClientError) gives the reason and the close text.
//
// Handle may run concurrently for different sessions, but calls for one session must not
// overlap (the connection's reader goroutine is the only caller). It does not keep frame.
// It never panics on any input.
//
// Every frame the hub hands to a Sender comes from wire.GetBuffer; the connection's writer
// goroutine returns it with wire.PutBuffer once written (or dropped).
func (h *Hub) Handle(sess *Session, frame []byte) error {
	m, _ := h.msgPool.Get().(*wire.Message)
	if m == nil {
		m = new(wire.Message)
	}
	defer h.msgPool.Put(m)
	if err := wire.Decode(frame, m); err != nil {
		h.met.in[inInvalid].Inc()
		if h.tracing() {
			h.trace("tracker: invalid frame", slog.String("error", err.Error()), slog.Int("bytes", len(frame)))
		}
		var de *wire.DecodeError
		if errors.As(err, &de) {
			switch de.Kind {
			case wire.ErrNotObject:
				return clientError(errNotObject)
			case wire.ErrTooDeep:
				return clientError(errTooDeep)
			}
		}
		return clientError(errNotJSON)
	}
	err := h.dispatch(sess, m)
	if err != nil {
		h.met.protocolErrors.Inc()
		if h.tracing() {
			h.trace("tracker: protocol error", slog.String("error", err.Error()))
		}
	}
	return err
}

// dispatch routes a decoded message like wt-tracker's processMessage, except that an event
// of null or any string other than started/completed/stopped ("update", "paused", "empty",
// "<regular>", "") counts as a regular announce, and "answer": null counts as no answer.
func (h *Hub) dispatch(sess *Session, m *wire.Message) error {
	switch m.Action {
	case wire.ActionAnnounce:
		switch m.Event {
		case wire.EventAbsent, wire.EventNull, wire.EventRegular:
			if m.Answer != wire.KindAbsent && m.Answer != wire.KindNull {
				return h.answer(sess, m)
			}
			return h.announce(sess, m, false)
		case wire.EventStarted:
			return h.announce(sess, m, false)
		case wire.EventCompleted:
			return h.announce(sess, m, true)
		case wire.EventStopped:
			return h.stop(m)
		}
		h.met.in[inInvalid].Inc()
		return clientError(errUnknownEvent)
	case wire.ActionScrape:
		return h.scrape(sess, m)
	}
	h.met.in[inInvalid].Inc()
	return clientError(errUnknownAction)
}

// send hands a frame to a session's connection; from is the session whose message caused
// it (when from's connection is a Relayer, the frame goes through it). It is called without
// h.mu: frames decided under the lock are collected in an outbox and sent after Unlock (see
// flush), which keeps the lock hold time down to the membership update.
func (h *Hub) send(from, s *Session, frame []byte, kind outKind) {
	h.met.out[kind].Inc()
	var ok bool
	if from.relay != nil {
		ok = from.relay.Relay(s.sender, frame)
	} else {
		ok = s.sender.Send(frame)
	}
	if !ok {
		h.met.sendDropped[kind].Inc()
	}
}

// outFrame is one frame decided under h.mu and sent after it is released.
type outFrame struct {
	sess  *Session
	frame []byte
	kind  outKind
}

// outbox collects the frames one hub call hands to connections while it holds h.mu, in
// order (frames for one connection keep their order). It lives on the caller's stack: the
// first len(fixed) frames need no allocation. Owned by the goroutine running the hub call.
type outbox struct {
	from  *Session // the session whose message is being handled
	n     int
	fixed [24]outFrame
	more  []outFrame // frames beyond len(fixed) (maxOffers above 23)
}

// add queues a frame to send once h.mu is released; the outbox owns frame until then.
func (o *outbox) add(s *Session, frame []byte, kind outKind) {
	f := outFrame{sess: s, frame: frame, kind: kind}
	if o.n < len(o.fixed) {
		o.fixed[o.n] = f
		o.n++
		return
	}
	o.more = append(o.more, f)
}

// flush sends the collected frames; called after h.mu is released.
func (h *Hub) flush(o *outbox) {
	for i := range o.fixed[:o.n] {
		f := &o.fixed[i]
		h.send(o.from, f.sess, f.frame, f.kind)
		*f = outFrame{}
	}
	for i := range o.more {
		f := &o.more[i]
		h.send(o.from, f.sess, f.frame, f.kind)
	}
	o.n, o.more = 0, nil
}

// tracing reports whether per-message debug logs are on.
func (h *Hub) tracing() bool { return h.log.Enabled(context.Background(), slog.LevelDebug) }

// trace logs one debug line when debug logging is on.
func (h *Hub) trace(msg string, attrs ...slog.Attr) {
	if h.tracing() {
		h.log.LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
	}
}

// hexID formats a binary id for logs.
func hexID(b []byte) slog.Value { return slog.StringValue(hex.EncodeToString(b)) }

// Disconnect removes every peer of sess from every swarm. Call it exactly once, after the
// connection's reader has stopped; later Handle calls on sess change nothing.
func (h *Hub) Disconnect(sess *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sess.closed = true
	for p := sess.peers; p != nil; {
		next := p.sessNext
		h.removePeer(p)
		p = next
	}
}

// Stats returns the counts for /stats.json; perInfoHash adds the per-swarm list (hex of the
// binary info_hash, in swarm creation order).
func (h *Hub) Stats(perInfoHash bool) HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := HubStats{Torrents: len(h.swarms), Peers: int(h.numPeers.Load())}
	if perInfoHash {
		st.PerInfoHash = make([]SwarmCount, 0, len(h.swarms))
		for sw := h.swarmHead; sw != nil; sw = sw.next {
			st.PerInfoHash = append(st.PerInfoHash, SwarmCount{
				InfoHashHex: hex.EncodeToString([]byte(sw.infoHash)),
				Peers:       len(sw.members),
			})
		}
	}
	return st
}
