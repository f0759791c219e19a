// Package wsframe is the server side of RFC 6455 framing and of the opening handshake's
// header checks, for the tracker's event-loop transport. It is pure: it parses and builds
// bytes, and does no I/O, no allocation on the frame path and no logging.
//
// The tracker's event loop reads whatever the socket has into a buffer, calls ParseHeader
// to learn whether a whole frame is there, unmasks the payload in place with Unmask and
// hands text payloads on; outgoing frames are a header from AppendHeader followed by the
// payload (servers never mask).
package wsframe

import (
	"encoding/binary"
	"errors"
)

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Close codes the tracker sends (RFC 6455 section 7.4.1).
const (
	CloseNormal            = 1000
	CloseGoingAway         = 1001
	CloseProtocolError     = 1002
	CloseUnsupportedData   = 1003
	CloseNoStatus          = 1005
	CloseInvalidPayload    = 1007
	ClosePolicyViolation   = 1008
	CloseMessageTooBig     = 1009
	CloseInternalServerErr = 1011
)

// MaxHeaderLen is the longest frame header: 2 bytes, 8 of extended length, 4 of mask key.
const MaxHeaderLen = 14

// MaxControlPayload is the largest payload of a control frame.
const MaxControlPayload = 125

// Header is one parsed frame header.
type Header struct {
	Fin    bool
	RSV1   bool // "compressed" under permessage-deflate (first frame of a message only)
	RSV23  bool // RSV2 or RSV3: no extension the tracker accepts uses them
	Opcode byte
	Masked bool
	Mask   [4]byte
	Length uint64 // payload length
}

// IsControl reports whether the frame is a control frame (close, ping, pong).
func (h *Header) IsControl() bool { return h.Opcode&0x8 != 0 }

// Errors of ParseHeader. Each is a protocol violation that closes the connection with
// CloseProtocolError.
var (
	ErrLengthForm = errors.New("websocket: payload length not in its shortest form or above 2^63")
	ErrOpcode     = errors.New("websocket: reserved opcode")
	ErrControl    = errors.New("websocket: fragmented or oversized control frame")
)

// ParseHeader parses the frame header at the start of b. It returns the header and its
// length in bytes, or n == 0 when b does not yet hold the whole header. A header that
// breaks RFC 6455 (reserved opcode, a control frame that is fragmented or longer than
// 125 bytes, a length not in its minimal form) is an error; masking and RSV bits are left
// to the caller, which knows what the connection negotiated.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.RSV1 = b0&0x40 != 0
	h.RSV23 = b0&0x30 != 0
	h.Opcode = b0 & 0x0F
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := uint64(b1 & 0x7F); l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Length = uint64(binary.BigEndian.Uint16(b[2:4]))
		if h.Length < 126 {
			return h, 0, ErrLengthForm
		}
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		h.Length = binary.BigEndian.Uint64(b[2:10])
		if h.Length <= 0xFFFF || h.Length>>63 != 0 {
			return h, 0, ErrLengthForm
		}
		n = 10
	default:
		h.Length = l
	}
	switch h.Opcode {
	case OpContinuation, OpText, OpBinary:
	case OpClose, OpPing, OpPong:
		if !h.Fin || h.Length > MaxControlPayload {
			return h, 0, ErrControl
		}
	default:
		return h, 0, ErrOpcode
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// Unmask XORs p with the masking key in place; pos is the offset of p[0] within the frame's
// payload (0 unless the payload is unmasked in pieces). It returns the offset after p.
func Unmask(mask [4]byte, pos int, p []byte) int {
	if len(p) == 0 {
		return pos
	}
	// Rotate the key so that key[0] applies to p[0], then work 8 bytes at a time.
	var key [4]byte
	for i := range key {
		key[i] = mask[(pos+i)&3]
	}
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := binary.LittleEndian.Uint64(p[i:])
		binary.LittleEndian.PutUint64(p[i:], v^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
	return pos + len(p)
}

// AppendHeader appends an unmasked server frame header with FIN set for a payload of
// length n.
func AppendHeader(dst []byte, opcode byte, n int) []byte {
	return appendHeader(dst, 0x80|opcode&0x0F, 0, n)
}

// AppendClientHeader appends a masked client frame header (the load generator and tests
// play the client): b0 is the first byte as given (FIN, RSV bits, opcode), then the
// length of an n-byte payload and the masking key. The payload that follows must be XORed
// with mask; Unmask does that, masking being its own inverse.
func AppendClientHeader(dst []byte, b0 byte, n int, mask [4]byte) []byte {
	return append(appendHeader(dst, b0, 0x80, n), mask[:]...)
}

// appendHeader appends b0 and the payload length in its shortest form, with maskBit
// (0x80 or 0) in the length byte.
func appendHeader(dst []byte, b0, maskBit byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, b0, maskBit|byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, maskBit|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, maskBit|127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// HeaderLen is the length of the header AppendHeader writes for a payload of n bytes.
func HeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	default:
		return 10
	}
}

// AppendClose appends a whole close frame carrying code and text (cut to fit the 125-byte
// control payload). Code 0 sends an empty close payload.
func AppendClose(dst []byte, code int, text string) []byte {
	if code == 0 {
		return AppendHeader(dst, OpClose, 0)
	}
	if len(text) > MaxControlPayload-2 {
		text = text[:MaxControlPayload-2]
	}
	dst = AppendHeader(dst, OpClose, 2+len(text))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, text...)
}

// ParseClosePayload returns the code of a received close frame's payload: CloseNoStatus
// for an empty payload, and ok == false for a payload that RFC 6455 forbids (one byte, or
// a code that must not appear on the wire).
func ParseClosePayload(p []byte) (code int, ok bool) {
	switch len(p) {
	case 0:
		return CloseNoStatus, true
	case 1:
		return 0, false
	}
	code = int(binary.BigEndian.Uint16(p))
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return code, true
	}
	return code, false
}
