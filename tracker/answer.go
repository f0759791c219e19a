package tracker

import (
	"context"
	"log/slog"

	"swarmcast/tracker/wire"
)

// answer forwards an answer to the connection of to_peer_id (wt-tracker processAnswer):
// the received object without to_peer_id, re-serialized like JSON.stringify. No reply to
// the answerer, and the answerer's swarm time is not refreshed. Unlike wt-tracker, an
// unknown to_peer_id drops the answer (counted) instead of closing the answerer's socket:
// the offerer may just have left.
func (h *Hub) answer(from *Session, m *wire.Message) error {
	h.met.in[inAnswer].Inc()
	if m.ToPeerID.Kind != wire.KindString {
		return clientError(errAnswerToPeerID)
	}
	if m.PeerID.Kind != wire.KindString {
		return clientError(errAnswerPeerID)
	}
	if !m.ToPeerID.IsBinary() {
		h.met.answersDropped.Inc()
		return nil
	}
	// Encode outside the lock: the forwarded bytes do not depend on hub state.
	frame := wire.AppendAnswer(wire.GetBuffer(wire.AnswerSize(m)), m)

	h.mu.Lock()
	to := h.peers[string(m.ToPeerID.Bin)]
	if to == nil {
		h.mu.Unlock()
		wire.PutBuffer(frame)
		h.met.answersDropped.Inc()
		if h.tracing() {
			h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: answer to unknown peer dropped",
				slog.Attr{Key: "to_peer_id", Value: hexID(m.ToPeerID.Bin)})
		}
		return nil
	}
	dst := to.sess
	h.mu.Unlock()
	h.send(from, dst, frame, outAnswer) // outside the lock: Send may write
	h.met.answersRouted.Inc()
	if h.tracing() {
		h.log.LogAttrs(context.Background(), slog.LevelDebug, "tracker: answer routed",
			slog.Attr{Key: "to_peer_id", Value: hexID(m.ToPeerID.Bin)}, slog.Int("bytes", len(frame)))
	}
	return nil
}
