package seeder

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var unlimited *limiter
	if d := unlimited.reserve(time.Now(), 1<<30); d != 0 {
		t.Fatalf("nil limiter delays %v", d)
	}
	l := newLimiter(8) // 1 MB/s, burst 100 KB
	now := time.Unix(1000, 0)
	if d := l.reserve(now, 100_000); d != 0 {
		t.Fatalf("burst delayed %v", d)
	}
	if d := l.reserve(now, 500_000); d < 490*time.Millisecond || d > 510*time.Millisecond {
		t.Fatalf("500 KB over the burst at 1 MB/s: delay %v, want ~500ms", d)
	}
	// After the debt is paid and a second more passes, the bucket is full again (capped).
	if d := l.reserve(now.Add(2*time.Second), 100_000); d != 0 {
		t.Fatalf("refilled bucket delayed %v", d)
	}
	if d := l.reserve(now.Add(2*time.Second), 100_000); d < 90*time.Millisecond {
		t.Fatalf("burst cap not applied: delay %v", d)
	}
}
