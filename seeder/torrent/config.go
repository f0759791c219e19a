package torrent

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"swarmcast/internal/jsonconf"
)

// DefaultKeyPrefix is where the seeder's WebTorrent settings live in config.json.
const DefaultKeyPrefix = "seeder.webtorrent"

// Defaults of Config.
const (
	// DefaultTracker is the tracker's default plain-WebSocket listener (wt-tracker's default
	// server is 0.0.0.0:8000).
	DefaultTracker = "ws://127.0.0.1:8000"
	// DefaultMaxTorrents bounds the live torrents: 64 covers a 20-segment window of three
	// renditions with room to spare.
	DefaultMaxTorrents = 64
	// DefaultMaxSegmentBytes is the largest segment accepted by Add.
	DefaultMaxSegmentBytes = 64 << 20
	// DefaultMaxPeersPerTorrent is anacrolix's EstablishedConnsPerTorrent for each segment.
	DefaultMaxPeersPerTorrent = 200
	// DefaultClientRotation starts a fresh anacrolix client every 5 minutes.
	DefaultClientRotation = 300

	// MinPieceLength and MaxPieceLength bound Config.PieceLength (BitTorrent blocks are
	// 16 KiB, so a piece is at least one block).
	MinPieceLength = 16 << 10
	MaxPieceLength = 16 << 20
	// maxTorrentsLimit caps MaxTorrents: every live torrent keeps one WebRTC offer with its
	// UDP sockets open.
	maxTorrentsLimit = 10000
)

// Config is the "seeder.webtorrent" section of config.json.
type Config struct {
	// Trackers are the ws:// or wss:// tracker URLs written into every torrent as its
	// announce list; the seeder announces each torrent to all of them. Browsers must be able
	// to reach them too.
	Trackers []string `json:"trackers"`
	// PieceLength is the piece length in bytes: a power of two between 16 KiB and 16 MiB,
	// or 0 to choose one per segment (see AutoPieceLength).
	PieceLength int64 `json:"pieceLength"`
	// MaxTorrents bounds the live torrents; when a new segment would exceed it the oldest
	// torrent is dropped first.
	MaxTorrents int `json:"maxTorrents"`
	// MaxSegmentBytes is the largest segment Add accepts. The seeder keeps every live
	// segment in memory, so memory is bounded by MaxTorrents × MaxSegmentBytes.
	MaxSegmentBytes int64 `json:"maxSegmentBytes"`
	// WebSeed puts the segment's origin URL into each torrent as a BEP 19 web seed.
	WebSeed bool `json:"webSeed"`
	// MaxPeersPerTorrent is the number of peer connections kept per segment.
	MaxPeersPerTorrent int `json:"maxPeersPerTorrent"`
	// ICEServers are STUN/TURN URLs ("stun:host:port") for the seeder's WebRTC
	// connections; needed only when the seeder is behind NAT.
	ICEServers []string `json:"iceServers"`
	// ClientRotation is how often, in seconds, new segments move to a fresh anacrolix
	// client; the old one closes once its last segment is dropped. It bounds the memory
	// anacrolix keeps for closed WebRTC connections (see generation.go). 0 turns it off.
	ClientRotation int `json:"clientRotation"`
}

// DefaultConfig returns the configuration used for keys that config.json leaves out.
func DefaultConfig() Config {
	return Config{
		Trackers:           []string{DefaultTracker},
		MaxTorrents:        DefaultMaxTorrents,
		MaxSegmentBytes:    DefaultMaxSegmentBytes,
		WebSeed:            true,
		MaxPeersPerTorrent: DefaultMaxPeersPerTorrent,
		ClientRotation:     DefaultClientRotation,
	}
}

// DecodeConfig decodes the raw "seeder.webtorrent" section (nil or empty: all defaults)
// over DefaultConfig and validates it. keyPrefix is the section's key path, used in error
// messages ("" means DefaultKeyPrefix); unknown, when non-nil, gets the path of every key
// this package does not know.
func DecodeConfig(raw json.RawMessage, keyPrefix string, unknown func(string)) (Config, error) {
	if keyPrefix == "" {
		keyPrefix = DefaultKeyPrefix
	}
	c := DefaultConfig()
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := jsonconf.Decode(raw, keyPrefix, &c, unknown); err != nil {
			return Config{}, err
		}
	}
	if err := c.validate(keyPrefix); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports the first impossible value, naming its key under "seeder.webtorrent".
func (c Config) Validate() error { return c.validate(DefaultKeyPrefix) }

func (c Config) validate(prefix string) error {
	key := func(k string) string { return jsonconf.Join(prefix, k) }
	if len(c.Trackers) == 0 {
		return jsonconf.Errorf(key("trackers"), "at least one ws:// or wss:// tracker URL is needed")
	}
	for i, t := range c.Trackers {
		if err := checkTrackerURL(t); err != nil {
			return jsonconf.Errorf(fmt.Sprintf("%s[%d]", key("trackers"), i), "%v", err)
		}
	}
	if c.PieceLength != 0 && (c.PieceLength < MinPieceLength || c.PieceLength > MaxPieceLength || c.PieceLength&(c.PieceLength-1) != 0) {
		return jsonconf.Errorf(key("pieceLength"), "%d is not 0 (automatic) or a power of two between %d and %d", c.PieceLength, MinPieceLength, MaxPieceLength)
	}
	if c.MaxTorrents < 1 || c.MaxTorrents > maxTorrentsLimit {
		return jsonconf.Errorf(key("maxTorrents"), "%d is outside 1..%d", c.MaxTorrents, maxTorrentsLimit)
	}
	if c.MaxSegmentBytes < 1 || c.MaxSegmentBytes > 1<<30 {
		return jsonconf.Errorf(key("maxSegmentBytes"), "%d is outside 1..%d", c.MaxSegmentBytes, 1<<30)
	}
	if c.MaxPeersPerTorrent < 1 || c.MaxPeersPerTorrent > 10000 {
		return jsonconf.Errorf(key("maxPeersPerTorrent"), "%d is outside 1..10000", c.MaxPeersPerTorrent)
	}
	if c.ClientRotation != 0 && (c.ClientRotation < 10 || c.ClientRotation > 86400) {
		return jsonconf.Errorf(key("clientRotation"), "%d is not 0 (off) or 10..86400 seconds", c.ClientRotation)
	}
	for i, s := range c.ICEServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "stuns:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			return jsonconf.Errorf(fmt.Sprintf("%s[%d]", key("iceServers"), i), "%q is not a stun:, stuns:, turn: or turns: URL", s)
		}
	}
	return nil
}

func checkTrackerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("%q is not a ws:// or wss:// URL (WebTorrent clients only use WebSocket trackers)", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}
