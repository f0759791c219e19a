// Package rtc is the seeder's WebRTC transport on pion/webrtc v4: one set of UDP sockets on a
// single port shared by every peer (ICE UDP mux), optional public IPs for hosts behind 1:1 NAT
// or Docker port publishing, ICE servers from config, loopback-only mode for tests, and data
// channels detached into blocking message readers and writers with backpressure.
//
// Offers and answers are non-trickle (every candidate is in the SDP), as P2P Media Loader's
// simple-peer expects. Browsers' mDNS (.local) host candidates are resolved by pion's
// query-only mDNS mode; when that fails the connection still works through the browser's
// server-reflexive or peer-reflexive candidates.
package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Defaults.
const (
	DefaultUDPBufferBytes    = 4 << 20
	DefaultMaxBufferedAmount = 1 << 20
	DefaultWriteTimeout      = 10 * time.Second
	DefaultGatherTimeout     = 5 * time.Second
	// MaxMessageSize is the largest message the seeder reads; larger ones drop the peer.
	MaxMessageSize = 256 << 10
)

// cipherSuites are the DTLS cipher suites the seeder offers and accepts, cheapest first.
// pion's default list puts ChaCha20-Poly1305 third, and as DTLS server (the seeder's own
// offers, which browsers answer as DTLS client) pion takes the client's first choice: a
// browser without AES hardware (BoringSSL then prefers ChaCha20) would make the seeder
// encrypt everything with ChaCha20, ~15 % more CPU per byte than AES-GCM with AES-NI.
// Every WebRTC endpoint must implement TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 8827
// §6.5), and pion's certificates are ECDSA, so the RSA and ChaCha20 suites are left out.
var cipherSuites = []dtls.CipherSuiteID{
	dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
}

// Config configures the transport.
type Config struct {
	// ICEServers for gathering (STUN/TURN); none: host candidates only.
	ICEServers []webrtc.ICEServer
	// UDPPort is the single UDP port all peers share (0: an ephemeral port).
	UDPPort int
	// PublicIPs replace the host candidates' addresses (1:1 NAT, Docker -p PORT:PORT/udp).
	PublicIPs []string
	// LoopbackOnly restricts ICE to 127.0.0.1 (tests).
	LoopbackOnly bool
	// UDPBufferBytes is the socket receive and send buffer size.
	UDPBufferBytes int
	// MaxBufferedAmount is the data-channel buffered amount above which writes wait.
	MaxBufferedAmount uint64
	// WriteTimeout bounds how long one write may wait for the buffered amount to drain.
	WriteTimeout time.Duration
	// GatherTimeout bounds ICE gathering for one offer or answer.
	GatherTimeout time.Duration
	// PerConnectionPorts gives every peer connection its own UDP socket instead of the shared
	// port. Test peers that connect several times to one muxed seeder need it: two muxed
	// endpoints cannot tell apart connections that share a 5-tuple.
	PerConnectionPorts bool
	// DisconnectedTimeout and FailedTimeout are ICE's consent timeouts (0: 5 s and 15 s).
	DisconnectedTimeout, FailedTimeout time.Duration
}

// API creates peer connections. It is safe for concurrent use.
type API struct {
	// Static after New.
	cfg Config
	log *slog.Logger
	api *webrtc.API
	mux *ice.MultiUDPMuxDefault
}

// ErrClosed is returned for operations on a closed connection.
var ErrClosed = errors.New("connection closed")

// ErrWriteTimeout is returned when the peer does not drain its buffer within WriteTimeout.
var ErrWriteTimeout = errors.New("write timed out waiting for the peer to drain its buffer")

