package tencentemu

import "time"

// bucket is a token bucket per action (the documented limit is per API).
type bucket struct {
	tokens     float64
	last, wall time.Time
}

// allow takes a token for action. Tokens refill with the larger of the
// emulator-clock and wall-clock time elapsed: a frozen or fast-forwarded
// test clock neither starves clients forever nor hides throttling.
func (e *Emulator) allow(action string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rps <= 0 {
		return true
	}
	now, wall := e.now(), e.wall()
	b := e.buckets[action]
	if b == nil {
		b = &bucket{tokens: e.rps, last: now, wall: wall}
		e.buckets[action] = b
	}
	elapsed := max(now.Sub(b.last), wall.Sub(b.wall))
	if elapsed > 0 {
		b.tokens = min(e.rps, b.tokens+elapsed.Seconds()*e.rps)
	}
	b.last, b.wall = now, wall
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
