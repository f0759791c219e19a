package loadtest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"swarmcast/tracker/wsframe"
)

// IDLen is the length of every id the generator sends (info_hash, peer_id, offer_id):
// 20 ASCII characters, as P2P Media Loader uses.
const IDLen = 20

// Slot names the id that goes into a hole of a template.
type Slot uint8

// The slots of the message templates. Offer ids use SlotOfferID+i for offer i.
const (
	SlotInfoHash Slot = iota
	SlotPeerID
	SlotToPeerID
	SlotOfferID // answer's offer_id, or the first offer of an announce
)

// part is a piece of a message: a literal, or a 20-byte hole for an id.
type part struct {
	lit  string
	slot Slot
	hole bool
}

func lit(s string) part { return part{lit: s} }
func hole(s Slot) part  { return part{slot: s, hole: true} }

// Template is a complete client WebSocket frame (header, zero masking key, payload) with
// holes at known offsets for ids. Fill copies it and writes the ids in.
type Template struct {
	frame []byte
	holes []holeAt
}

type holeAt struct {
	slot Slot
	off  int
}

// Len is the frame's length in bytes.
func (t *Template) Len() int { return len(t.frame) }

// AppendFill appends the frame to dst with every hole set from ids(slot), which must
// return IDLen bytes.
func (t *Template) AppendFill(dst []byte, ids func(Slot) []byte) []byte {
	start := len(dst)
	dst = append(dst, t.frame...)
	f := dst[start:]
	for _, h := range t.holes {
		copy(f[h.off:h.off+IDLen], ids(h.slot))
	}
	return dst
}

// storedLiteralMax is the length under which a literal of a compressed template travels
// uncompressed, in the stored block of the ids around it.
const storedLiteralMax = 128

// buildTemplate assembles parts into a text frame. With deflate, literals are compressed
// and holes travel in stored blocks, giving a valid permessage-deflate payload whose ids
// can be overwritten in place.
func buildTemplate(ps []part, deflate bool) (*Template, error) {
	var payload []byte
	var holes []holeAt
	if !deflate {
		for _, p := range ps {
			if p.hole {
				holes = append(holes, holeAt{p.slot, len(payload)})
				payload = append(payload, bytes.Repeat([]byte{'0'}, IDLen)...)
				continue
			}
			payload = append(payload, p.lit...)
		}
	} else {
		var buf bytes.Buffer
		// history is the message so far with every hole as NUL bytes. Each long literal
		// is compressed with it as the preset dictionary, so it may refer back to
		// earlier text (as a browser's whole-message compression would) but never into
		// a hole: no literal contains a NUL, so no match can cover one. Holes and the
		// short literals around them travel together in one stored block, so a message
		// has about as many Huffman tables for the tracker to build as a browser's
		// single-stream message (one per long literal, not one per gap between ids).
		var history, run []byte
		var runHoles []holeAt
		flushRun := func() {
			if len(run) == 0 {
				return
			}
			// A stored block: 3 header bits (not final, type 00) padded to a byte, LEN
			// and NLEN little-endian, then the raw bytes. When the output so far ends
			// with a sync flush, that flush's empty stored block (header already in the
			// stream, then 00 00 ff ff) becomes this block by rewriting its LEN/NLEN;
			// otherwise (at the start) a header byte is written.
			if bytes.HasSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}) {
				buf.Truncate(buf.Len() - 4)
			} else {
				buf.WriteByte(0)
			}
			var ln [4]byte
			binary.LittleEndian.PutUint16(ln[0:], uint16(len(run)))
			binary.LittleEndian.PutUint16(ln[2:], ^uint16(len(run)))
			buf.Write(ln[:])
			for _, h := range runHoles {
				holes = append(holes, holeAt{h.slot, buf.Len() + h.off})
			}
			buf.Write(run)
			run, runHoles = nil, nil
		}
		for _, p := range ps {
			if p.hole {
				runHoles = append(runHoles, holeAt{p.slot, len(run)})
				run = append(run, bytes.Repeat([]byte{'0'}, IDLen)...)
				history = append(history, make([]byte, IDLen)...)
				continue
			}
			if p.lit == "" {
				continue
			}
			if strings.IndexByte(p.lit, 0) >= 0 {
				return nil, fmt.Errorf("template literal contains a NUL byte")
			}
			if len(p.lit) < storedLiteralMax && len(run)+len(p.lit) <= 0xFFFF {
				run = append(run, p.lit...)
				history = append(history, p.lit...)
				continue
			}
			flushRun()
			w, err := flate.NewWriterDict(&buf, flate.BestCompression, history)
			history = append(history, p.lit...)
			if err != nil {
				return nil, fmt.Errorf("deflate: %w", err)
			}
			if _, err := w.Write([]byte(p.lit)); err != nil {
				return nil, fmt.Errorf("deflate: %w", err)
			}
			if err := w.Flush(); err != nil {
				return nil, fmt.Errorf("deflate: %w", err)
			}
		}
		endsStored := len(run) > 0
		flushRun()
		payload = buf.Bytes()
		// RFC 7692: the message ends with an empty stored block whose LEN/NLEN (00 00 ff ff)
		// are removed; the receiver appends them again.
		if len(payload) == 0 || endsStored {
			payload = append(payload, 0)
		} else {
			if !bytes.HasSuffix(payload, []byte{0, 0, 0xff, 0xff}) {
				return nil, fmt.Errorf("deflate: sync flush did not end with 00 00 ff ff")
			}
			payload = payload[:len(payload)-4]
		}
	}
	hdr := frameHeader(opText, deflate, len(payload))
	frame := append(hdr, payload...)
	for i := range holes {
		holes[i].off += len(hdr)
	}
	return &Template{frame: frame, holes: holes}, nil
}

