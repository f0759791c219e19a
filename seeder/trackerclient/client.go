// Package trackerclient joins one swarm on one WebTorrent WebSocket tracker (our tracker,
// wt-tracker, bittorrent-tracker's server) the way a P2P Media Loader browser does: announce
// with a 20-char info_hash and peer_id, carry WebRTC offers in announces, answer relayed
// offers, and receive answers to its own offers. It reconnects with exponential backoff and
// jitter and re-announces at the interval the tracker asks for.
//
// One Client uses its own WebSocket, so each of the seeder's swarms (one peer_id each) also
// works with old wt-tracker versions that allowed a single peer_id per socket.
package trackerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Offer is one WebRTC offer carried in an announce.
type Offer struct {
	ID  string // 20-char offer_id
	SDP string
}

// Handler is the swarm side of a Client. Its methods may be called concurrently.
type Handler interface {
	// Offers returns up to n fresh offers to carry in the next announce.
	Offers(ctx context.Context, n int) []Offer
	// OnOffer answers a relayed offer from peer `from`; an error means no answer is sent.
	OnOffer(ctx context.Context, from, offerID, sdp string) (answerSDP string, err error)
	// OnAnswer delivers a peer's answer to one of our offers.
	OnAnswer(from, offerID, sdp string)
}

// Config configures a Client.
type Config struct {
	URL      string // ws:// or wss://
	InfoHash string // exactly as it goes on the wire
	PeerID   string // 20 ASCII chars
	// Offers is how many offers each announce carries (and numwant).
	Offers int
	// DefaultInterval is used until the tracker sends "interval"; 0: 120 s.
	DefaultInterval time.Duration
	// MinInterval clamps the tracker's interval from below; 0: 5 s.
	MinInterval time.Duration
	// MinBackoff and MaxBackoff bound reconnect delays; 0: 1 s and 60 s.
	MinBackoff, MaxBackoff time.Duration
	// MaxConcurrentOffers bounds offers being answered at once; extra offers are dropped.
	MaxConcurrentOffers int
	// Header is sent with the WebSocket handshake (e.g. Origin).
	Header http.Header
}

// Stats are a Client's counters.
type Stats struct {
	URL            string `json:"url"`
	Connected      bool   `json:"connected"`
	Connects       uint64 `json:"connects"`
	Announces      uint64 `json:"announces"`
	OffersReceived uint64 `json:"offersReceived"`
	OffersDropped  uint64 `json:"offersDropped"`
	Answers        uint64 `json:"answersReceived"`
	Failures       uint64 `json:"failures"`
}

// Client is one swarm membership on one tracker. Create with New, then Run.
type Client struct {
	// Static after New.
	cfg Config
	h   Handler
	log *slog.Logger

	connected                                                    atomic.Bool
	connects, announces, offersIn, offersDropped, answers, fails atomic.Uint64
}

// New validates cfg and returns a Client.
func New(cfg Config, h Handler, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.URL == "" || cfg.InfoHash == "" || cfg.PeerID == "" || h == nil {
		return nil, errors.New("trackerclient: URL, InfoHash, PeerID and a handler are required")
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = 120 * time.Second
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 5 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.MaxConcurrentOffers <= 0 {
		cfg.MaxConcurrentOffers = 4
	}
	return &Client{cfg: cfg, h: h, log: log.With("tracker", cfg.URL)}, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{URL: c.cfg.URL, Connected: c.connected.Load(), Connects: c.connects.Load(), Announces: c.announces.Load(),
		OffersReceived: c.offersIn.Load(), OffersDropped: c.offersDropped.Load(), Answers: c.answers.Load(), Failures: c.fails.Load()}
}

// Run keeps the membership alive until ctx ends; it returns nil then.
func (c *Client) Run(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := c.session(ctx)
		c.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 30*time.Second {
			backoff = c.cfg.MinBackoff
		}
		// Full jitter between backoff/2 and backoff.
		delay := backoff/2 + rand.N(backoff/2+1)
		c.log.Warn("tracker connection ended, reconnecting", "err", err, "in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
	return nil
}

// wire types

type sdpMsg struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type offerOut struct {
	OfferID string `json:"offer_id"`
	Offer   sdpMsg `json:"offer"`
}

type announceOut struct {
	Action     string     `json:"action"`
	InfoHash   string     `json:"info_hash"`
	PeerID     string     `json:"peer_id"`
	NumWant    int        `json:"numwant"`
	Uploaded   int64      `json:"uploaded"`
	Downloaded int64      `json:"downloaded"`
	Left       int64      `json:"left"`
	Event      string     `json:"event,omitempty"`
	Offers     []offerOut `json:"offers"`
	TrackerID  string     `json:"trackerid,omitempty"`
}

type answerOut struct {
	Action    string `json:"action"`
	InfoHash  string `json:"info_hash"`
	PeerID    string `json:"peer_id"`
	ToPeerID  string `json:"to_peer_id"`
	Answer    sdpMsg `json:"answer"`
	OfferID   string `json:"offer_id"`
	TrackerID string `json:"trackerid,omitempty"`
}

type incoming struct {
	Action        string      `json:"action"`
	InfoHash      string      `json:"info_hash"`
	PeerID        string      `json:"peer_id"`
	Interval      json.Number `json:"interval"`
	Offer         *sdpMsg     `json:"offer"`
	Answer        *sdpMsg     `json:"answer"`
	OfferID       string      `json:"offer_id"`
	FailureReason string      `json:"failure reason"`
	Warning       string      `json:"warning message"`
	TrackerID     string      `json:"tracker id"`
}

const (
	maxTrackerMessage = 1 << 20
	writeTimeout      = 10 * time.Second
	pingInterval      = 30 * time.Second
	sendQueue         = 64
)

// session runs one WebSocket connection: this goroutine reads; one writer goroutine drains
// a bounded queue; one announcer goroutine re-announces at the interval.
func (c *Client) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}
	ws, _, err := d.DialContext(ctx, c.cfg.URL, c.cfg.Header)
	if err != nil {
		c.fails.Add(1)
		return fmt.Errorf("dial: %w", err)
	}
	ws.SetReadLimit(maxTrackerMessage)
	c.connects.Add(1)
	c.connected.Store(true)
	c.log.Info("connected to tracker", "info_hash", printable(c.cfg.InfoHash))

	s := &session{c: c, ws: ws, out: make(chan []byte, sendQueue), interval: make(chan time.Duration, 1)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.writeLoop(ctx); cancel() }()
	go func() { defer wg.Done(); s.announceLoop(ctx) }()
	err = s.readLoop(ctx)
	cancel()
	_ = ws.Close() // unblocks the reader; the writer has returned or will on ctx
	wg.Wait()
	s.offers.Wait()
	return err
}

