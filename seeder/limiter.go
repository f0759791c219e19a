package seeder

import (
	"sync"
	"time"
)

// limiter is a token bucket of bytes per second. A nil *limiter is unlimited. Callers
// reserve bytes and wait the returned delay before sending them, so a limiter never blocks
// while holding its lock.
type limiter struct {
	rate  float64 // bytes per second; static
	burst float64 // static

	mu     sync.Mutex
	tokens float64   // guarded by mu; may go negative (debt)
	last   time.Time // guarded by mu
}

// newLimiter returns a limiter for mbps megabits per second, or nil for 0 (unlimited).
func newLimiter(mbps float64) *limiter {
	if mbps <= 0 {
		return nil
	}
	rate := mbps * 1e6 / 8
	burst := max(rate/10, 64<<10) // 100 ms, at least one data message
	return &limiter{rate: rate, burst: burst, tokens: burst}
}

// reserve takes n bytes and returns how long the caller must wait before sending them.
func (l *limiter) reserve(now time.Time, n int) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}
