package tracker

import (
	"errors"

	"swarmcast/internal/inflate"
)

// errInflatedTooBig is a compressed message that inflates past websockets.maxPayloadLength.
var errInflatedTooBig = errors.New("tracker: inflated message exceeds maxPayloadLength")

// maxKeptInflate is the largest buffer an inflater keeps between messages; a decoder
// that grew past it (one huge message) is dropped so idle loops stay small.
const maxKeptInflate = 256 << 10

// inflater decompresses permessage-deflate messages (no context takeover: every message
// starts with an empty window) with internal/inflate, about twice as fast as
// compress/flate on the 1–15 KB messages a tracker receives. One per event loop; not safe
// for concurrent use.
type inflater struct {
	d    *inflate.Decoder
	size int // the largest input or output it has seen: what its buffers hold
}

// inflate returns the decompressed message; the result is valid until the next call.
func (f *inflater) inflate(p []byte, limit int) ([]byte, error) {
	if f.d == nil || f.size > maxKeptInflate {
		f.d, f.size = new(inflate.Decoder), 0
	}
	out, err := f.d.Message(p, limit)
	f.size = max(f.size, len(out), len(p))
	if errors.Is(err, inflate.ErrTooBig) {
		f.size = limit
		return nil, errInflatedTooBig
	}
	return out, err
}
