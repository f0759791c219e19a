// Package wire is the WebTorrent tracker's JSON codec: it decodes one WebSocket text frame
// into a Message and appends the tracker's outgoing messages to a caller's []byte, byte for
// byte as Novage/wt-tracker produces them with JSON.parse and JSON.stringify.
//
// The package is pure: no I/O, no goroutines, no logging. Everything is hand-written
// (no encoding/json reflection) so that decoding allocates little and the announce-reply
// encoder allocates nothing.
//
// # JavaScript semantics reproduced here
//
//   - ids (info_hash, peer_id, to_peer_id) are JS "binary strings": every UTF-16 code unit
//     is one byte 0x00–0xFF. Decode maps each code point to a byte (ID.Bin); an id holding a
//     code point above U+00FF is flagged Wide and keeps its raw token.
//   - strings are re-encoded like JSON.stringify: the short escapes \b \t \n \f \r \" \\,
//     other control characters as lowercase \u00xx, lone surrogates as lowercase \udxxx,
//     everything else (including <, >, &, U+2028, U+2029 and DEL) as UTF-8.
//   - invalid UTF-8 becomes U+FFFD per maximal subpart, as Node's StringDecoder does before
//     JSON.parse sees the text.
//   - numbers are IEEE doubles printed like Number.prototype.toString (1e21, 1e-7, 0 for -0,
//     null for numbers that overflow to Infinity).
//   - objects keep the first position of a duplicated key with the last value, and put
//     array-index keys ("0", "7", "4294967294") first in ascending order, as JS property
//     order does.
//
// # Limits
//
// Nesting deeper than MaxDepth is a DecodeError (JSON.parse has no such limit, but
// JSON.stringify would overflow the stack on the way out). Frame size is bounded by the
// WebSocket layer (websockets.maxPayloadLength).
//
// # Buffers
//
// Outgoing frames are built in buffers from GetBuffer. Whoever finally owns a frame (the
// connection's writer goroutine, after writing it to the socket) returns it with PutBuffer;
// the hub returns frames it built but did not send.
package wire
