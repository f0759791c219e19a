package pml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// LegacyType is the "c" field of a 0.6.x JSON command (media-peer.ts MediaPeerCommands).
type LegacyType int

// 0.6.x command codes.
const (
	LegacyData    LegacyType = 0 // {"c":0,"i":id,"s":size} followed by raw chunks
	LegacyAbsent  LegacyType = 1 // {"c":1,"i":id}
	LegacyMap     LegacyType = 2 // {"c":2,"m":{streamSwarmId:["seq|seq",[status,...]]}}
	LegacyRequest LegacyType = 3 // {"c":3,"i":id}
	LegacyCancel  LegacyType = 4 // {"c":4,"i":id}
)

// LegacyCommand is a decoded 0.6.x command.
type LegacyCommand struct {
	Type LegacyType
	ID   string // segment id: streamSwarmId+"+"+seq
	Size int64  // LegacyData only
	// Map is the SegmentsMap of a LegacyMap command: streamSwarmId -> sequence numbers
	// (as strings) -> status (0 loaded, 1 loading over HTTP).
	Map map[string]map[string]int
}

// MaxLegacyCommandBytes bounds a JSON command the seeder accepts (PML sends one message of at
// most 64 KiB − 1).
const MaxLegacyCommandBytes = MaxMessageSize

// IsLegacyCommand reports whether a received message is classified as a command by 0.6.x:
// it starts with `{"` and ends with `}` (the receiver then also requires valid JSON).
func IsLegacyCommand(m []byte) bool {
	return len(m) >= 3 && m[0] == '{' && m[1] == '"' && m[len(m)-1] == '}'
}

type legacyWire struct {
	C *int                       `json:"c"`
	I json.RawMessage            `json:"i,omitempty"`
	S *json.Number               `json:"s,omitempty"`
	M map[string]json.RawMessage `json:"m,omitempty"`
}

// DecodeLegacy parses a 0.6.x JSON command. Segment ids may be strings or numbers (the
// browser always sends strings).
func DecodeLegacy(m []byte) (*LegacyCommand, error) {
	if len(m) > MaxLegacyCommandBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(m))
	}
	if !IsLegacyCommand(m) {
		return nil, fmt.Errorf("%w: not a JSON command", ErrMalformed)
	}
	var w legacyWire
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.C == nil {
		return nil, fmt.Errorf("%w: no command code", ErrMalformed)
	}
	c := &LegacyCommand{Type: LegacyType(*w.C)}
	if len(w.I) > 0 {
		var s string
		if err := json.Unmarshal(w.I, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(w.I, &n); err != nil {
				return nil, fmt.Errorf("%w: bad segment id", ErrMalformed)
			}
			s = n.String()
		}
		c.ID = s
	}
	switch c.Type {
	case LegacyData:
		if w.S == nil {
			return nil, fmt.Errorf("%w: segment data without size", ErrMalformed)
		}
		n, err := w.S.Int64()
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: bad size", ErrMalformed)
		}
		c.Size = n
	case LegacyAbsent, LegacyRequest, LegacyCancel:
		if c.ID == "" {
			return nil, fmt.Errorf("%w: command %d without segment id", ErrMalformed, c.Type)
		}
	case LegacyMap:
		c.Map = make(map[string]map[string]int, len(w.M))
		for swarm, raw := range w.M {
			c.Map[swarm] = decodeLegacyStream(raw)
		}
	default:
		return nil, fmt.Errorf("%w: unknown command code %d", ErrMalformed, c.Type)
	}
	return c, nil
}

// decodeLegacyStream decodes one ["seq|seq",[status,...]] entry; like the browser, any
// malformed entry yields an empty set rather than an error.
func decodeLegacyStream(raw json.RawMessage) map[string]int {
	var pair []json.RawMessage
	if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
		return map[string]int{}
	}
	var seqs string
	var statuses []int
	if json.Unmarshal(pair[0], &seqs) != nil || json.Unmarshal(pair[1], &statuses) != nil {
		return map[string]int{}
	}
	ids := strings.Split(seqs, "|")
	if seqs == "" {
		ids = nil
	}
	if len(ids) != len(statuses) {
		return map[string]int{}
	}
	out := make(map[string]int, len(ids))
	for i, id := range ids {
		if statuses[i] != 0 && statuses[i] != 1 {
			return map[string]int{}
		}
		out[id] = statuses[i]
	}
	return out
}

// AppendLegacyData appends the SegmentData header {"c":0,"i":id,"s":size}.
func AppendLegacyData(dst []byte, id string, size int64) []byte {
	dst = append(dst, `{"c":0,"i":`...)
	dst = appendJSONString(dst, id)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendInt(dst, size, 10)
	return append(dst, '}')
}

// AppendLegacyAbsent appends {"c":1,"i":id}.
func AppendLegacyAbsent(dst []byte, id string) []byte {
	return appendLegacyID(dst, LegacyAbsent, id)
}

// AppendLegacyRequest appends {"c":3,"i":id}.
func AppendLegacyRequest(dst []byte, id string) []byte {
	return appendLegacyID(dst, LegacyRequest, id)
}

// AppendLegacyCancel appends {"c":4,"i":id}.
func AppendLegacyCancel(dst []byte, id string) []byte {
	return appendLegacyID(dst, LegacyCancel, id)
}

func appendLegacyID(dst []byte, t LegacyType, id string) []byte {
	dst = append(dst, `{"c":`...)
	dst = strconv.AppendInt(dst, int64(t), 10)
	dst = append(dst, `,"i":`...)
	dst = appendJSONString(dst, id)
	return append(dst, '}')
}

// AppendLegacyMap appends a SegmentsMap announcing seqs of one stream swarm as loaded
// (status 0): {"c":2,"m":{"<swarm>":["1|2|3",[0,0,0]]}}.
func AppendLegacyMap(dst []byte, streamSwarmID string, seqs []int64) []byte {
	dst = append(dst, `{"c":2,"m":{`...)
	dst = appendJSONString(dst, streamSwarmID)
	dst = append(dst, `:["`...)
	for i, s := range seqs {
		if i > 0 {
			dst = append(dst, '|')
		}
		dst = strconv.AppendInt(dst, s, 10)
	}
	dst = append(dst, `",[`...)
	for i := range seqs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '0')
	}
	return append(dst, "]]}}"...)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}
