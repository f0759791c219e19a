package tracker

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"swarmcast/internal/jsonconf"
)

// Defaults, as wt-tracker (uWebSockets.js v20) applies them when a key is absent.
const (
	DefaultPort             = 8000
	DefaultHost             = "0.0.0.0"
	DefaultPath             = "/*"
	DefaultMaxPayloadLength = 64 * 1024
	DefaultIdleTimeout      = 240 // seconds
	DefaultCompression      = 1

	// swarmcast additions (not in wt-tracker).
	DefaultSendQueueLength   = 64 // frames queued per connection before it is a slow consumer
	DefaultWriteTimeout      = 10 // seconds allowed for one frame write
	DefaultShutdownTimeout   = 10 // seconds a graceful shutdown may take
	DefaultTLSReloadInterval = 60 // seconds between checks of the certificate files
)

// Config is the tracker's part of config.json: wt-tracker's top-level keys "servers",
// "tracker" and "websocketsAccess", plus swarmcast's optional "shutdownTimeout",
// "tlsReloadInterval", "stats" and "metrics". Use DefaultConfig or DecodeConfig to get one
// with every default filled in; Validate reports the first bad value by its JSON key.
type Config struct {
	Servers []ListenerConfig `json:"servers"`
	Hub     HubConfig        `json:"tracker"`
	Access  AccessConfig     `json:"websocketsAccess"`

	// ShutdownTimeout bounds a graceful shutdown, in seconds: after the 1001 close frames
	// are sent, connections still open this long later are cut. 0 cuts them at once.
	ShutdownTimeout int `json:"shutdownTimeout"`
	// TLSReloadInterval is how often, in seconds, the certificate and key files are checked
	// for changes (and reloaded). 0 turns the polling off; Server.ReloadTLS (SIGHUP in the
	// swarmcast command) still works.
	TLSReloadInterval int           `json:"tlsReloadInterval"`
	Stats             StatsConfig   `json:"stats"`
	Metrics           MetricsConfig `json:"metrics"`
}

// ListenerConfig is one element of "servers": one listening socket.
type ListenerConfig struct {
	Server     ServerOptions    `json:"server"`
	WebSockets WebSocketOptions `json:"websockets"`
}

// ServerOptions is servers[].server: the address and TLS settings that wt-tracker hands
// to uWS App()/SSLApp(). TLS is on when KeyFile is set.
type ServerOptions struct {
	Port     int    `json:"port"`
	Host     string `json:"host"`
	KeyFile  string `json:"key_file_name"`
	CertFile string `json:"cert_file_name"` // the full chain, leaf first
	// Passphrase decrypts an encrypted private key (PKCS#8 "ENCRYPTED PRIVATE KEY" with
	// PBES2, or a legacy "Proc-Type: 4,ENCRYPTED" PEM block).
	Passphrase string `json:"passphrase"`
	// CAFile lists the CAs that client certificates must chain to. As with uSockets
	// (SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT), a client certificate is requested and
	// verified when given; clients without one are still accepted.
	CAFile string `json:"ca_file_name"`
	// Ciphers is an OpenSSL cipher list (TLS 1.2 and older). Names with a Go equivalent are
	// used; the others are skipped with a warning. TLS 1.3 suites are not configurable.
	Ciphers string `json:"ssl_ciphers"`
	// DHParamsFile and PreferLowMemory are accepted for compatibility and ignored with a
	// warning (Go has no finite-field DHE suites; its buffers are already released when idle).
	DHParamsFile    string `json:"dh_params_file_name"`
	PreferLowMemory bool   `json:"ssl_prefer_low_memory_usage"`
}

// TLS reports whether the listener serves wss (key_file_name is set).
func (o ServerOptions) TLS() bool { return o.KeyFile != "" }

// WebSocketOptions is servers[].websockets.
type WebSocketOptions struct {
	// Path is a uWS route pattern: "/*" (any path), "/prefix/*" (the prefix and anything
	// below it), "/a/:param/b" (":x" matches one segment), or an exact path.
	Path             string `json:"path"`
	MaxPayloadLength int    `json:"maxPayloadLength"` // bytes; a larger frame closes the connection (1009)
	IdleTimeout      int    `json:"idleTimeout"`      // seconds without any frame (pings are sent at half); 0 = off
	Compression      int    `json:"compression"`      // 0 off; anything else: permessage-deflate without context takeover
	MaxConnections   int    `json:"maxConnections"`   // per listener; 0 = unlimited

	// swarmcast additions.
	SendQueueLength int `json:"sendQueueLength"` // outgoing frames queued per connection; overflow closes it
	WriteTimeout    int `json:"writeTimeout"`    // seconds for one frame write before the connection is dropped
	// Transport carries the connections: "auto" (the default) uses event loops (epoll, no
	// goroutine per connection) for plain ws on Linux and gorilla/websocket goroutines
	// for wss and elsewhere; "epoll" insists on event loops; "goroutines" never uses them.
	Transport string `json:"transport"`
}