// New opens the UDP sockets and returns an API.
func New(cfg Config, log *slog.Logger) (*API, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.UDPBufferBytes <= 0 {
		cfg.UDPBufferBytes = DefaultUDPBufferBytes
	}
	if cfg.MaxBufferedAmount == 0 {
		cfg.MaxBufferedAmount = DefaultMaxBufferedAmount
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = DefaultGatherTimeout
	}
	if cfg.DisconnectedTimeout <= 0 {
		cfg.DisconnectedTimeout = 5 * time.Second
	}
	if cfg.FailedTimeout <= 0 {
		cfg.FailedTimeout = 15 * time.Second
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("public IP %q is not an IP address", ip)
		}
	}
	lf := &slogFactory{log: log.With("component", "pion")}
	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithReadBufferSize(cfg.UDPBufferBytes),
		ice.UDPMuxFromPortWithWriteBufferSize(cfg.UDPBufferBytes),
		ice.UDPMuxFromPortWithLogger(lf.NewLogger("udpmux")),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
	}
	if cfg.LoopbackOnly {
		opts = append(opts,
			ice.UDPMuxFromPortWithLoopback(),
			ice.UDPMuxFromPortWithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
		)
	} else {
		opts = append(opts, ice.UDPMuxFromPortWithIPFilter(func(ip net.IP) bool { return !ip.IsLoopback() }))
	}
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.DetachDataChannels()
	// RFC 9653: no CRC32c over SCTP packets inside DTLS (its AEAD already protects them). It
	// is negotiated in the SCTP handshake, so it applies only where the remote accepts it
	// (pion does; Chromium 156 does not advertise it by default) and changes nothing otherwise.
	se.EnableSCTPZeroChecksum(true)
	se.SetDTLSCipherSuites(cipherSuites...)
	var mux *ice.MultiUDPMuxDefault
	if !cfg.PerConnectionPorts {
		m, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
		if err != nil {
			return nil, fmt.Errorf("open UDP port %d: %w", cfg.UDPPort, err)
		}
		mux = m
		se.SetICEUDPMux(mux)
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(cfg.DisconnectedTimeout, cfg.FailedTimeout, 2*time.Second)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return strings.HasPrefix(name, "lo") })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		// Tests never reach a multicast or external address.
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			if mux != nil {
				_ = mux.Close()
			}
			return nil, fmt.Errorf("public IPs: %w", err)
		}
	}
	// No media: an empty media engine and no RTP interceptors (the defaults start NACK,
	// report and TWCC goroutines and timers for every peer connection).
	a := &API{cfg: cfg, log: log, mux: mux, api: webrtc.NewAPI(webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(&webrtc.MediaEngine{}), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))}
	return a, nil
}

// LocalAddrs returns the UDP addresses the mux listens on (none with PerConnectionPorts).
func (a *API) LocalAddrs() []net.Addr {
	if a.mux == nil {
		return nil
	}
	return a.mux.GetListenAddresses()
}

// Close closes the shared UDP sockets. Peer connections must be closed first.
func (a *API) Close() error {
	if a.mux == nil {
		return nil
	}
	return a.mux.Close()
}

func (a *API) newPC() (*webrtc.PeerConnection, error) {
	return a.api.NewPeerConnection(webrtc.Configuration{ICEServers: a.cfg.ICEServers})
}

// gather sets the local description and waits for ICE gathering, returning the full SDP.
func (a *API) gather(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	t := time.NewTimer(a.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C: // send what was gathered so far, as simple-peer does
	case <-ctx.Done():
		return "", ctx.Err()
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return "", errors.New("no local description")
	}
	return ld.SDP, nil
}

// Answer accepts a browser's offer and returns the pending connection and the answer SDP.
func (a *API) Answer(ctx context.Context, offerSDP string) (*Pending, string, error) {
	pc, err := a.newPC()
	if err != nil {
		return nil, "", err
	}
	p := newPending(a, pc)
	pc.OnDataChannel(p.onDataChannel)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		p.Close()
		return nil, "", fmt.Errorf("set remote offer: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		p.Close()
		return nil, "", fmt.Errorf("create answer: %w", err)
	}
	sdp, err := a.gather(ctx, pc, ans)
	if err != nil {
		p.Close()
		return nil, "", err
	}
	return p, sdp, nil
}

// Offer creates a connection with one ordered, reliable data channel (as simple-peer's
// initiator does) and returns it with the offer SDP. Complete it with Pending.Accept.
func (a *API) Offer(ctx context.Context, label string) (*Pending, string, error) {
	pc, err := a.newPC()
	if err != nil {
		return nil, "", err
	}
	p := newPending(a, pc)
	dc, err := pc.CreateDataChannel(label, nil)
	if err != nil {
		p.Close()
		return nil, "", fmt.Errorf("create data channel: %w", err)
	}
	dc.OnOpen(func() { p.onOpen(dc) })
	off, err := pc.CreateOffer(nil)
	if err != nil {
		p.Close()
		return nil, "", fmt.Errorf("create offer: %w", err)
	}
	sdp, err := a.gather(ctx, pc, off)
	if err != nil {
		p.Close()
		return nil, "", err
	}
	return p, sdp, nil
}

// slogFactory sends pion's logs to slog at debug level (warnings and errors at info): pion
// logs every routine peer failure, which is not an operator's concern.
type slogFactory struct{ log *slog.Logger }

func (f *slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{log: f.log.With("scope", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Trace(string)              {}
func (l slogLogger) Tracef(string, ...any)     {}
func (l slogLogger) Debug(m string)            { l.log.Debug(m) }
func (l slogLogger) Debugf(f string, a ...any) { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Info(m string)             { l.log.Debug(m) }
func (l slogLogger) Infof(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Warn(m string)             { l.log.Debug(m) }
func (l slogLogger) Warnf(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Error(m string)            { l.log.Info(m) }
func (l slogLogger) Errorf(f string, a ...any) { l.log.Info(fmt.Sprintf(f, a...)) }
