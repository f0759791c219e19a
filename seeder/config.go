package seeder

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"swarmcast/internal/jsonconf"
)

// Config is the optional "seeder" section of config.json. Every key is optional except
// origin (and publicUrl when origin is a folder); see docs/seeder.md.
type Config struct {
	// Origin is the stream's master playlist: an http(s) URL, or a path to master.m3u8 in
	// the hlsgen output folder.
	Origin string `json:"origin"`
	// PublicURL is the master playlist URL players load (swarm ids derive from it). Default:
	// origin when it is an http(s) URL.
	PublicURL string `json:"publicUrl"`
	// SwarmID is P2P Media Loader's swarmId setting, for pages that set one.
	SwarmID string `json:"swarmId"`
	// Trackers are the ws:// or wss:// announce URLs.
	Trackers []string `json:"trackers"`
	// Generations switches each P2P Media Loader generation on or off.
	Generations GenerationsConfig `json:"generations"`

	ICEServers []ICEServer `json:"iceServers"`
	// UDPPort is the single UDP port for every peer (0: an ephemeral port).
	UDPPort int `json:"udpPort"`
	// PublicIPs are announced instead of the host's addresses (1:1 NAT, Docker).
	PublicIPs []string `json:"publicIps"`
	// LoopbackOnly restricts ICE to 127.0.0.1 (tests, single-host demos).
	LoopbackOnly bool `json:"loopbackOnly"`

	MaxPeers int `json:"maxPeers"`
	// UploadMbps caps the total upload rate (0: unlimited).
	UploadMbps float64 `json:"uploadMbps"`
	// PeerUploadMbps caps each peer's upload rate (0: unlimited).
	PeerUploadMbps float64 `json:"peerUploadMbps"`
	// OffersPerAnnounce is how many of its own offers the seeder sends per announce.
	OffersPerAnnounce int `json:"offersPerAnnounce"`
	// IdleTimeoutSeconds drops a peer that sent nothing for this long.
	IdleTimeoutSeconds float64 `json:"idleTimeoutSeconds"`
	// PollIntervalSeconds between playlist polls (0: half the target duration).
	PollIntervalSeconds float64 `json:"pollIntervalSeconds"`
	// Window is the number of newest segments kept and announced per rendition.
	Window int `json:"window"`
	// RequireManifest refuses segments while segments-sha256.json is missing.
	RequireManifest bool `json:"requireManifest"`

	// HTTPAddr, when set, serves /metrics and /stats.json for `swarmcast seeder` (e.g.
	// "127.0.0.1:9100"). In `swarmcast all` the tracker's listener serves them instead.
	HTTPAddr string `json:"httpAddr"`

	// WebTorrent is the configuration of the WebTorrent half (seeder/torrent), passed
	// through undecoded.
	WebTorrent json.RawMessage `json:"webtorrent"`
}

// GenerationsConfig selects the P2P Media Loader generations the seeder joins.
type GenerationsConfig struct {
	PML23 *bool `json:"pml23"` // 2.3.x; default true
	PML22 *bool `json:"pml22"` // 1.0.4 – 2.2.x; default true
	PML06 *bool `json:"pml06"` // 0.6.x; default true
}

// ICEServer is one STUN or TURN server, as in RTCConfiguration.iceServers; urls may be a
// string or an array of strings.
type ICEServer struct {
	URLs       any    `json:"urls"`
	Username   string `json:"username"`
	Credential string `json:"credential"`
}

// Defaults.
const (
	DefaultMaxPeers           = 200
	DefaultOffersPerAnnounce  = 3
	DefaultIdleTimeoutSeconds = 120
	DefaultWindow             = 30
)