// AccessConfig is "websocketsAccess": an Origin check at upgrade, shared by all listeners.
// AllowOrigins and DenyOrigins are exact string matches; nil means "not set" (an empty,
// non-nil AllowOrigins denies every origin, as in wt-tracker).
type AccessConfig struct {
	AllowOrigins    []string `json:"allowOrigins"`
	DenyOrigins     []string `json:"denyOrigins"`
	DenyEmptyOrigin bool     `json:"denyEmptyOrigin"`
}

// StatsConfig is swarmcast's optional "stats" section.
type StatsConfig struct {
	// PerInfoHash includes peersCountPerInfoHashPerTracker (one entry per swarm) in
	// /stats.json, as wt-tracker does. Turn it off on large trackers (wt-tracker#78).
	PerInfoHash bool `json:"perInfoHash"`
}

// MetricsConfig is swarmcast's optional "metrics" section.
type MetricsConfig struct {
	// Enabled serves the Prometheus registry at /metrics on every listener.
	Enabled bool `json:"enabled"`
}

// DefaultListener returns one "servers" entry with wt-tracker's defaults.
func DefaultListener() ListenerConfig {
	return ListenerConfig{
		Server: ServerOptions{Port: DefaultPort, Host: DefaultHost},
		WebSockets: WebSocketOptions{
			Path:             DefaultPath,
			MaxPayloadLength: DefaultMaxPayloadLength,
			IdleTimeout:      DefaultIdleTimeout,
			Compression:      DefaultCompression,
			SendQueueLength:  DefaultSendQueueLength,
			WriteTimeout:     DefaultWriteTimeout,
			Transport:        TransportAuto,
		},
	}
}

// DefaultConfig returns the configuration wt-tracker runs with when config.json is empty:
// one plain listener on 0.0.0.0:8000.
func DefaultConfig() Config {
	return Config{
		Servers:           []ListenerConfig{DefaultListener()},
		Hub:               HubConfig{MaxOffers: DefaultMaxOffers, AnnounceInterval: DefaultAnnounceInterval, Expiry: ExpiryAnnounce},
		ShutdownTimeout:   DefaultShutdownTimeout,
		TLSReloadInterval: DefaultTLSReloadInterval,
		Stats:             StatsConfig{PerInfoHash: true},
		Metrics:           MetricsConfig{Enabled: true},
	}
}

// Top-level keys of config.json that DecodeConfig owns.
const (
	keyServers           = "servers"
	keyTracker           = "tracker"
	keyAccess            = "websocketsAccess"
	keyShutdownTimeout   = "shutdownTimeout"
	keyTLSReloadInterval = "tlsReloadInterval"
	keyStats             = "stats"
	keyMetrics           = "metrics"
)

