package loadtest

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	values := []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 123456789, 1<<40 + 7, 1<<63 - 1, 1 << 63}
	for i := 0; i < 1000; i++ {
		values = append(values, rand.Uint64N(1<<uint(rand.IntN(63)+1)))
	}
	for _, v := range values {
		b := bucketOf(v)
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, b)
		}
		lo, hi := bucketRange(b)
		if v < lo || v > hi {
			t.Errorf("bucketOf(%d) = %d covering [%d, %d]", v, b, lo, hi)
		}
		if v >= 64 && float64(hi-lo) > float64(lo)/16 {
			t.Errorf("bucket %d [%d, %d] wider than 1/16 of its value", b, lo, hi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	before := h.Snapshot()
	// 1..1000 µs, uniform.
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	s := h.Snapshot().Sub(before)
	if s.Count() != 1000 {
		t.Fatalf("count %d", s.Count())
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.95, 950 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := s.Quantile(tt.q)
		if d := got - tt.want; d > tt.want/30 || d < -tt.want/30 {
			t.Errorf("Quantile(%v) = %v, want %v ± 3.3%%", tt.q, got, tt.want)
		}
	}
	if m := s.Max(); m < time.Millisecond || m > time.Millisecond*103/100 {
		t.Errorf("Max = %v, want about 1ms", m)
	}
	var empty Snapshot
	if empty.Quantile(0.5) != 0 || empty.Max() != 0 {
		t.Error("empty snapshot must report zero")
	}
	// A window excludes what was recorded before it.
	mid := h.Snapshot()
	h.Record(time.Second)
	w := h.Snapshot().Sub(mid)
	if w.Count() != 1 || w.Quantile(0.5) < 970*time.Millisecond {
		t.Errorf("window: count %d, p50 %v", w.Count(), w.Quantile(0.5))
	}
}

func TestRTTQueue(t *testing.T) {
	q := newRTTQueue(4)
	if _, ok := q.pop(); ok {
		t.Fatal("pop from an empty queue succeeded")
	}
	for i := int64(1); i <= 3; i++ {
		if !q.push(i) {
			t.Fatalf("push %d reported overflow", i)
		}
	}
	if v, _ := q.pop(); v != 1 {
		t.Errorf("pop = %d, want the oldest (1)", v)
	}
	q.push(4)
	q.push(5) // now 2,3,4,5: full
	if q.push(6) {
		t.Error("push into a full queue did not report the dropped entry")
	}
	for _, want := range []int64{3, 4, 5, 6} {
		if v, ok := q.pop(); !ok || v != want {
			t.Errorf("pop = %d, %v; want %d", v, ok, want)
		}
	}
	if _, ok := q.pop(); ok {
		t.Error("queue not empty")
	}
}

func TestCounterSnap(t *testing.T) {
	var c Counters
	c.SentAnnounces.Add(2)
	c.RecvReplies.Add(2)
	c.Connected.Add(5)
	a := c.Snap()
	c.SentAnnounces.Add(10)
	c.SentAnswers.Add(7)
	c.RecvReplies.Add(9)
	c.RecvOffers.Add(7)
	c.RecvAnswers.Add(6)
	c.RecvFailures.Add(1)
	c.Connected.Add(-1)
	d := c.Snap().Sub(a)
	if d.Out() != 17 || d.In() != 23 {
		t.Errorf("out %d in %d, want 17 and 23", d.Out(), d.In())
	}
	if d.Connected != 4 {
		t.Errorf("Connected = %d, want the later value 4", d.Connected)
	}
}
