package tracker

import (
	"context"
	"log/slog"
	"math"

	"swarmcast/tracker/wire"
)

// announce handles started, completed and regular announces (wt-tracker processAnnounce
// and sendOffersToPeers).
func (h *Hub) announce(sess *Session, m *wire.Message, completed bool) error {
	h.met.in[inAnnounce].Inc()
	// Validate both ids before touching any state, so that a bad message can never evict
	// another connection's peer (wt-tracker evicts first and checks info_hash later).
	if !validID(&m.PeerID) {
		return clientError(errAnnouncePeerID)
	}
	if !validID(&m.InfoHash) {
		return clientError(errAnnounceInfoHash)
	}
	infoHash, peerID := m.InfoHash.Bin, m.PeerID.Bin
	completed = completed || m.LeftIsZero

	// Parse and encode the offers that could be relayed, outside the lock: an offer's bytes
	// do not depend on its receiver. Items beyond the first bad one are not looked at; the
	// bad one only matters if the fan-out reaches it (as in wt-tracker).
	var stack [24][]byte
	offers := stack[:0]
	bad := -1
	var badErr *ClientError
	if m.Offers == wire.KindArray && m.NumwantIsInteger {
		k := min(len(m.OfferItems), h.cfg.MaxOffers, clampCount(m.Numwant))
		if k > len(stack) {
			offers = make([][]byte, 0, k)
		}
		for i := range k {
			it, err := wire.ParseOfferItem(m.OfferItems[i])
			if err != nil {
				bad = i
				badErr = errOfferField
				if err == wire.ErrOfferItem {
					badErr = errOfferItem
				}
				break
			}
			buf := wire.GetBuffer(wire.OfferSize(it, len(infoHash), len(peerID)))
			offers = append(offers, wire.AppendOffer(buf, infoHash, peerID, it))
		}
	}
	defer func() {
		for _, b := range offers {
			if b != nil {
				wire.PutBuffer(b)
			}
		}
	}()

	// Frames are decided under the lock and sent after it (the deferred flush runs after the
	// deferred Unlock).
	ob := outbox{from: sess}
	defer h.flush(&ob)

	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if sess.closed {
		return nil
	}

	p := h.peers[string(peerID)]
	if p != nil && p.sess != sess {
		// Takeover, as wt-tracker: the peer_id moves to this connection, leaving all swarms.
		h.met.takeovers.Inc()
		if h.tracing() {
			h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: peer changed connection", slog.Attr{Key: "peer_id", Value: hexID(peerID)})
		}
		h.removePeer(p)
		p = nil
	}
	sw := h.getOrCreateSwarm(infoHash)
	if p == nil {
		p = h.newPeer(sess, peerID)
		h.join(sw, p, now, completed)
	} else if ms := p.find(sw); ms == nil {
		h.join(sw, p, now, completed)
	} else {
		ms.announced = now
		if completed && !ms.completed {
			ms.completed = true
			sw.completed++
		}
	}

	// How many offers go out (sendOffersToPeers), decided before anything is sent.
	size := len(sw.members)
	count := 0
	if size > 1 {
		switch m.Offers {
		case wire.KindAbsent, wire.KindNull: // null: lenient, wt-tracker closes
		case wire.KindArray:
			if m.NumwantIsInteger {
				count = min(size-1, len(m.OfferItems), h.cfg.MaxOffers, clampCount(m.Numwant))
				if bad >= 0 && count > bad {
					return clientError(badErr)
				}
			}
		default:
			return clientError(errOffersNotArray)
		}
	}

	reply := wire.GetBuffer(96 + 2*len(infoHash))
	reply = wire.AppendAnnounceReply(reply, h.cfg.AnnounceInterval, infoHash, sw.completed, size-sw.completed)
	ob.add(sess, reply, outAnnounce)

	if count > 0 {
		h.fanOut(&ob, sw, p, offers, count)
	}
	if h.tracing() {
		h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: announce",
			slog.Attr{Key: "info_hash", Value: hexID(infoHash)},
			slog.Attr{Key: "peer_id", Value: hexID(peerID)},
			slog.Bool("completed", completed),
			slog.Int("swarm_size", size),
			slog.Int("offers_sent", count))
	}
	return nil
}

// fanOut sends offers[0:count] to count other members of sw (count < len(sw.members)), with
// wt-tracker's selection: everybody in array order when there is an offer for every other
// member, else a contiguous window from a random start, skipping the announcer. Sent
// buffers are set to nil in offers and handed to ob. Called with h.mu held.
func (h *Hub) fanOut(ob *outbox, sw *swarm, from *peer, offers [][]byte, count int) {
	send := func(i int, to *peer) {
		ob.add(to.sess, offers[i], outOffer)
		offers[i] = nil
		h.met.offersRelayed.Inc()
	}
	members := sw.members
	if count == len(members)-1 {
		i := 0
		for _, ms := range members {
			if ms.peer != from {
				send(i, ms.peer)
				i++
			}
		}
		return
	}
	idx := h.rng.IntN(len(members))
	for i := 0; i < count; {
		if to := members[idx].peer; to != from {
			send(i, to)
			i++
		}
		idx++
		if idx == len(members) {
			idx = 0
		}
	}
}

// validID reports an id an announce may store: a binary string of at most MaxIDLength
// bytes.
func validID(id *wire.ID) bool {
	return id.IsBinary() && len(id.Bin) <= MaxIDLength
}

// clampCount converts an integral numwant to a count: negative values count as 0 and
// huge ones are capped (they only take part in a min).
func clampCount(numwant float64) int {
	return int(math.Max(0, math.Min(numwant, math.MaxInt32)))
}

// stop handles event "stopped" (wt-tracker processStop): the peer leaves that swarm, and
// the hub when it has no swarm left. No reply. Any connection may stop any peer_id, as in
// wt-tracker.
func (h *Hub) stop(m *wire.Message) error {
	h.met.in[inStopped].Inc()
	if m.PeerID.Kind != wire.KindString {
		return clientError(errStopPeerID)
	}
	if !m.PeerID.IsBinary() || !m.InfoHash.IsBinary() {
		return nil // cannot name a stored peer or swarm
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sw := h.swarms[string(m.InfoHash.Bin)]
	if sw == nil {
		return nil
	}
	p := h.peers[string(m.PeerID.Bin)]
	if p == nil {
		return nil
	}
	ms := p.find(sw)
	if ms == nil {
		return nil
	}
	h.leave(ms)
	if len(p.memberships) == 0 {
		h.removePeer(p)
	}
	if h.tracing() {
		h.trace("tracker: stopped", slog.Attr{Key: "info_hash", Value: hexID(m.InfoHash.Bin)}, slog.Attr{Key: "peer_id", Value: hexID(m.PeerID.Bin)})
	}
	return nil
}
