package wire

import "strconv"

// AppendAnnounceReply appends the reply to an announce, with wt-tracker's key order:
//
//	{"action":"announce","interval":20,"info_hash":"…","complete":1,"incomplete":2}
//
// infoHash is the binary info_hash. It does not allocate when dst has room.
func AppendAnnounceReply[T ~string | ~[]byte](dst []byte, interval int, infoHash T, complete, incomplete int) []byte {
	dst = append(dst, `{"action":"announce","interval":`...)
	dst = strconv.AppendInt(dst, int64(interval), 10)
	dst = append(dst, `,"info_hash":`...)
	dst = AppendBinaryString(dst, infoHash)
	dst = append(dst, `,"complete":`...)
	dst = strconv.AppendInt(dst, int64(complete), 10)
	dst = append(dst, `,"incomplete":`...)
	dst = strconv.AppendInt(dst, int64(incomplete), 10)
	return append(dst, '}')
}

// OfferItem is one element of an announce's "offers" array. A nil field is undefined in
// JavaScript terms and is left out of the relayed offer.
type OfferItem struct {
	OfferID Raw // the item's "offer_id", any JSON value
	SDP     Raw // the item's "offer"."sdp", any JSON value
}

// ParseOfferItem checks one offers element as wt-tracker does: it must be an object
// (ErrOfferItem) whose "offer" is an object (ErrOfferField). Arrays count as objects in
// JavaScript, so an array item fails with ErrOfferField and an array "offer" has no sdp.
func ParseOfferItem(item Raw) (OfferItem, error) {
	switch item[0] {
	case '{':
	case '[':
		return OfferItem{}, ErrOfferField
	default:
		return OfferItem{}, ErrOfferItem
	}
	// One pass over the (validated) item, descending into "offer" for its "sdp".
	var it OfferItem
	var offer byte // first byte of the last "offer" value; 0 when absent
	s := scanner{buf: item, pos: 1, trusted: true}
	s.ws()
	for item[s.pos] != '}' {
		kstart := s.pos
		s.str()
		key := item[kstart:s.pos]
		s.colon()
		vstart := s.pos
		switch {
		case keyIs(key, "offer"):
			offer = item[s.pos]
			it.SDP = nil
			if offer == '{' {
				it.SDP = s.objectMember("sdp")
			} else {
				s.value()
			}
		case keyIs(key, "offer_id"):
			s.value()
			it.OfferID = item[vstart:s.pos]
		default:
			s.value()
		}
		s.ws()
		if item[s.pos] == ',' {
			s.pos++
			s.ws()
		}
	}
	if offer != '{' && offer != '[' {
		return OfferItem{}, ErrOfferField
	}
	return it, nil
}

// OfferSize estimates the bytes AppendOffer writes for it with ids of the given lengths,
// for sizing a buffer (append still grows it when the estimate is short).
func OfferSize(it OfferItem, infoHashLen, peerIDLen int) int {
	return 96 + 2*(infoHashLen+peerIDLen) + len(it.OfferID) + len(it.SDP)
}

// AppendOffer appends the offer relayed to one receiver, with wt-tracker's key order:
//
//	{"action":"announce","info_hash":"…","offer_id":…,"peer_id":"…","offer":{"type":"offer","sdp":…}}
//
// infoHash and peerID are the announcer's binary ids. Other members of the item and of its
// "offer" are dropped, and "type" is always "offer".
func AppendOffer[T ~string | ~[]byte](dst []byte, infoHash, peerID T, it OfferItem) []byte {
	dst = append(dst, `{"action":"announce","info_hash":`...)
	dst = AppendBinaryString(dst, infoHash)
	if it.OfferID != nil {
		dst = append(dst, `,"offer_id":`...)
		dst = AppendCanonical(dst, it.OfferID)
	}
	dst = append(dst, `,"peer_id":`...)
	dst = AppendBinaryString(dst, peerID)
	dst = append(dst, `,"offer":{"type":"offer"`...)
	if it.SDP != nil {
		dst = append(dst, `,"sdp":`...)
		dst = AppendCanonical(dst, it.SDP)
	}
	return append(dst, "}}"...)
}

// AppendAnswer appends the answer forwarded to its target: the whole received object
// without "to_peer_id", as JSON.stringify writes it (client key order and extra members
// kept, duplicates collapsed, values re-serialized canonically).
func AppendAnswer(dst []byte, m *Message) []byte {
	return appendMembers(dst, m.Members, `"to_peer_id"`)
}

// AnswerSize estimates the bytes AppendAnswer writes for m, for sizing a buffer.
func AnswerSize(m *Message) int { return len(m.frame) + 2 }

// ScrapeFile is one entry of a scrape reply.
type ScrapeFile struct {
	InfoHash string // binary info_hash; used when Raw is nil
	Raw      Raw    // the requested string token, for ids that are not binary strings
	Complete int
	// Incomplete is the swarm size minus Complete. "downloaded" repeats Complete.
	Incomplete int
}

// AppendScrape appends a scrape reply:
//
//	{"action":"scrape","files":{"<info_hash>":{"complete":c,"incomplete":i,"downloaded":c},…}}
//
// Entries for the same info_hash are written once (JS object keys), and info_hashes that
// are array indices ("0"–"4294967294") come first in ascending order, as in JavaScript.
func AppendScrape(dst []byte, files []ScrapeFile) []byte {
	dst = append(dst, `{"action":"scrape","files":{`...)
	if len(files) == 1 {
		dst = appendScrapeFile(dst, &files[0], nil)
		return append(dst, "}}"...)
	}
	var keys []byte
	spans := make([][2]int, len(files))
	for i := range files {
		start := len(keys)
		keys = appendScrapeKey(keys, &files[i])
		spans[i] = [2]int{start, len(keys)}
	}
	key := func(i int) []byte { return keys[spans[i][0]:spans[i][1]] }
	order := memberOrder(make([]int, 0, len(files)), len(files), key)
	for n, i := range order {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendScrapeFile(dst, &files[i], key(i))
	}
	return append(dst, "}}"...)
}

func appendScrapeKey(dst []byte, f *ScrapeFile) []byte {
	if f.Raw != nil {
		return appendCanonicalString(dst, f.Raw)
	}
	return AppendBinaryString(dst, f.InfoHash)
}

func appendScrapeFile(dst []byte, f *ScrapeFile, key []byte) []byte {
	if key != nil {
		dst = append(dst, key...)
	} else {
		dst = appendScrapeKey(dst, f)
	}
	dst = append(dst, `:{"complete":`...)
	dst = strconv.AppendInt(dst, int64(f.Complete), 10)
	dst = append(dst, `,"incomplete":`...)
	dst = strconv.AppendInt(dst, int64(f.Incomplete), 10)
	dst = append(dst, `,"downloaded":`...)
	dst = strconv.AppendInt(dst, int64(f.Complete), 10)
	return append(dst, '}')
}
