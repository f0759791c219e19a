package tracker

import (
	"context"
	"log/slog"
	"time"
)

// Run expires peers that have not announced for 2×announceInterval until ctx is done,
// checking every announceInterval (as wt-tracker's clear-peers interval). It returns nil
// when ctx is cancelled. With tracker.expiry "connection" nothing expires on a timer:
// memberships end with "stopped" or when their connection closes.
func (h *Hub) Run(ctx context.Context) error {
	if h.cfg.Expiry == ExpiryConnection {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Duration(h.cfg.AnnounceInterval) * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.expire(h.now())
		}
	}
}

// expire removes every membership whose last announce is more than 2×announceInterval
// before now, then peers left without a swarm. Peers are visited in creation order, as
// wt-tracker iterates its peer Map, so swarm arrays end up in the same order.
func (h *Hub) expire(now time.Time) {
	limit := 2 * time.Duration(h.cfg.AnnounceInterval) * time.Second
	h.mu.Lock()
	defer h.mu.Unlock()
	removed := 0
	for p := h.peerHead; p != nil; {
		next := p.next
		for i := 0; i < len(p.memberships); {
			ms := p.memberships[i]
			if now.Sub(ms.announced) > limit {
				h.leave(ms) // deletes p.memberships[i]
				removed++
				continue
			}
			i++
		}
		if len(p.memberships) == 0 {
			h.removePeer(p)
		}
		p = next
	}
	if removed > 0 {
		h.met.expired.Add(float64(removed))
		if h.tracing() {
			h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: expired", slog.Int("memberships", removed))
		}
	}
}
