package loadtest

import (
	"bytes"
	"errors"
)

// Kind classifies a message received from the tracker.
type Kind uint8

// The kinds of received messages.
const (
	KindOther   Kind = iota // valid JSON object the generator does not act on
	KindReply               // announce reply (has interval or complete)
	KindOffer               // relayed offer
	KindAnswer              // relayed answer
	KindFailure             // {"failure reason": …}
	KindScrape              // scrape reply
)

var kindNames = [...]string{"other", "reply", "offer", "answer", "failure", "scrape"}

func (k Kind) String() string { return kindNames[k] }

// Msg is what the generator needs from a received message. PeerID and OfferID are the
// raw JSON string literals (quotes included) of those keys, aliasing the input.
type Msg struct {
	Kind     Kind
	InfoHash []byte
	PeerID   []byte
	OfferID  []byte
}

var errBadJSON = errors.New("received message is not a JSON object")

// Scan classifies a received message by its top-level keys without decoding it: it walks
// the object's keys and skips values, so a 1.3 KB SDP costs one IndexByte pass.
func Scan(p []byte) (Msg, error) {
	var m Msg
	i := skipWS(p, 0)
	if i >= len(p) || p[i] != '{' {
		return m, errBadJSON
	}
	i++
	var hasOffer, hasAnswer, hasFailure, hasReply, isScrape bool
	for {
		i = skipWS(p, i)
		if i >= len(p) {
			return m, errBadJSON
		}
		if p[i] == '}' {
			break
		}
		if p[i] == ',' {
			i++
			continue
		}
		if p[i] != '"' {
			return m, errBadJSON
		}
		kEnd := skipString(p, i)
		if kEnd < 0 {
			return m, errBadJSON
		}
		key := p[i+1 : kEnd-1]
		i = skipWS(p, kEnd)
		if i >= len(p) || p[i] != ':' {
			return m, errBadJSON
		}
		i = skipWS(p, i+1)
		vEnd := skipValue(p, i)
		if vEnd < 0 {
			return m, errBadJSON
		}
		val := p[i:vEnd]
		notNull := !bytes.Equal(val, []byte("null"))
		switch string(key) {
		case "offer":
			hasOffer = notNull
		case "answer":
			hasAnswer = notNull
		case "failure reason":
			hasFailure = true
		case "interval", "complete":
			hasReply = true
		case "action":
			isScrape = bytes.Equal(val, []byte(`"scrape"`))
		case "info_hash":
			if val[0] == '"' {
				m.InfoHash = val
			}
		case "peer_id":
			if val[0] == '"' {
				m.PeerID = val
			}
		case "offer_id":
			if val[0] == '"' {
				m.OfferID = val
			}
		}
		i = vEnd
	}
	switch {
	case hasFailure:
		m.Kind = KindFailure
	case hasOffer:
		m.Kind = KindOffer
	case hasAnswer:
		m.Kind = KindAnswer
	case isScrape:
		m.Kind = KindScrape
	case hasReply:
		m.Kind = KindReply
	}
	return m, nil
}

func skipWS(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string literal starting at p[i] == '"', or -1.
func skipString(p []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(p[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		// Count the backslashes before the quote: an odd number escapes it.
		k := i - 1
		for k >= 0 && p[k] == '\\' {
			k--
		}
		if (i-1-k)%2 == 0 {
			return i + 1
		}
		i++
	}
}

// skipValue returns the index after the JSON value starting at p[i], or -1.
func skipValue(p []byte, i int) int {
	if i >= len(p) {
		return -1
	}
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for i < len(p) {
			switch p[i] {
			case '"':
				i = skipString(p, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		j := i
		for j < len(p) && p[j] != ',' && p[j] != '}' && p[j] != ']' && p[j] != ' ' && p[j] != '\n' && p[j] != '\r' && p[j] != '\t' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// plainID returns the content of a JSON string literal when it is exactly IDLen bytes
// without escapes, so it can be copied into a template hole; otherwise nil.
func plainID(lit []byte) []byte {
	if len(lit) != IDLen+2 {
		return nil
	}
	s := lit[1 : len(lit)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil
	}
	return s
}
