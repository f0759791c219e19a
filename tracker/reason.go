package tracker

// CloseReason names why a tracker connection was closed (or a message dropped). Every
// close and drop has one; it is also the "reason" label of the close metrics, so the set is
// closed and static.
type CloseReason uint8

// Close reasons.
const (
	ReasonUnknown        CloseReason = iota
	ReasonClientClosed               // the client closed the socket or sent a close frame
	ReasonReadError                  // the connection failed while reading
	ReasonWriteError                 // a write failed or hit its deadline
	ReasonIdleTimeout                // no frame (not even a pong) within websockets.idleTimeout
	ReasonMessageTooBig              // a frame larger than websockets.maxPayloadLength
	ReasonInvalidJSON                // a frame that is not a JSON object
	ReasonProtocol                   // a message that breaks the protocol (wt-tracker closes on these too)
	ReasonBinaryFrame                // a binary frame (the protocol is text only)
	ReasonSlowConsumer               // the bounded send queue overflowed
	ReasonServerShutdown             // the server is shutting down (close code 1001)
	ReasonPeerTakeover               // not a close: a peer_id moved to another connection
	numCloseReasons
)

var closeReasonNames = [...]string{
	ReasonUnknown:        "unknown",
	ReasonClientClosed:   "client_closed",
	ReasonReadError:      "read_error",
	ReasonWriteError:     "write_error",
	ReasonIdleTimeout:    "idle_timeout",
	ReasonMessageTooBig:  "message_too_big",
	ReasonInvalidJSON:    "invalid_json",
	ReasonProtocol:       "protocol_error",
	ReasonBinaryFrame:    "binary_frame",
	ReasonSlowConsumer:   "slow_consumer",
	ReasonServerShutdown: "server_shutdown",
	ReasonPeerTakeover:   "peer_takeover",
}

// String returns the reason's metric label.
func (r CloseReason) String() string {
	if int(r) < len(closeReasonNames) {
		return closeReasonNames[r]
	}
	return closeReasonNames[ReasonUnknown]
}

// ClientError is an error whose text may be shown to the client (in a WebSocket close
// frame). No other error text ever goes on the wire.
type ClientError struct {
	Reason CloseReason
	Msg    string // static text, never built from request data
}

func (e *ClientError) Error() string { return e.Msg }
