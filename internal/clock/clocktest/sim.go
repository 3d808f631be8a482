package clocktest

import (
	"context"
	"time"
)

// Sim is a Fake on which a Sleep does not wait: it moves the clock ahead
// by the sleep and returns, so code under test that backs off (retries,
// budgets) runs at once while its time arithmetic stays exact. Timers
// still fire only when the clock is moved.
type Sim struct{ *Fake }

// NewSim returns a simulated clock at t.
func NewSim(t time.Time) Sim { return Sim{New(t)} }

// Sleep moves the clock d ahead (firing due timers) and returns ctx's error.
func (s Sim) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		s.Step(d)
	}
	return ctx.Err()
}
