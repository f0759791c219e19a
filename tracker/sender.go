package tracker

// Sender is the hub's view of one connection: how it hands over outgoing frames.
//
// Contract (the hub relies on it):
//   - Send never blocks and never writes to the network on the caller's goroutine: the hub
//     may call it while holding its own lock. It only enqueues msg on the connection's
//     bounded send queue; the connection's writer goroutine does the write.
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
