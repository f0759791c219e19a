package loadtest

import (
	"errors"
	"math/rand/v2"
	"os"
	"time"
)

// client is one simulated peer on one connection. It is driven by a single goroutine,
// which reads, answers and announces, so it needs no locks.
type client struct {
	rn  *runner
	idx int
	ws  *wsConn
	out []byte // frames waiting to be written

	ih, pid [IDLen]byte // this connection's current info_hash and peer_id
	to, oid [IDLen]byte // ids for the answer being built
	scratch [IDLen]byte
	seq     uint64 // offer ids issued
	q       rttQueue
	rng     *rand.Rand
	// answering makes the offer_id hole take c.oid (an answer) instead of a fresh id.
	answering bool
	ids       func(Slot) []byte // c.idFor as a method value, allocated once
}

func newClient(rn *runner, idx int, ws *wsConn) *client {
	c := &client{rn: rn, idx: idx, ws: ws, rng: rand.New(rand.NewPCG(uint64(idx), rn.seed))}
	c.ids = c.idFor
	c.q = newRTTQueue(4)
	if rn.cfg.Mode == ModeClosed {
		c.q = newRTTQueue(64)
	}
	putID(c.pid[:], rn.peerPrefix, uint64(idx))
	c.setSwarm(idx % rn.cfg.Swarms)
	return c
}

func (c *client) setSwarm(s int) { putID(c.ih[:], "lt-swarm", uint64(s)) }

// idFor supplies template holes. Each offer gets a fresh offer_id.
func (c *client) idFor(s Slot) []byte {
	switch s {
	case SlotInfoHash:
		return c.ih[:]
	case SlotPeerID:
		return c.pid[:]
	case SlotToPeerID:
		return c.to[:]
	}
	if c.answering {
		return c.oid[:]
	}
	c.seq++
	putID(c.scratch[:], c.rn.offerPrefix, uint64(c.idx)<<32|c.seq&0xFFFFFFFF)
	return c.scratch[:]
}

func (c *client) now() int64 { return int64(time.Since(c.rn.base)) }

// announce queues an announce frame built from t.
func (c *client) announce(t *Template) {
	c.answering = false
	c.out = t.AppendFill(c.out, c.ids)
	c.rn.ctr.SentAnnounces.Add(1)
	if !c.q.push(c.now()) {
		c.rn.ctr.MissingReplies.Add(1)
	}
}

// answer queues the answer to an offer; ok is false if the offer lacked the ids needed.
func (c *client) answer(m *Msg, closed bool) bool {
	ih, to, oid := plainID(m.InfoHash), plainID(m.PeerID), plainID(m.OfferID)
	if m.PeerID == nil {
		return false
	}
	tpl := c.rn.tpl.answer
	if closed {
		tpl = c.rn.tpl.closedAnswer
	}
	if ih == nil || to == nil || oid == nil {
		// Ids that are not 20 plain bytes: build the answer by hand, uncompressed
		// (permessage-deflate lets any message go out uncompressed).
		c.out = appendFrame(c.out, opText, false, c.rn.slowAnswer(m, c.ih[:], c.pid[:], closed))
		c.rn.ctr.SentAnswers.Add(1)
		return true
	}
	copy(c.to[:], to)
	copy(c.oid[:], oid)
	saved := c.ih
	copy(c.ih[:], ih)
	c.answering = true
	c.out = tpl.AppendFill(c.out, c.ids)
	c.answering = false
	c.ih = saved
	c.rn.ctr.SentAnswers.Add(1)
	return true
}

// handle processes one received message; in open mode offers are answered at once.
func (c *client) handle(p []byte, autoAnswer bool) Msg {
	ctr := &c.rn.ctr
	m, err := Scan(p)
	if err != nil {
		ctr.ProtocolErrors.Add(1)
		return m
	}
	switch m.Kind {
	case KindReply:
		ctr.RecvReplies.Add(1)
		if t, ok := c.q.pop(); ok {
			c.rn.rtt.Record(time.Duration(c.now() - t))
		}
	case KindOffer:
		ctr.RecvOffers.Add(1)
		if autoAnswer && !c.answer(&m, false) {
			ctr.ProtocolErrors.Add(1)
		}
	case KindAnswer:
		ctr.RecvAnswers.Add(1)
	case KindFailure:
		ctr.RecvFailures.Add(1)
		c.q.pop() // a failure takes the place of the reply
	default:
		ctr.RecvOther.Add(1)
	}
	return m
}