// WebSocket opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// frameHeader returns the header of a final, masked client frame with the all-zero
// masking key, so the payload goes out unchanged (RFC 6455 §5.3 allows any key value).
func frameHeader(op byte, rsv1 bool, n int) []byte {
	b0 := 0x80 | op
	if rsv1 {
		b0 |= 0x40
	}
	return wsframe.AppendClientHeader(make([]byte, 0, wsframe.MaxHeaderLen), b0, n, [4]byte{})
}

// appendFrame appends a masked (zero key) client frame carrying payload.
func appendFrame(dst []byte, op byte, rsv1 bool, payload []byte) []byte {
	dst = append(dst, frameHeader(op, rsv1, len(payload))...)
	return append(dst, payload...)
}

// jsonString returns s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a Go string always marshals
	return string(b)
}

// realisticSDP is a Chrome-style WebRTC data-channel offer of about 1.3 KB: host, srflx
// and TCP candidates, ICE credentials and a DTLS fingerprint, as browsers send.
var realisticSDP = strings.Join([]string{
	"v=0",
	"o=- 7829348716402238151 2 IN IP4 127.0.0.1",
	"s=-",
	"t=0 0",
	"a=group:BUNDLE 0",
	"a=extmap-allow-mixed",
	"a=msid-semantic: WMS",
	"m=application 53214 UDP/DTLS/SCTP webrtc-datachannel",
	"c=IN IP4 203.0.113.57",
	"a=candidate:2999745851 1 udp 2122260223 192.168.1.34 53214 typ host generation 0 network-id 1 network-cost 10",
	"a=candidate:1606961068 1 udp 2122194687 10.8.0.6 60417 typ host generation 0 network-id 2 network-cost 50",
	"a=candidate:3504183474 1 udp 2122129151 172.17.0.1 45873 typ host generation 0 network-id 3",
	"a=candidate:842163049 1 udp 1686052607 203.0.113.57 53214 typ srflx raddr 192.168.1.34 rport 53214 generation 0 network-id 1 network-cost 10",
	"a=candidate:3917349026 1 udp 1685987071 198.51.100.23 41289 typ srflx raddr 10.8.0.6 rport 60417 generation 0 network-id 2 network-cost 50",
	"a=candidate:4233069003 1 tcp 1518280447 192.168.1.34 9 typ host tcptype active generation 0 network-id 1 network-cost 10",
	"a=candidate:2808123356 1 tcp 1518214911 10.8.0.6 9 typ host tcptype active generation 0 network-id 2 network-cost 50",
	"a=ice-ufrag:Xq3v",
	"a=ice-pwd:b7Jk2mWq9LpZr4Tn8VhYc1Fd",
	"a=ice-options:trickle",
	"a=fingerprint:sha-256 4F:1A:9C:22:7E:B0:53:D8:61:0C:AE:37:95:F4:2B:88:C6:19:E3:70:5D:A2:0F:BB:48:96:13:7C:E5:2A:D1:60",
	"a=setup:actpass",
	"a=mid:0",
	"a=sctp-port:5000",
	"a=max-message-size:262144",
	"",
}, "\r\n")

// smallSDP is a minimal SDP of 47 bytes, the size aquatic_ws_load_test sends.
var smallSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=\r\n"