type session struct {
	// Static.
	c        *Client
	ws       *websocket.Conn
	out      chan []byte        // bounded send queue, drained by writeLoop; never closed
	interval chan time.Duration // tracker's interval updates, read by announceLoop
	offers   sync.WaitGroup     // offer-answering goroutines
	inflight atomic.Int32
	// trackerID is set by readLoop and read by the announcer and offer goroutines.
	trackerID atomic.Value // string
}

func (s *session) send(ctx context.Context, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	select {
	case s.out <- b:
		return true
	case <-ctx.Done():
		return false
	default:
		s.c.log.Warn("tracker send queue full, message dropped")
		return false
	}
}

func (s *session) writeLoop(ctx context.Context) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		case b := <-s.out:
			_ = s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				s.c.log.Debug("tracker write failed", "err", err)
				return
			}
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

func (s *session) tid() string {
	v, _ := s.trackerID.Load().(string)
	return v
}

func (s *session) announceLoop(ctx context.Context) {
	interval := s.c.cfg.DefaultInterval
	event := "started"
	for {
		offers := s.c.h.Offers(ctx, s.c.cfg.Offers)
		if ctx.Err() != nil {
			return
		}
		msg := announceOut{Action: "announce", InfoHash: s.c.cfg.InfoHash, PeerID: s.c.cfg.PeerID, NumWant: len(offers),
			Event: event, Offers: make([]offerOut, 0, len(offers)), TrackerID: s.tid()}
		for _, o := range offers {
			msg.Offers = append(msg.Offers, offerOut{OfferID: o.ID, Offer: sdpMsg{Type: "offer", SDP: o.SDP}})
		}
		if s.send(ctx, msg) {
			s.c.announces.Add(1)
		}
		event = ""
		t := time.NewTimer(interval)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case iv := <-s.interval:
				if iv != interval {
					interval = iv
					t.Reset(interval)
				}
			case <-t.C:
				break wait
			}
		}
	}
}

func (s *session) readLoop(ctx context.Context) error {
	for {
		_ = s.ws.SetReadDeadline(time.Now().Add(10 * time.Minute))
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		var m incoming
		if err := json.Unmarshal(b, &m); err != nil {
			s.c.log.Debug("unparsable tracker message ignored", "err", err)
			continue
		}
		if m.InfoHash != s.c.cfg.InfoHash || m.PeerID == s.c.cfg.PeerID {
			continue
		}
		if m.FailureReason != "" {
			s.c.fails.Add(1)
			s.c.log.Warn("tracker failure", "reason", m.FailureReason)
			continue
		}
		if m.Warning != "" {
			s.c.log.Warn("tracker warning", "warning", m.Warning)
		}
		if m.TrackerID != "" {
			s.trackerID.Store(m.TrackerID)
		}
		if m.Interval != "" {
			if f, err := m.Interval.Float64(); err == nil && f > 0 {
				iv := max(time.Duration(f*float64(time.Second)), s.c.cfg.MinInterval)
				select {
				case s.interval <- iv:
				default:
					select {
					case <-s.interval:
					default:
					}
					s.interval <- iv
				}
			}
		}
		switch {
		case m.Offer != nil && m.OfferID != "" && m.PeerID != "":
			s.c.offersIn.Add(1)
			if int(s.inflight.Load()) >= s.c.cfg.MaxConcurrentOffers {
				s.c.offersDropped.Add(1)
				continue
			}
			s.inflight.Add(1)
			s.offers.Add(1)
			go func(from, id, sdp string) {
				defer s.offers.Done()
				defer s.inflight.Add(-1)
				answer, err := s.c.h.OnOffer(ctx, from, id, sdp)
				if err != nil {
					s.c.log.Debug("offer not answered", "err", err)
					return
				}
				s.send(ctx, answerOut{Action: "announce", InfoHash: s.c.cfg.InfoHash, PeerID: s.c.cfg.PeerID, ToPeerID: from,
					Answer: sdpMsg{Type: "answer", SDP: answer}, OfferID: id, TrackerID: s.tid()})
			}(m.PeerID, m.OfferID, m.Offer.SDP)
		case m.Answer != nil && m.OfferID != "" && m.PeerID != "":
			s.c.answers.Add(1)
			s.c.h.OnAnswer(m.PeerID, m.OfferID, m.Answer.SDP)
		}
	}
}

// printable renders an info_hash for logs: base64 ones as they are, latin1 ones as hex.
func printable(ih string) string {
	for _, r := range ih {
		if r < 0x20 || r > 0x7e {
			var b []byte
			for _, r := range ih {
				b = append(b, byte(r))
			}
			return fmt.Sprintf("%x", b)
		}
	}
	return ih
}
