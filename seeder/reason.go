package seeder

// closeReason says why a peer connection was dropped. It is a log attribute and the
// "reason" label of swarmcast_seeder_peer_closed_total.
type closeReason uint8

// Close reasons. The zero value is reasonUnknown.
const (
	reasonUnknown closeReason = iota
	reasonShutdown
	reasonPeerClosed
	reasonICEFailed
	reasonIdle
	reasonProtocolError
	reasonOversized
	reasonWriteTimeout
	reasonWriteError
	numReasons
)

var reasonNames = [numReasons]string{"unknown", "shutdown", "peer_closed", "ice_failed", "idle", "protocol_error", "oversized", "write_timeout", "write_error"}

// String returns the metric label of the reason.
func (r closeReason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}
