package pml

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// CommandType is the first payload byte of a binary (Gen22/Gen23) command.
type CommandType uint8

// Binary command types (p2p-media-loader-core src/p2p/commands/types.ts).
const (
	CmdAnnouncement CommandType = 0 // fields l (loaded ids), p (ids loading over HTTP)
	CmdRequest      CommandType = 1 // fields i, r, b (resume offset, only when non-zero)
	CmdData         CommandType = 2 // fields i, s (bytes that follow), r
	CmdCompleted    CommandType = 3 // fields i, r
	CmdAbsent       CommandType = 4 // fields i, r
	CmdCancel       CommandType = 5 // fields i, r
)

// String names the command type.
func (t CommandType) String() string {
	switch t {
	case CmdAnnouncement:
		return "announcement"
	case CmdRequest:
		return "request"
	case CmdData:
		return "data"
	case CmdCompleted:
		return "completed"
	case CmdAbsent:
		return "absent"
	case CmdCancel:
		return "cancel"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Command is one decoded binary command. Which fields are meaningful depends on Type.
type Command struct {
	Type    CommandType
	ID      int64   // i: segment externalId (media sequence number for live streams)
	Req     int64   // r: request id, echoed by the uploader
	Size    int64   // s: number of data bytes that follow SegmentData
	Offset  int64   // b: resume offset of a request
	Loaded  []int64 // l: ids held
	Loading []int64 // p: ids being fetched over HTTP
}

// Field name bytes.
const (
	fieldID      = 'i'
	fieldReq     = 'r'
	fieldSize    = 's'
	fieldOffset  = 'b'
	fieldLoaded  = 'l'
	fieldLoading = 'p'
)

// Item type codes (high nibble of an item's first byte).
const (
	itemInt             = 0
	itemSimilarIntArray = 1
	itemString          = 2
)

// MaxMessageSize is the largest data-channel message P2P Media Loader sends (and the chunk
// size its framing uses): webRtcMaxMessageSize = 64 KiB − 1.
const MaxMessageSize = 64*1024 - 1

// MaxGroupIDs is the largest number of ids the seeder puts in one announcement group: PML
// writes a group's count in one byte, so 256 ids in one group would be read as 0 and break the
// whole announcement in the browser.
const MaxGroupIDs = 255

// MaxGroups is the largest number of groups an int array can hold (the count is one byte).
const MaxGroups = 255

var (
	frameCmdStart = []byte("cstr")
	frameCmdEnd   = []byte("cend")
	frameDivStart = []byte("dstr")
	frameDivEnd   = []byte("dend")
)

// AppendInt appends v in PML's Int item encoding: a 0x0N byte followed by N bytes of
// sign-magnitude big-endian value.
func AppendInt(dst []byte, v int64) []byte {
	var mag uint64
	if v < 0 {
		mag = uint64(-(v + 1)) + 1
	} else {
		mag = uint64(v)
	}
	bits := 1
	for x := mag; x > 1; x >>= 1 {
		bits++
	}
	n := (bits + 1 + 7) / 8
	dst = append(dst, byte(itemInt<<4|n))
	start := len(dst)
	for i := n - 1; i >= 0; i-- {
		if i >= 8 {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, byte(mag>>(8*uint(i))))
	}
	if v < 0 {
		dst[start] |= 0x80
	}
	return dst
}

// AppendIntArray appends ids as a SimilarIntArray item. Ids are grouped by their value with
// the low byte cleared, in order of first appearance, at most MaxGroupIDs per group. It fails
// when ids are negative or need more than MaxGroups groups.
func AppendIntArray(dst []byte, ids []int64) ([]byte, error) {
	type group struct {
		common int64
		lows   []byte
	}
	var groups []group
	index := make(map[int64]int) // common part -> index of its open (non-full) group
	for _, id := range ids {
		if id < 0 {
			return dst, fmt.Errorf("%w: negative id %d", ErrEncode, id)
		}
		common := id &^ 0xff
		gi, ok := index[common]
		if !ok || len(groups[gi].lows) == MaxGroupIDs {
			groups = append(groups, group{common: common})
			gi = len(groups) - 1
			index[common] = gi
		}
		groups[gi].lows = append(groups[gi].lows, byte(id))
	}
	if len(groups) > MaxGroups {
		return dst, fmt.Errorf("%w: %d id groups (max %d)", ErrEncode, len(groups), MaxGroups)
	}
	dst = append(dst, itemSimilarIntArray<<4, byte(len(groups)))
	for _, g := range groups {
		dst = AppendInt(dst, g.common|int64(len(g.lows)))
		dst = append(dst, g.lows...)
	}
	return dst, nil
}

// AppendPayload appends the unframed payload of c (command byte and fields, in PML's order).
func AppendPayload(dst []byte, c *Command) ([]byte, error) {
	dst = append(dst, byte(c.Type))
	var err error
	switch c.Type {
	case CmdAnnouncement:
		if len(c.Loaded) > 0 {
			dst = append(dst, fieldLoaded)
			if dst, err = AppendIntArray(dst, c.Loaded); err != nil {
				return dst, err
			}
		}
		if len(c.Loading) > 0 {
			dst = append(dst, fieldLoading)
			if dst, err = AppendIntArray(dst, c.Loading); err != nil {
				return dst, err
			}
		}
	case CmdRequest:
		dst = AppendInt(append(dst, fieldID), c.ID)
		dst = AppendInt(append(dst, fieldReq), c.Req)
		if c.Offset != 0 {
			dst = AppendInt(append(dst, fieldOffset), c.Offset)
		}
	case CmdData:
		dst = AppendInt(append(dst, fieldID), c.ID)
		dst = AppendInt(append(dst, fieldSize), c.Size)
		dst = AppendInt(append(dst, fieldReq), c.Req)
	case CmdCompleted, CmdAbsent, CmdCancel:
		dst = AppendInt(append(dst, fieldID), c.ID)
		dst = AppendInt(append(dst, fieldReq), c.Req)
	default:
		return dst, fmt.Errorf("%w: unknown command type %d", ErrEncode, c.Type)
	}
	return dst, nil
}

// Encode serialises c into one or more framed data-channel messages of at most maxMessage
// bytes each, split exactly as PML's BinaryCommandCreator splits long commands.
func Encode(c *Command, maxMessage int) ([][]byte, error) {
	payload, err := AppendPayload(nil, c)
	if err != nil {
		return nil, err
	}
	return Frame(payload, maxMessage), nil
}

// Frame wraps a command payload into framed messages: "cstr"+payload+"cend" when it fits in
// maxMessage, otherwise n equal pieces framed cstr…dend, dstr…dend, …, dstr…cend.
func Frame(payload []byte, maxMessage int) [][]byte {
	if maxMessage < 9 {
		maxMessage = 9
	}
	if len(payload)+8 <= maxMessage {
		return [][]byte{frame(payload, frameCmdStart, frameCmdEnd)}
	}
	n := (len(payload) + maxMessage - 1) / maxMessage
	// PML adds one piece when the pieces plus framing exceed the limit; looping instead keeps
	// every piece within the limit for any size (identical for PML's 64 KiB − 1 limit).
	for (len(payload)+n-1)/n+8 > maxMessage {
		n++
	}
	size := (len(payload) + n - 1) / n
	out := make([][]byte, n)
	for i := range n {
		lo := min(i*size, len(payload))
		hi := min((i+1)*size, len(payload))
		start, end := frameDivStart, frameDivEnd
		if i == 0 {
			start = frameCmdStart
		}
		if i == n-1 {
			end = frameCmdEnd
		}
		out[i] = frame(payload[lo:hi], start, end)
	}
	return out
}

func frame(p, start, end []byte) []byte {
	b := make([]byte, 0, len(p)+8)
	b = append(b, start...)
	b = append(b, p...)
	return append(b, end...)
}

// IsCommandChunk reports whether a received message is (part of) a binary command: it starts
// with "cstr" or "dstr" and ends with "cend" or "dend". Anything else is segment data.
func IsCommandChunk(m []byte) bool {
	if len(m) < 8 {
		return false
	}
	s, e := m[:4], m[len(m)-4:]
	return (bytes.Equal(s, frameCmdStart) || bytes.Equal(s, frameDivStart)) &&
		(bytes.Equal(e, frameCmdEnd) || bytes.Equal(e, frameDivEnd))
}

// Joiner reassembles a command split over several messages. The zero value is ready; it is
// not safe for concurrent use.
type Joiner struct {
	// MaxBytes bounds the joined payload; 0 means DefaultMaxCommandBytes.
	MaxBytes int
	buf      []byte
	joining  bool
}

// DefaultMaxCommandBytes bounds a joined command: an announcement of 255 groups of 255 ids is
// about 67 KB, so 256 KiB is far above anything legitimate.
const DefaultMaxCommandBytes = 256 << 10

// Add feeds one command chunk (IsCommandChunk must be true). It returns the complete payload
// when chunk ends the command, nil while more chunks are needed, or an error for a chunk out
// of order or a command over the size limit; after an error the joiner is reset.
func (j *Joiner) Add(chunk []byte) ([]byte, error) {
	if !IsCommandChunk(chunk) {
		j.reset()
		return nil, fmt.Errorf("%w: not a command chunk", ErrFraming)
	}
	first := bytes.Equal(chunk[:4], frameCmdStart)
	switch {
	case !j.joining && !first:
		j.reset()
		return nil, fmt.Errorf("%w: continuation chunk without a first chunk", ErrFraming)
	case j.joining && first:
		j.reset()
		return nil, fmt.Errorf("%w: new command before the previous one ended", ErrFraming)
	}
	limit := j.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxCommandBytes
	}
	body := chunk[4 : len(chunk)-4]
	if len(j.buf)+len(body) > limit {
		j.reset()
		return nil, fmt.Errorf("%w: command longer than %d bytes", ErrTooLarge, limit)
	}
	last := bytes.Equal(chunk[len(chunk)-4:], frameCmdEnd)
	if first && last {
		return body, nil
	}
	j.joining = true
	j.buf = append(j.buf, body...)
	if !last {
		return nil, nil
	}
	out := j.buf
	j.buf, j.joining = nil, false
	return out, nil
}

func (j *Joiner) reset() { j.buf, j.joining = nil, false }

// Decode parses an unframed command payload. Unknown field names are skipped if their item
// type is known; any truncated or impossible item is an error. Missing fields read as 0.
func Decode(p []byte) (*Command, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrMalformed)
	}
	c := &Command{Type: CommandType(p[0])}
	if c.Type > CmdCancel {
		return nil, fmt.Errorf("%w: unknown command type %d", ErrMalformed, p[0])
	}
	off := 1
	for off < len(p) {
		name := p[off]
		off++
		if off >= len(p) {
			return nil, fmt.Errorf("%w: field %q without a value", ErrMalformed, name)
		}
		switch p[off] >> 4 {
		case itemInt:
			v, n, err := readInt(p[off:])
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			off += n
			switch name {
			case fieldID:
				c.ID = v
			case fieldReq:
				c.Req = v
			case fieldSize:
				c.Size = v
			case fieldOffset:
				c.Offset = v
			}
		case itemSimilarIntArray:
			ids, n, err := readIntArray(p[off:])
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			off += n
			switch name {
			case fieldLoaded:
				c.Loaded = ids
			case fieldLoading:
				c.Loading = ids
			}
		case itemString:
			if off+2 > len(p) {
				return nil, fmt.Errorf("%w: truncated string", ErrMalformed)
			}
			n := int(p[off]&0x0f)<<8 | int(p[off+1])
			if off+2+n > len(p) {
				return nil, fmt.Errorf("%w: truncated string", ErrMalformed)
			}
			off += 2 + n
		default:
			return nil, fmt.Errorf("%w: unknown item type %d in field %q", ErrMalformed, p[off]>>4, name)
		}
	}
	return c, nil
}

