package wire

import "math"

// MaxDepth is the deepest nesting of objects and arrays Decode accepts (the frame's own
// object counts as 1).
const MaxDepth = 64

// Kind is the JSON type of a member's value; KindAbsent means the key is not in the frame.
type Kind uint8

// Value kinds.
const (
	KindAbsent Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

var kindNames = [...]string{"absent", "null", "bool", "number", "string", "array", "object"}

// String names the kind ("absent", "null", "string", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Action is the frame's "action" member.
type Action uint8

// Actions. ActionOther covers a missing action and any value other than the two strings.
const (
	ActionOther Action = iota
	ActionAnnounce
	ActionScrape
)

// Event is the frame's "event" member.
type Event uint8

// Events. EventRegular is any other string: "update", "paused", "empty", "<regular>", ""
// and so on (libtorrent, bittorrent-tracker and anacrolix/torrent versions send these for
// a periodic announce; wt-tracker closes the socket on them). EventOther is a value that
// is neither a string nor null.
const (
	EventAbsent Event = iota
	EventNull
	EventStarted
	EventCompleted
	EventStopped
	EventRegular
	EventOther
)

// Raw is one JSON value exactly as it appears in the frame (no surrounding whitespace). It
// aliases the frame.
type Raw []byte

// ID is an id member (info_hash, peer_id, to_peer_id) decoded as a JS binary string.
type ID struct {
	Kind Kind
	// Bin holds one byte per code point when Kind is KindString and Wide is false.
	Bin []byte
	// Wide reports a string holding a code point above U+00FF: not a binary string.
	Wide bool
	// Raw is the string token, quotes included (nil unless Kind is KindString).
	Raw Raw
}

// IsBinary reports whether the id is a string that is a valid binary string.
func (id *ID) IsBinary() bool { return id.Kind == KindString && !id.Wide }

// Member is one top-level member of the frame, in frame order (duplicates included).
type Member struct {
	Key   []byte // the key re-encoded like JSON.stringify, quotes included
	Value Raw
}

// Message is one decoded frame. Its slices alias the frame and the Message's own scratch
// space: they are valid until the next Decode into the same Message, and the frame must
// not change meanwhile. A Message may be reused; it is not safe for concurrent use.
type Message struct {
	Action Action
	Event  Event

	InfoHash ID
	PeerID   ID
	ToPeerID ID

	// Answer is the kind of the "answer" member (its value is in Members).
	Answer Kind

	// NumwantIsInteger is Number.isInteger(numwant); Numwant is its value then.
	NumwantIsInteger bool
	Numwant          float64

	// LeftIsZero is left === 0 (0, -0, 0.0, 0e3 …).
	LeftIsZero bool

	// Offers is the kind of "offers"; OfferItems holds its elements when it is an array.
	Offers     Kind
	OfferItems []Raw

	// ScrapeHashes holds the string elements of an "info_hash" array (non-strings are
	// skipped, as wt-tracker does).
	ScrapeHashes []ID

	// Members lists every top-level member, for re-serializing an answer.
	Members []Member

	scratch []byte // decoded id bytes and re-encoded keys
	frame   []byte
}

func (m *Message) reset(frame []byte) {
	*m = Message{
		OfferItems:   m.OfferItems[:0],
		ScrapeHashes: m.ScrapeHashes[:0],
		Members:      m.Members[:0],
		scratch:      m.scratch[:0],
		frame:        frame,
	}
}

// Decode parses frame into m. The only error is *DecodeError: the frame is not valid JSON,
// not an object, or nested deeper than MaxDepth.
func Decode(frame []byte, m *Message) error {
	m.reset(frame)
	s := scanner{buf: frame}
	s.ws()
	if s.pos >= len(frame) {
		return &DecodeError{Kind: ErrSyntax, Offset: s.pos}
	}
	if frame[s.pos] != '{' {
		if _, ok := s.value(); !ok {
			return &DecodeError{Kind: s.errKind, Offset: s.errPos}
		}
		s.ws()
		if s.pos != len(frame) {
			return &DecodeError{Kind: ErrSyntax, Offset: s.pos}
		}
		return &DecodeError{Kind: ErrNotObject, Offset: 0}
	}
	if !m.topObject(&s) {
		return &DecodeError{Kind: s.errKind, Offset: s.errPos}
	}
	s.ws()
	if s.pos != len(frame) {
		return &DecodeError{Kind: ErrSyntax, Offset: s.pos}
	}
	return nil
}

// topObject parses the frame's object, recording every member and interpreting the ones
// the tracker reads. Later duplicates overwrite earlier ones (JSON.parse: last wins).
func (m *Message) topObject(s *scanner) bool {
	s.enter()
	s.pos++
	s.ws()
	if s.pos < len(s.buf) && s.buf[s.pos] == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
			return s.fail(ErrSyntax, s.pos)
		}
		kstart := s.pos
		flags, ok := s.str()
		if !ok {
			return false
		}
		key := s.buf[kstart:s.pos]
		if flags != 0 {
			start := len(m.scratch)
			m.scratch = appendCanonicalString(m.scratch, key)
			key = m.scratch[start:len(m.scratch):len(m.scratch)]
		}
		if !s.colon() {
			return false
		}
		vstart := s.pos
		var kind Kind
		collected := false
		if s.pos < len(s.buf) && s.buf[s.pos] == '[' && string(key) == `"offers"` {
			// Record the offer items while validating them (one pass over the SDPs).
			m.OfferItems, ok = s.arrayElems(m.OfferItems[:0])
			kind, collected = KindArray, true
		} else {
			kind, ok = s.value()
		}
		if !ok {
			return false
		}
		val := Raw(s.buf[vstart:s.pos])
		m.Members = append(m.Members, Member{Key: key, Value: val})
		m.member(key, kind, val, collected)
		more, ok := s.next('}')
		if !ok {
			return false
		}
		if !more {
			s.depth--
			return true
		}
	}
}