// templates are the pre-built frames of one run.
type templates struct {
	announceStarted *Template // open mode, first announce
	announce        *Template // open mode, later announces (no event)
	closedStarted   *Template // closed mode: event started, left 50
	closedCompleted *Template // closed mode: event completed, left 0
	answer          *Template // open-mode answer
	closedAnswer    *Template // closed-mode answer (numwant 0, offers null)
	sdp             string    // JSON literal of the SDP, for answers built by hand
}

// offerParts returns `"offers":[…]` with n offers whose offer_ids are holes.
func offerParts(n int, sdpJSON string) []part {
	ps := []part{lit(`"offers":[`)}
	for i := 0; i < n; i++ {
		sep := ""
		if i > 0 {
			sep = ","
		}
		ps = append(ps, lit(sep+`{"offer":{"type":"offer","sdp":`+sdpJSON+`},"offer_id":"`), hole(SlotOfferID+Slot(i)), lit(`"}`))
	}
	return append(ps, lit(`]`))
}

// merge joins adjacent literals so that each compressed literal is as long as possible.
func merge(ps []part) []part {
	var out []part
	for _, p := range ps {
		if !p.hole && len(out) > 0 && !out[len(out)-1].hole {
			out[len(out)-1].lit += p.lit
			continue
		}
		out = append(out, p)
	}
	return out
}

// announceParts is an open-mode announce in the key order of bittorrent-tracker's client.
func announceParts(started bool, offers, numwant int, sdpJSON string) []part {
	ev := ""
	if started {
		ev = `"event":"started",`
	}
	ps := []part{lit(fmt.Sprintf(`{"numwant":%d,"uploaded":0,"downloaded":0,"left":1000000,%s"action":"announce","info_hash":"`, numwant, ev)),
		hole(SlotInfoHash), lit(`","peer_id":"`), hole(SlotPeerID), lit(`"`)}
	if offers > 0 {
		ps = append(ps, lit(","))
		ps = append(ps, offerParts(offers, sdpJSON)...)
	}
	return merge(append(ps, lit("}")))
}

// closedAnnounceParts is aquatic_ws_load_test's announce: an event, offers, numwant, and
// null answer, to_peer_id and offer_id.
func closedAnnounceParts(completed bool, offers, numwant int, sdpJSON string) []part {
	ev, left := "started", 50
	if completed {
		ev, left = "completed", 0
	}
	ps := []part{lit(`{"action":"announce","info_hash":"`), hole(SlotInfoHash), lit(`","peer_id":"`), hole(SlotPeerID),
		lit(fmt.Sprintf(`","event":"%s","left":%d,"numwant":%d,`, ev, left, numwant))}
	ps = append(ps, offerParts(offers, sdpJSON)...)
	return merge(append(ps, lit(`,"answer":null,"to_peer_id":null,"offer_id":null}`)))
}

// answerParts is an answer in the key order of bittorrent-tracker's client; closed adds
// aquatic_ws_load_test's numwant 0 and null offers.
func answerParts(closed bool, sdpJSON string) []part {
	extra := ""
	if closed {
		extra = `"numwant":0,"offers":null,`
	}
	return merge([]part{lit(`{"action":"announce","info_hash":"`), hole(SlotInfoHash), lit(`","peer_id":"`), hole(SlotPeerID),
		lit(`",` + extra + `"to_peer_id":"`), hole(SlotToPeerID),
		lit(`","answer":{"type":"answer","sdp":` + sdpJSON + `},"offer_id":"`), hole(SlotOfferID), lit(`"}`)})
}

// buildTemplates builds every frame a run sends.
func buildTemplates(c *Config) (*templates, error) {
	sdp := realisticSDP
	if c.SmallSDP {
		sdp = smallSDP
	}
	sj := jsonString(sdp)
	t := &templates{sdp: sj}
	var err error
	mk := func(dst **Template, ps []part) {
		if err == nil {
			*dst, err = buildTemplate(ps, c.Deflate)
		}
	}
	mk(&t.announceStarted, announceParts(true, c.Offers, c.Numwant, sj))
	mk(&t.announce, announceParts(false, c.Offers, c.Numwant, sj))
	mk(&t.answer, answerParts(false, sj))
	if c.Mode == ModeClosed {
		mk(&t.closedStarted, closedAnnounceParts(false, c.Offers, c.Numwant, sj))
		mk(&t.closedCompleted, closedAnnounceParts(true, c.Offers, c.Numwant, sj))
		mk(&t.closedAnswer, answerParts(true, sj))
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// putID writes a 20-character id: prefix (at most 8 bytes) then n in base 36, zero padded.
func putID(dst []byte, prefix string, n uint64) {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	copy(dst, prefix)
	for i := IDLen - 1; i >= len(prefix); i-- {
		dst[i] = digits[n%36]
		n /= 36
	}
}
