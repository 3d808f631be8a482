package reconcile

import (
	"context"
	"math"
	"sync"
	"time"
)

// Gate bounds one provider's actions in flight to what its request rate
// can keep busy: rate × the observed latency of an action (an EWMA), with a
// margin, so that throughput holds when the provider is slow and a fast
// provider is not flooded with waiting goroutines. The rate itself is
// enforced by the provider's limiter; the gate only sizes concurrency.
type Gate struct {
	mu       sync.Mutex
	rate     float64 // requests/s; <= 0: fixed at max
	ewma     float64 // seconds
	inflight int
	min, max int
	fixed    int // > 0: a fixed limit
	changed  chan struct{}
}

// Gate bounds.
const (
	gateMin     = 2
	gateMax     = 256
	gateAlpha   = 0.2
	gateMargin  = 1.25
	gateInitial = 100 * time.Millisecond
)

// NewGate returns a gate for a provider paced at rate requests/s.
func NewGate(rate float64) *Gate {
	return &Gate{rate: rate, ewma: gateInitial.Seconds(), min: gateMin, max: gateMax, changed: make(chan struct{})}
}

func fixedGate(n int) *Gate {
	return &Gate{fixed: max(n, 1), changed: make(chan struct{})}
}

// Limit is how many actions may be in flight now.
func (g *Gate) Limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit()
}

func (g *Gate) limit() int {
	if g.fixed > 0 {
		return g.fixed
	}
	if g.rate <= 0 {
		return g.max
	}
	n := int(math.Ceil(g.rate*g.ewma*gateMargin)) + 1
	return min(max(n, g.min), g.max)
}

// Acquire waits for a free slot, or until ctx ends.
func (g *Gate) Acquire(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.inflight < g.limit() {
			g.inflight++
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Release frees a slot; when measured, took updates the latency estimate.
func (g *Gate) Release(took time.Duration, measured bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if measured && took > 0 {
		g.ewma = (1-gateAlpha)*g.ewma + gateAlpha*took.Seconds()
	}
	close(g.changed)
	g.changed = make(chan struct{})
}