// flush writes the queued frames in one write.
func (c *client) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	n, err := c.ws.nc.Write(c.out)
	c.rn.ctr.BytesOut.Add(int64(n))
	c.out = c.out[:0]
	return err
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// runOpen drives open and idle modes: announce at first, then every Interval (open), and
// answer every offer. It returns when the connection fails or the run stops.
func (c *client) runOpen(first time.Time) error {
	cfg := c.rn.cfg
	next := first
	started := false
	if err := c.ws.nc.SetReadDeadline(next); err != nil {
		return err
	}
	for {
		if now := time.Now(); !now.Before(next) {
			tpl := c.rn.tpl.announce
			if !started {
				tpl = c.rn.tpl.announceStarted
				started = true
			}
			c.announce(tpl)
			if cfg.Mode == ModeIdle {
				next = farFuture
			} else {
				next = next.Add(cfg.Interval)
				if now.Sub(next) > cfg.Interval {
					// More than an interval behind: the generator cannot keep up.
					c.rn.ctr.LateAnnounces.Add(1)
					next = now.Add(cfg.Interval)
				}
			}
			if err := c.flush(); err != nil {
				return err
			}
			dl := next
			if next.Equal(farFuture) {
				dl = zeroTime
			}
			if err := c.ws.nc.SetReadDeadline(dl); err != nil {
				return err
			}
		}
		p, err := c.ws.next(&c.out)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			_ = c.flush() // a pong or close frame
			return err
		}
		c.rn.ctr.BytesIn.Add(int64(len(p)))
		c.handle(p, true)
		if !c.ws.complete() || len(c.out) > 32<<10 {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// closedReadTimeout ends a closed-loop wait that no message will end (everyone else
// also waiting after an answer, which wt-tracker does not acknowledge).
const closedReadTimeout = time.Second

// runClosed drives closed mode: send one message, read one, repeat. The message sent is
// an answer when the message read was an offer, else an announce to a random swarm
// (completed with probability 0.25, as aquatic_ws_load_test).
func (c *client) runClosed() error {
	cfg := c.rn.cfg
	tpl := c.rn.tpl
	var offer bool
	for {
		if offer {
			c.answering = true
			c.out = tpl.closedAnswer.AppendFill(c.out, c.ids)
			c.answering = false
			c.rn.ctr.SentAnswers.Add(1)
		} else {
			c.setSwarm(c.rng.IntN(cfg.Swarms))
			t := tpl.closedStarted
			if c.rng.IntN(4) == 0 {
				t = tpl.closedCompleted
			}
			c.announce(t)
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := c.ws.nc.SetReadDeadline(time.Now().Add(closedReadTimeout)); err != nil {
			return err
		}
		p, err := c.ws.next(&c.out)
		if err != nil {
			if isTimeout(err) {
				c.rn.ctr.Stalls.Add(1)
				offer = false
				continue
			}
			_ = c.flush()
			return err
		}
		offer = false
		for {
			c.rn.ctr.BytesIn.Add(int64(len(p)))
			m := c.handle(p, false)
			if m.Kind == KindOffer {
				ih, to, oid := plainID(m.InfoHash), plainID(m.PeerID), plainID(m.OfferID)
				if ih != nil && to != nil && oid != nil {
					copy(c.ih[:], ih)
					copy(c.to[:], to)
					copy(c.oid[:], oid)
					offer = true
				} else {
					c.rn.ctr.ProtocolErrors.Add(1)
				}
			}
			// Also take the messages that arrived with it (no extra read): a tracker
			// produces more messages than one per message sent (an announce brings a
			// reply and offers to others), so a strict one-for-one reader falls behind
			// without bound and gets closed as a slow consumer.
			if !c.ws.complete() {
				break
			}
			if p, err = c.ws.next(&c.out); err != nil {
				_ = c.flush()
				return err
			}
		}
	}
}
