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
