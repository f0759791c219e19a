package wsframe

import (
	"crypto/sha1" //nolint:gosec // RFC 6455 mandates SHA-1 for Sec-WebSocket-Accept
	"encoding/base64"
	"strings"
)

// acceptGUID is RFC 6455's fixed GUID for Sec-WebSocket-Accept.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// DeflateResponse is the Sec-WebSocket-Extensions value the tracker answers a
// permessage-deflate offer with: no context takeover in either direction, so neither
// side keeps a 32 KiB window per connection between messages.
const DeflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// AcceptKey returns the Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ValidKey reports whether a Sec-WebSocket-Key is the base64 of 16 bytes.
func ValidKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// OffersDeflate reports whether the Sec-WebSocket-Extensions values offer
// permessage-deflate. Its parameters need no answer: the tracker sends every message
// uncompressed (so any server window size is honoured) and inflates the client's
// messages with a full 32 KiB window, which serves any client_max_window_bits.
func OffersDeflate(values []string) bool {
	for _, v := range values {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				return true
			}
		}
	}
	return false
}

// FirstProtocol returns the first token of the Sec-WebSocket-Protocol values, or "" when
// there is none or it is not an RFC 7230 token (it is echoed into the response). uWS
// echoes the requested protocol, and a browser accepts exactly one of its offers.
func FirstProtocol(values []string) string {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				if !isToken(t) {
					return ""
				}
				return t
			}
		}
	}
	return ""
}

// isToken reports whether s is an RFC 7230 token (tchar only).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return len(s) > 0
}

// AppendResponse appends the 101 Switching Protocols response. protocol and the deflate
// flag come from FirstProtocol and OffersDeflate.
func AppendResponse(dst []byte, key, protocol string, deflate bool) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = append(dst, AcceptKey(key)...)
	dst = append(dst, "\r\n"...)
	if protocol != "" {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		dst = append(dst, protocol...)
		dst = append(dst, "\r\n"...)
	}
	if deflate {
		dst = append(dst, "Sec-WebSocket-Extensions: "+DeflateResponse+"\r\n"...)
	}
	return append(dst, "\r\n"...)
}