// DefaultConfig returns a Config with every default filled in (origin still empty).
func DefaultConfig() Config {
	c := Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills zero values with defaults.
func (c *Config) SetDefaults() {
	t := true
	if c.Generations.PML23 == nil {
		c.Generations.PML23 = &t
	}
	if c.Generations.PML22 == nil {
		c.Generations.PML22 = &t
	}
	if c.Generations.PML06 == nil {
		c.Generations.PML06 = &t
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.OffersPerAnnounce == 0 {
		c.OffersPerAnnounce = DefaultOffersPerAnnounce
	}
	if c.IdleTimeoutSeconds == 0 {
		c.IdleTimeoutSeconds = DefaultIdleTimeoutSeconds
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
}

// Validate reports the first impossible value, naming its key ("seeder.maxPeers: ...").
func (c *Config) Validate() error {
	k := func(name string) string { return jsonconf.Join("seeder", name) }
	if c.Origin == "" {
		return jsonconf.Errorf(k("origin"), "required: the master playlist URL or a path to master.m3u8")
	}
	isURL := strings.HasPrefix(c.Origin, "http://") || strings.HasPrefix(c.Origin, "https://")
	if isURL {
		if u, err := url.Parse(c.Origin); err != nil || u.Host == "" {
			return jsonconf.Errorf(k("origin"), "%q is not a valid URL", c.Origin)
		}
	} else if strings.Contains(c.Origin, "://") {
		return jsonconf.Errorf(k("origin"), "%q: only http(s) URLs or local paths are supported", c.Origin)
	}
	if c.PublicURL == "" && !isURL {
		return jsonconf.Errorf(k("publicUrl"), "required when origin is a folder: the master playlist URL players load")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return jsonconf.Errorf(k("publicUrl"), "%q is not an absolute http(s) URL", c.PublicURL)
		}
	}
	if len(c.Trackers) == 0 {
		return jsonconf.Errorf(k("trackers"), "list at least one ws:// or wss:// tracker URL")
	}
	for i, tr := range c.Trackers {
		u, err := url.Parse(tr)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return jsonconf.Errorf(fmt.Sprintf("%s[%d]", k("trackers"), i), "%q is not a ws:// or wss:// URL", tr)
		}
	}
	if !*c.Generations.PML23 && !*c.Generations.PML22 && !*c.Generations.PML06 {
		return jsonconf.Errorf(k("generations"), "at least one generation must be enabled")
	}
	for i, s := range c.ICEServers {
		key := fmt.Sprintf("%s[%d].urls", k("iceServers"), i)
		urls, err := s.urls()
		if err != nil {
			return jsonconf.Errorf(key, "%v", err)
		}
		for _, u := range urls {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return jsonconf.Errorf(key, "%q is not a stun:, stuns:, turn: or turns: URL", u)
			}
		}
	}
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		return jsonconf.Errorf(k("udpPort"), "must be between 0 and 65535, got %d", c.UDPPort)
	}
	for i, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return jsonconf.Errorf(fmt.Sprintf("%s[%d]", k("publicIps"), i), "%q is not an IP address", ip)
		}
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return jsonconf.Errorf(k("httpAddr"), "%q is not host:port", c.HTTPAddr)
		}
	}
	switch {
	case c.MaxPeers < 1:
		return jsonconf.Errorf(k("maxPeers"), "must be at least 1, got %d", c.MaxPeers)
	case c.UploadMbps < 0:
		return jsonconf.Errorf(k("uploadMbps"), "must not be negative")
	case c.PeerUploadMbps < 0:
		return jsonconf.Errorf(k("peerUploadMbps"), "must not be negative")
	case c.OffersPerAnnounce < 0 || c.OffersPerAnnounce > 20:
		return jsonconf.Errorf(k("offersPerAnnounce"), "must be between 0 and 20, got %d", c.OffersPerAnnounce)
	case c.IdleTimeoutSeconds < 5:
		return jsonconf.Errorf(k("idleTimeoutSeconds"), "must be at least 5, got %g", c.IdleTimeoutSeconds)
	case c.PollIntervalSeconds < 0:
		return jsonconf.Errorf(k("pollIntervalSeconds"), "must not be negative")
	case c.Window < 1 || c.Window > 1000:
		return jsonconf.Errorf(k("window"), "must be between 1 and 1000, got %d", c.Window)
	}
	return nil
}

func (s ICEServer) urls() ([]string, error) {
	switch v := s.URLs.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", e)
			}
			out = append(out, str)
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("required")
	}
	return nil, fmt.Errorf("want a string or an array of strings")
}

func (c *Config) iceServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(c.ICEServers))
	for _, s := range c.ICEServers {
		urls, _ := s.urls()
		out = append(out, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
	}
	return out
}

func (c *Config) idleTimeout() time.Duration {
	return time.Duration(c.IdleTimeoutSeconds * float64(time.Second))
}

// DecodeConfig takes the "seeder" key out of the top-level sections of config.json, decodes and
// validates it. It returns nil when the key is absent (no seeder). unknown is called with
// the path of every key it does not know. The "webtorrent" sub-key is kept undecoded for
// the WebTorrent half.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (*Config, error) {
	raw, ok := sections["seeder"]
	if !ok {
		return nil, nil
	}
	delete(sections, "seeder")
	var c Config
	if err := jsonconf.Decode(raw, "seeder", &c, unknown); err != nil {
		return nil, err
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