// member interprets one top-level member; key is canonical (quotes included). collected
// reports that OfferItems already holds the elements of this "offers" array.
func (m *Message) member(key []byte, kind Kind, val Raw, collected bool) {
	switch string(key) {
	case `"action"`:
		m.Action = ActionOther
		if kind == KindString {
			switch string(m.canonical(val)) {
			case `"announce"`:
				m.Action = ActionAnnounce
			case `"scrape"`:
				m.Action = ActionScrape
			}
		}
	case `"event"`:
		switch kind {
		case KindNull:
			m.Event = EventNull
		case KindString:
			switch string(m.canonical(val)) {
			case `"started"`:
				m.Event = EventStarted
			case `"completed"`:
				m.Event = EventCompleted
			case `"stopped"`:
				m.Event = EventStopped
			default:
				m.Event = EventRegular
			}
		default:
			m.Event = EventOther
		}
	case `"info_hash"`:
		m.InfoHash = m.id(kind, val)
		m.ScrapeHashes = m.ScrapeHashes[:0]
		if kind == KindArray {
			m.scrapeList(val)
		}
	case `"peer_id"`:
		m.PeerID = m.id(kind, val)
	case `"to_peer_id"`:
		m.ToPeerID = m.id(kind, val)
	case `"answer"`:
		m.Answer = kind
	case `"numwant"`:
		m.NumwantIsInteger, m.Numwant = false, 0
		if kind == KindNumber {
			if f := parseNumber(val); !math.IsInf(f, 0) && f == math.Trunc(f) {
				m.NumwantIsInteger, m.Numwant = true, f
			}
		}
	case `"left"`:
		m.LeftIsZero = kind == KindNumber && parseNumber(val) == 0
	case `"offers"`:
		m.Offers = kind
		if !collected {
			m.OfferItems = m.OfferItems[:0]
		}
	}
}

// canonical returns a short string token re-encoded (for comparing values to constants).
func (m *Message) canonical(tok Raw) []byte {
	for _, c := range tok {
		if c == '\\' || c >= 0x80 {
			start := len(m.scratch)
			m.scratch = appendCanonicalString(m.scratch, tok)
			return m.scratch[start:len(m.scratch):len(m.scratch)]
		}
	}
	return tok
}

func (m *Message) id(kind Kind, val Raw) ID {
	if kind != KindString {
		return ID{Kind: kind}
	}
	inner := val[1 : len(val)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			start := len(m.scratch)
			d, wide := appendBinary(m.scratch, val)
			if wide {
				return ID{Kind: KindString, Wide: true, Raw: val}
			}
			m.scratch = d
			return ID{Kind: KindString, Bin: d[start:len(d):len(d)], Raw: val}
		}
	}
	return ID{Kind: KindString, Bin: inner, Raw: val}
}

// scrapeList records the string elements of a validated array.
func (m *Message) scrapeList(arr Raw) {
	var elems [16]Raw
	items := appendElements(elems[:0], arr)
	for _, it := range items {
		if it[0] == '"' {
			m.ScrapeHashes = append(m.ScrapeHashes, m.id(KindString, it))
		}
	}
}

// appendElements appends the elements of a validated array token.
func appendElements(dst []Raw, arr Raw) []Raw {
	s := scanner{buf: arr, pos: 1, trusted: true}
	s.ws()
	if arr[s.pos] == ']' {
		return dst
	}
	for {
		start := s.pos
		s.value()
		dst = append(dst, Raw(arr[start:s.pos]))
		s.ws()
		if arr[s.pos] == ']' {
			return dst
		}
		s.pos++ // ','
		s.ws()
	}
}
