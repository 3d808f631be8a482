package reconcile

import (
	"context"
	"testing"
	"time"
)

// Calls in flight follow rate × observed latency: a provider that slows
// down gets more calls in flight, so its throughput holds at its rate.
func TestGateFollowsRateTimesLatency(t *testing.T) {
	g := NewGate(50)
	fast := g.Limit()
	for range 50 {
		if err := g.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		g.Release(200*time.Millisecond, true)
	}
	slow := g.Limit()
	// 50/s × 0.2 s = 10 calls keep the rate; with the margin, 14.
	if slow < 10 || slow > 16 || slow <= fast {
		t.Fatalf("limit %d at 200 ms (was %d at the initial estimate); want about 50/s × 0.2 s plus a margin", slow, fast)
	}
	if got := NewGate(10).Limit(); got < 2 || got > 4 {
		t.Fatalf("a 10/s provider starts with %d in flight", got)
	}
	// A full gate makes the next caller wait, until a slot frees.
	g2 := NewGate(10)
	for range g2.Limit() {
		_ = g2.Acquire(context.Background())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g2.Acquire(ctx); err == nil {
		t.Fatal("a full gate let one more call in")
	}
	g2.Release(0, false)
	if err := g2.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}