// DecodeConfig takes the tracker's top-level keys out of sections (deleting them),
// decodes them over the defaults and validates the result. unknown is called with the key
// path of every key it does not know (wt-tracker ignores them; the caller warns). Errors
// name the JSON key.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (Config, error) {
	cfg := DefaultConfig()
	take := func(key string) (json.RawMessage, bool) {
		raw, ok := sections[key]
		if ok {
			delete(sections, key)
		}
		if ok && strings.TrimSpace(string(raw)) == "null" {
			return nil, false
		}
		return raw, ok
	}
	if raw, ok := take(keyServers); ok {
		var elems []json.RawMessage
		if err := jsonconf.Decode(raw, keyServers, &elems, unknown); err != nil {
			return Config{}, err
		}
		cfg.Servers = make([]ListenerConfig, len(elems))
		for i, e := range elems {
			key := fmt.Sprintf("%s[%d]", keyServers, i)
			if strings.TrimSpace(string(e)) == "null" {
				return Config{}, jsonconf.Errorf(key, "want an object, got null")
			}
			cfg.Servers[i] = DefaultListener()
			if err := jsonconf.Decode(e, key, &cfg.Servers[i], unknown); err != nil {
				return Config{}, err
			}
		}
	}
	if raw, ok := take(keyTracker); ok {
		if err := jsonconf.Decode(raw, keyTracker, &cfg.Hub, unknown); err != nil {
			return Config{}, err
		}
	}
	if raw, ok := take(keyAccess); ok {
		if err := jsonconf.Decode(raw, keyAccess, &cfg.Access, unknown); err != nil {
			return Config{}, err
		}
	}
	for _, opt := range []struct {
		key string
		dst any
	}{
		{keyShutdownTimeout, &cfg.ShutdownTimeout},
		{keyTLSReloadInterval, &cfg.TLSReloadInterval},
		{keyStats, &cfg.Stats},
		{keyMetrics, &cfg.Metrics},
	} {
		if raw, ok := take(opt.key); ok {
			if err := jsonconf.Decode(raw, opt.key, opt.dst, unknown); err != nil {
				return Config{}, err
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	// The hub's Validate fills its defaults in (maxOffers 0 means 20, as in the hub), so
	// the decoded config shows the values that will be used.
	if err := cfg.Hub.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// maxSeconds bounds every duration key, so seconds→time.Duration cannot overflow.
const maxSeconds = 10 * 365 * 24 * 3600

// Validate reports the first impossible value, naming its JSON key.
func (c Config) Validate() error {
	if len(c.Servers) == 0 {
		return jsonconf.Errorf(keyServers, "must list at least one server")
	}
	for i, l := range c.Servers {
		if err := l.validate(fmt.Sprintf("%s[%d]", keyServers, i)); err != nil {
			return err
		}
	}
	if err := validateHub(c.Hub); err != nil {
		return err
	}
	if c.Access.AllowOrigins != nil && c.Access.DenyOrigins != nil {
		return jsonconf.Errorf(keyAccess, "allowOrigins and denyOrigins can't be set simultaneously")
	}
	if err := secondsInRange(keyShutdownTimeout, c.ShutdownTimeout, 0); err != nil {
		return err
	}
	return secondsInRange(keyTLSReloadInterval, c.TLSReloadInterval, 0)
}

// validateHub checks the "tracker" section with the hub's own rules (on a copy: Validate
// also fills in defaults).
func validateHub(h HubConfig) error { return h.Validate() }

func secondsInRange(key string, v, lowest int) error {
	if v < lowest || v > maxSeconds {
		return jsonconf.Errorf(key, "must be between %d and %d seconds, got %d", lowest, maxSeconds, v)
	}
	return nil
}

func (l ListenerConfig) validate(prefix string) error {
	s, w := l.Server, l.WebSockets
	key := func(section, name string) string { return prefix + "." + section + "." + name }
	if s.Port < 0 || s.Port > 65535 {
		return jsonconf.Errorf(key("server", "port"), "must be between 0 and 65535, got %d", s.Port)
	}
	if s.KeyFile == "" && s.CertFile != "" {
		return jsonconf.Errorf(key("server", "key_file_name"), "must be set when cert_file_name is")
	}
	if s.KeyFile != "" && s.CertFile == "" {
		return jsonconf.Errorf(key("server", "cert_file_name"), "must be set when key_file_name is")
	}
	if _, err := compilePath(w.Path); err != nil {
		return jsonconf.Errorf(key("websockets", "path"), "%v", err)
	}
	if w.MaxPayloadLength <= 0 || w.MaxPayloadLength > 1<<30 {
		return jsonconf.Errorf(key("websockets", "maxPayloadLength"), "must be between 1 and %d bytes, got %d", 1<<30, w.MaxPayloadLength)
	}
	if err := secondsInRange(key("websockets", "idleTimeout"), w.IdleTimeout, 0); err != nil {
		return err
	}
	if w.Compression < 0 {
		return jsonconf.Errorf(key("websockets", "compression"), "must be ≥ 0, got %d", w.Compression)
	}
	if w.MaxConnections < 0 {
		return jsonconf.Errorf(key("websockets", "maxConnections"), "must be ≥ 0 (0 = unlimited), got %d", w.MaxConnections)
	}
	if w.SendQueueLength < 1 || w.SendQueueLength > 1<<16 {
		return jsonconf.Errorf(key("websockets", "sendQueueLength"), "must be between 1 and %d, got %d", 1<<16, w.SendQueueLength)
	}
	if err := secondsInRange(key("websockets", "writeTimeout"), w.WriteTimeout, 1); err != nil {
		return err
	}
	switch w.Transport {
	case TransportAuto, TransportGoroutines:
	case TransportEventLoop:
		if !eventLoopsAvailable {
			return jsonconf.Errorf(key("websockets", "transport"), "%q needs Linux; use %q or %q", w.Transport, TransportAuto, TransportGoroutines)
		}
		if s.TLS() {
			return jsonconf.Errorf(key("websockets", "transport"), "%q serves plain ws only; TLS listeners use %q", w.Transport, TransportGoroutines)
		}
	default:
		return jsonconf.Errorf(key("websockets", "transport"), "must be %q, %q or %q, got %q", TransportAuto, TransportEventLoop, TransportGoroutines, w.Transport)
	}
	return nil
}

// eventLoops reports whether the listener's connections go to the event-loop transport.
func (l ListenerConfig) eventLoops() bool {
	return eventLoopsAvailable && !l.Server.TLS() && l.WebSockets.Transport != TransportGoroutines
}

// address is "host:port" as wt-tracker prints it in /stats.json and its log line (plain
// concatenation, so "::" gives ":::8000").
func (o ServerOptions) address() string { return fmt.Sprintf("%s:%d", o.Host, o.Port) }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