func readInt(p []byte) (int64, int, error) {
	n := int(p[0] & 0x0f)
	if n == 0 || 1+n > len(p) {
		return 0, 0, fmt.Errorf("%w: bad int length %d", ErrMalformed, n)
	}
	var mag uint64
	for i := range n {
		b := p[1+i]
		if i == 0 {
			b &= 0x7f
		}
		if mag > math.MaxUint64>>8 {
			return 0, 0, fmt.Errorf("%w: int too large", ErrMalformed)
		}
		mag = mag<<8 | uint64(b)
	}
	if mag > math.MaxInt64 {
		return 0, 0, fmt.Errorf("%w: int too large", ErrMalformed)
	}
	v := int64(mag)
	if p[1]&0x80 != 0 {
		v = -v
	}
	return v, 1 + n, nil
}

func readIntArray(p []byte) ([]int64, int, error) {
	if len(p) < 2 {
		return nil, 0, fmt.Errorf("%w: truncated int array", ErrMalformed)
	}
	groups := int(p[1])
	off := 2
	var ids []int64
	for range groups {
		if off >= len(p) || p[off]>>4 != itemInt {
			return nil, 0, fmt.Errorf("%w: bad int array group", ErrMalformed)
		}
		v, n, err := readInt(p[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		count := int(v & 0xff)
		if count == 0 {
			count = 256 // PML writes a full group's count as 0
		}
		if off+count > len(p) {
			return nil, 0, fmt.Errorf("%w: truncated int array group", ErrMalformed)
		}
		common := v &^ 0xff
		for _, b := range p[off : off+count] {
			ids = append(ids, common|int64(b))
		}
		off += count
	}
	return ids, off, nil
}

// Errors of the codecs.
var (
	// ErrMalformed marks a message that does not parse.
	ErrMalformed = errors.New("malformed command")
	// ErrFraming marks command chunks that arrive out of order.
	ErrFraming = errors.New("command framing error")
	// ErrTooLarge marks a message or joined command over its size limit.
	ErrTooLarge = errors.New("message too large")
	// ErrEncode marks a command that cannot be encoded.
	ErrEncode = errors.New("cannot encode command")
)
