package tracker

import (
	"slices"
	"time"
)

// The hub's state mirrors wt-tracker's FastTracker (src/fast-tracker.ts at HEAD) closely
// enough that the order of peers inside a swarm, which decides who receives offers, evolves
// identically: a swarm is an array with swap-remove, peers are visited in creation order on
// expiry, and a connection's peers newest first on disconnect.
//
// Every field of swarm, peer and membership is guarded by Hub.mu.

// swarm is one info_hash.
type swarm struct {
	infoHash  string        // binary (one byte per JS code unit)
	members   []*membership // wt-tracker's swarm.peers: order matters for offer fan-out
	completed int           // members with completed set
	// prev/next link the swarms in creation order (JS Map iteration order), for a full
	// scrape and Stats.
	prev, next *swarm
}

// peer is one peer_id; it belongs to one session and may be in many swarms.
type peer struct {
	id          string // binary
	sess        *Session
	memberships []*membership
	// sessPrev/sessNext link the session's peers, newest first.
	sessPrev, sessNext *peer
	// prev/next link all peers in creation order (JS Map iteration order), for expiry.
	prev, next *peer
}

// membership is a peer's presence in one swarm (wt-tracker's SwarmOnPeer).
type membership struct {
	swarm     *swarm
	peer      *peer
	index     int       // position in swarm.members
	announced time.Time // last announce in this swarm (wt-tracker's swarmTime)
	completed bool      // sticky: never goes back to false
}

func (p *peer) find(sw *swarm) *membership {
	for _, ms := range p.memberships {
		if ms.swarm == sw {
			return ms
		}
	}
	return nil
}

// getOrCreateSwarm returns the swarm of infoHash, creating it when needed.
func (h *Hub) getOrCreateSwarm(infoHash []byte) *swarm {
	if sw := h.swarms[string(infoHash)]; sw != nil {
		return sw
	}
	sw := &swarm{infoHash: string(infoHash), prev: h.swarmTail}
	if h.swarmTail != nil {
		h.swarmTail.next = sw
	} else {
		h.swarmHead = sw
	}
	h.swarmTail = sw
	h.swarms[sw.infoHash] = sw
	h.numSwarms.Store(int64(len(h.swarms)))
	return sw
}

func (h *Hub) deleteSwarm(sw *swarm) {
	if sw.prev != nil {
		sw.prev.next = sw.next
	} else {
		h.swarmHead = sw.next
	}
	if sw.next != nil {
		sw.next.prev = sw.prev
	} else {
		h.swarmTail = sw.prev
	}
	sw.prev, sw.next = nil, nil
	delete(h.swarms, sw.infoHash)
	h.numSwarms.Store(int64(len(h.swarms)))
}

// newPeer creates a peer on sess, first in the session's list and last in the hub's.
func (h *Hub) newPeer(sess *Session, id []byte) *peer {
	p := &peer{id: string(id), sess: sess, sessNext: sess.peers, prev: h.peerTail}
	if sess.peers != nil {
		sess.peers.sessPrev = p
	}
	sess.peers = p
	if h.peerTail != nil {
		h.peerTail.next = p
	} else {
		h.peerHead = p
	}
	h.peerTail = p
	h.peers[p.id] = p
	return p
}

// join adds p to sw.
func (h *Hub) join(sw *swarm, p *peer, now time.Time, completed bool) {
	ms := &membership{swarm: sw, peer: p, index: len(sw.members), announced: now, completed: completed}
	sw.members = append(sw.members, ms)
	if completed {
		sw.completed++
	}
	p.memberships = append(p.memberships, ms)
	h.numPeers.Add(1)
}

// leave removes ms from its swarm (swap-remove, as wt-tracker) and from its peer; an empty
// swarm is deleted. The peer itself stays, even without memberships.
func (h *Hub) leave(ms *membership) {
	sw := ms.swarm
	if ms.completed {
		sw.completed--
	}
	last := len(sw.members) - 1
	moved := sw.members[last]
	sw.members[last] = nil
	sw.members = sw.members[:last]
	if ms.index < last {
		sw.members[ms.index] = moved
		moved.index = ms.index
	}
	p := ms.peer
	for i, x := range p.memberships {
		if x == ms {
			p.memberships = slices.Delete(p.memberships, i, i+1) // clears the freed slot
			break
		}
	}
	h.numPeers.Add(-1)
	if len(sw.members) == 0 {
		h.deleteSwarm(sw)
	}
}

// removePeer takes p out of every swarm, its session and the hub.
func (h *Hub) removePeer(p *peer) {
	for len(p.memberships) > 0 {
		h.leave(p.memberships[len(p.memberships)-1])
	}
	s := p.sess
	if p.sessPrev != nil {
		p.sessPrev.sessNext = p.sessNext
	} else if s.peers == p {
		s.peers = p.sessNext
	}
	if p.sessNext != nil {
		p.sessNext.sessPrev = p.sessPrev
	}
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		h.peerHead = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		h.peerTail = p.prev
	}
	p.sessPrev, p.sessNext, p.prev, p.next = nil, nil, nil, nil
	delete(h.peers, p.id)
}
