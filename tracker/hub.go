package tracker

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// HubConfig is the "tracker" section of config.json.
type HubConfig struct {
	MaxOffers        int `json:"maxOffers"`        // default 20
	AnnounceInterval int `json:"announceInterval"` // seconds; default 20
}

// Hub holds every swarm and peer and implements the protocol. It is shared by all
// listeners (like wt-tracker's single FastTracker). STUB: the tracker-core work replaces it.
type Hub struct{}

// Session is the hub's per-connection state (the peer_ids the connection announced).
type Session struct{ sender Sender }

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

// NewHub returns a hub; its metrics are registered on reg.
func NewHub(cfg HubConfig, reg prometheus.Registerer, log *slog.Logger) (*Hub, error) {
	return &Hub{}, nil
}

// NewSession registers a connection whose outgoing frames go to s.
func (h *Hub) NewSession(s Sender) *Session { return &Session{sender: s} }

// Handle processes one text frame received on sess. A non-nil error means the connection
// must be closed; errors.As(err, **ClientError) gives the reason and the close text.
func (h *Hub) Handle(sess *Session, frame []byte) error { return nil }

// Disconnect removes every peer of sess from every swarm. Call it exactly once, after the
// connection's reader has stopped.
func (h *Hub) Disconnect(sess *Session) {}

// Stats returns the counts for /stats.json; perInfoHash adds the per-swarm list.
func (h *Hub) Stats(perInfoHash bool) HubStats { return HubStats{} }

// Run expires peers that have not announced for 2×announceInterval until ctx is done.
func (h *Hub) Run(ctx context.Context) error { <-ctx.Done(); return nil }
