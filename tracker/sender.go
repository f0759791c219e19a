package tracker

// Sender is the hub's view of one connection: how it hands over outgoing frames.
//
// Contract (the hub relies on it):
//   - Send never blocks. It either queues msg on the connection's bounded send queue (the
//     goroutine transport's writer writes it) or makes one non-blocking write and queues
//     what the socket did not take (the event loops). The hub calls it only after
//     releasing its lock.
//   - Send takes ownership of msg; the caller must not touch it afterwards.
//   - Send returns false when the frame was dropped (queue full, or connection closing);
//     the hub counts such drops.
type Sender interface {
	Send(msg []byte) bool
}

// Relayer is implemented by connections whose transport batches writes (the event loops).
// While the hub handles a message from such a connection, every frame that message makes
// (the reply, the relayed offers, a forwarded answer) goes through the sender's Relay
// instead of the destination's Send: the loop collects them and writes each destination's
// frames in one go after the loop's current batch of events. Relay follows Send's
// contract (no blocking, ownership of msg, false on a drop).
type Relayer interface {
	Relay(to Sender, msg []byte) bool
}
