package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets: exact below 64 ns, then 32 buckets
// per power of two (about 3 % relative error). Record is safe for concurrent use.
type Histogram struct {
	counts [histBuckets]atomic.Int64
}

const (
	histSub     = 32
	histBuckets = 64 + 58*histSub
)

func bucketOf(v uint64) int {
	if v < 64 {
		return int(v)
	}
	shift := bits.Len64(v) - 6 // ≥ 1; v>>shift has 6 significant bits: 32..63
	return 64 + (shift-1)*histSub + int(v>>shift) - histSub
}

// bucketRange returns the smallest and largest value that fall into bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 64 {
		return uint64(i), uint64(i)
	}
	shift := (i-64)/histSub + 1
	top := uint64((i-64)%histSub + histSub)
	return top << shift, (top+1)<<shift - 1
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

// Snapshot is a copy of a histogram's counts; subtracting two gives a window.
type Snapshot [histBuckets]int64

// Snapshot copies the counts.
func (h *Histogram) Snapshot() *Snapshot {
	var s Snapshot
	for i := range h.counts {
		s[i] = h.counts[i].Load()
	}
	return &s
}

// Sub returns s − earlier.
func (s *Snapshot) Sub(earlier *Snapshot) *Snapshot {
	var d Snapshot
	for i := range s {
		d[i] = s[i] - earlier[i]
	}
	return &d
}

// Count is the number of observations.
func (s *Snapshot) Count() int64 {
	var n int64
	for _, c := range s {
		n += c
	}
	return n
}

// Quantile returns the value below which a fraction q of observations fall (the middle
// of the bucket holding the rank ⌈q·n⌉), or 0 without observations.
func (s *Snapshot) Quantile(q float64) time.Duration {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range s {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return time.Duration(lo + (hi-lo)/2)
		}
	}
	return 0
}

// Max returns the upper bound of the highest non-empty bucket.
func (s *Snapshot) Max() time.Duration {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] > 0 {
			_, hi := bucketRange(i)
			return time.Duration(hi)
		}
	}
	return 0
}

// Counters are the generator's running totals, shared by all connections.
type Counters struct {
	SentAnnounces atomic.Int64
	SentAnswers   atomic.Int64
	SentOther     atomic.Int64 // pongs and close frames
	RecvReplies   atomic.Int64
	RecvOffers    atomic.Int64
	RecvAnswers   atomic.Int64
	RecvFailures  atomic.Int64
	RecvOther     atomic.Int64 // scrape replies, unknown objects, pings
	BytesOut      atomic.Int64
	BytesIn       atomic.Int64

	Connected      atomic.Int64 // connections currently open
	DialErrors     atomic.Int64 // TCP, TLS or handshake failures
	Closes         atomic.Int64 // connections the server closed or reset during the run
	ProtocolErrors atomic.Int64 // malformed frames or JSON, unanswerable offers
	LateAnnounces  atomic.Int64 // announces sent more than one interval late (generator overloaded)
	MissingReplies atomic.Int64 // announces still unanswered when the next one was due
	Stalls         atomic.Int64 // closed mode: read timeouts after which a new announce was sent
}

// CounterSnap is a plain copy of Counters.
type CounterSnap struct {
	SentAnnounces, SentAnswers, SentOther                         int64
	RecvReplies, RecvOffers, RecvAnswers, RecvFailures, RecvOther int64
	BytesOut, BytesIn                                             int64
	Connected, DialErrors, Closes, ProtocolErrors                 int64
	LateAnnounces, MissingReplies, Stalls                         int64
}

// Snap copies the counters.
func (c *Counters) Snap() CounterSnap {
	return CounterSnap{
		SentAnnounces: c.SentAnnounces.Load(), SentAnswers: c.SentAnswers.Load(), SentOther: c.SentOther.Load(),
		RecvReplies: c.RecvReplies.Load(), RecvOffers: c.RecvOffers.Load(), RecvAnswers: c.RecvAnswers.Load(),
		RecvFailures: c.RecvFailures.Load(), RecvOther: c.RecvOther.Load(),
		BytesOut: c.BytesOut.Load(), BytesIn: c.BytesIn.Load(),
		Connected: c.Connected.Load(), DialErrors: c.DialErrors.Load(), Closes: c.Closes.Load(),
		ProtocolErrors: c.ProtocolErrors.Load(), LateAnnounces: c.LateAnnounces.Load(),
		MissingReplies: c.MissingReplies.Load(), Stalls: c.Stalls.Load(),
	}
}

// Sub returns s − e for every running total; Connected keeps s's value.
func (s CounterSnap) Sub(e CounterSnap) CounterSnap {
	return CounterSnap{
		SentAnnounces: s.SentAnnounces - e.SentAnnounces, SentAnswers: s.SentAnswers - e.SentAnswers,
		SentOther: s.SentOther - e.SentOther, RecvReplies: s.RecvReplies - e.RecvReplies,
		RecvOffers: s.RecvOffers - e.RecvOffers, RecvAnswers: s.RecvAnswers - e.RecvAnswers,
		RecvFailures: s.RecvFailures - e.RecvFailures, RecvOther: s.RecvOther - e.RecvOther,
		BytesOut: s.BytesOut - e.BytesOut, BytesIn: s.BytesIn - e.BytesIn,
		Connected: s.Connected, DialErrors: s.DialErrors - e.DialErrors, Closes: s.Closes - e.Closes,
		ProtocolErrors: s.ProtocolErrors - e.ProtocolErrors, LateAnnounces: s.LateAnnounces - e.LateAnnounces,
		MissingReplies: s.MissingReplies - e.MissingReplies, Stalls: s.Stalls - e.Stalls,
	}
}

// Out is the number of messages the generator sent (the tracker received).
func (s CounterSnap) Out() int64 { return s.SentAnnounces + s.SentAnswers }

// In is the number of messages the generator received (the tracker sent).
func (s CounterSnap) In() int64 {
	return s.RecvReplies + s.RecvOffers + s.RecvAnswers + s.RecvFailures + s.RecvOther
}

// rttQueue remembers when the announces awaiting a reply were sent, oldest first. The
// tracker answers a connection's announces in order, so each reply matches the oldest.
// Its capacity bounds how many announces may be outstanding: a few in open mode (one per
// interval), more in the closed loop, which announces again whenever any message arrives.
type rttQueue struct {
	at   []int64 // monotonic ns; len is the capacity
	head int
	n    int
}

func newRTTQueue(capacity int) rttQueue { return rttQueue{at: make([]int64, capacity)} }

// push records an announce sent at t; it reports false when the queue was full and the
// oldest entry was dropped (a reply that never came).
func (q *rttQueue) push(t int64) bool {
	ok := true
	if q.n == len(q.at) {
		q.head = (q.head + 1) % len(q.at)
		q.n--
		ok = false
	}
	q.at[(q.head+q.n)%len(q.at)] = t
	q.n++
	return ok
}

// pop returns the send time of the oldest pending announce.
func (q *rttQueue) pop() (int64, bool) {
	if q.n == 0 {
		return 0, false
	}
	t := q.at[q.head]
	q.head = (q.head + 1) % len(q.at)
	q.n--
	return t, true
}
