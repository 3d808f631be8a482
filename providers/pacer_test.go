package providers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
)

var t0 = time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)

// slots reserves n requests on p back to back (as callers waiting in line
// would) and returns when each may go.
func slots(p *Pacer, clk *clocktest.Fake, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		d, _ := p.reserve()
		out[i] = clk.Now().Add(d)
	}
	return out
}

// Requests go out evenly at 95 % of the limit; idle time earns no burst,
// so no calendar second (the emulators' and Alibaba's accounting) ever
// holds more than the limit.
func TestPacerPacesUnderTheLimitWithoutBurst(t *testing.T) {
	clk := clocktest.New(t0.Add(700 * time.Millisecond))
	p := NewPacer(50, clk)
	per := map[int64]int{}
	for round := 0; round < 3; round++ {
		ts := slots(p, clk, 200)
		for i, at := range ts {
			per[at.Unix()]++
			if i > 0 {
				if gap := at.Sub(ts[i-1]); math.Abs(gap.Seconds()-1/(50*PaceMargin)) > 1e-6 {
					t.Fatalf("gap %s between requests, want %s", gap, time.Second*20/19)
				}
			}
		}
		clk.Set(ts[len(ts)-1].Add(10 * time.Second)) // idle: no credit builds up
	}
	for sec, n := range per {
		if n > 50 {
			t.Errorf("%d requests in second %d, limit 50", n, sec)
		}
	}
	if r := p.Rate(); r != 50*PaceMargin {
		t.Errorf("rate %v, want %v", r, 50*PaceMargin)
	}
}

// A throttle cuts the pace by 30 % once per second however many answers
// report it, pauses requests for its RetryAfter, is counted, and the pace
// recovers by 5 % of the target per second.
func TestPacerThrottleSlowsThenRecovers(t *testing.T) {
	clk := clocktest.New(t0)
	p := NewPacer(20, clk)
	target := 20 * PaceMargin
	p.Throttled(0)
	p.Throttled(0) // answers to requests already in flight: one cut
	if r := p.Rate(); math.Abs(r-target*paceCut) > 1e-9 {
		t.Fatalf("after a throttle: %v/s, want %v/s", r, target*paceCut)
	}
	clk.Step(time.Second)
	p.Note(&Error{Class: Throttled, RetryAfter: 2 * time.Second})
	want := target*paceCut + target*paceRecovery // 1 s of recovery, then cut
	if r := p.Rate(); math.Abs(r-want*paceCut) > 1e-9 {
		t.Fatalf("after a second throttle: %v/s, want %v/s", r, want*paceCut)
	}
	if d, _ := p.reserve(); d != 2*time.Second {
		t.Errorf("next request in %s, want the RetryAfter (2 s)", d)
	}
	p.Note(&Error{Class: Retryable})
	p.Note(errors.New("connection reset"))
	if n := p.Throttles(); n != 3 {
		t.Errorf("%d throttles counted, want 3", n)
	}
	clk.Step(5 * time.Second)
	if r := p.Rate(); r >= target {
		t.Errorf("recovered to %v/s within 5 s: recovery must be slow", r)
	}
	clk.Step(20 * time.Second)
	if r := p.Rate(); r != target {
		t.Errorf("after 25 s without a throttle: %v/s, want %v/s", r, target)
	}
	for i := 0; i < 100; i++ {
		p.Throttled(time.Minute)
		clk.Step(time.Second)
	}
	if r := p.Rate(); r < target*paceFloor {
		t.Errorf("rate %v/s fell under the floor", r)
	}
	if d, _ := p.reserve(); d > maxPause {
		t.Errorf("paused %s, at most %s", d, maxPause)
	}
}

// The latency EWMA sizes the calls in flight: rate × latency, plus one.
func TestPacerInFlightFollowsLatency(t *testing.T) {
	p := NewPacer(50, clocktest.New(t0))
	if n := p.InFlight(); n != 49 { // ceil(47.5 × 1 s) + 1
		t.Errorf("before any answer: %d in flight, want 49 (1 s assumed)", n)
	}
	for i := 0; i < 50; i++ {
		p.Observe(200 * time.Millisecond)
	}
	if l := p.Latency(); l != 200*time.Millisecond {
		t.Errorf("latency %s", l)
	}
	if n := p.InFlight(); n != 11 { // ceil(47.5 × 0.2) + 1
		t.Errorf("%d in flight at 200 ms, want 11", n)
	}
	p.Observe(700 * time.Millisecond)
	if l := p.Latency(); l != 300*time.Millisecond {
		t.Errorf("EWMA after a 700 ms sample: %s, want 300 ms", l)
	}
	// Answers that vary keep more calls in flight than their average
	// needs, so a late answer does not leave a slot without a request.
	j := NewPacer(50, clocktest.New(t0))
	for i := 0; i < 50; i++ {
		j.Observe(time.Duration(i%2) * 100 * time.Millisecond)
	}
	if mean := int(math.Ceil(50*PaceMargin*j.Latency().Seconds())) + 1; j.InFlight() <= 2*mean {
		t.Errorf("jittery latency (mean %s): %d in flight, want well over %d", j.Latency(), j.InFlight(), mean)
	}
	if n := NewPacer(0, nil).InFlight(); n != MaxInFlight {
		t.Errorf("unlimited: %d in flight", n)
	}
	var nilPacer *Pacer
	if err := nilPacer.Wait(context.Background()); err != nil || nilPacer.Throttles() != 0 {
		t.Error("a nil Pacer must be usable")
	}
}

// Options.Client paces every request through the Pacer on its clock and
// observes the latency; a cancelled wait sends nothing.
func TestClientIsPaced(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clk := clocktest.New(t0)
	p := NewPacer(10, clk)
	hc := Options{Pacer: p}.Client()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := hc.Get(srv.URL); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// The first goes at once; the other two wait on the fake clock.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 2); err != nil {
		t.Fatalf("requests are not waiting for the pacer: %v", err)
	}
	per := 10 * PaceMargin
	gap := time.Duration(float64(time.Second) / per)
	clk.Step(gap)
	clk.Step(gap)
	wg.Wait()
	if hits.Load() != 3 {
		t.Errorf("%d requests served", hits.Load())
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := hc.Do(req.WithContext(cctx)); err == nil || hits.Load() != 3 {
		t.Errorf("a cancelled wait: %v, %d served", err, hits.Load())
	}
}

// Requests abandoned while they wait for their slot (a List cancelled for
// an edit) give their slots back: the request after them is not delayed
// by them.
func TestPacerAbandonedWaitsGiveTheirSlotsBack(t *testing.T) {
	clk := clocktest.New(t0)
	p := NewPacer(10, clk) // 9.5/s: a slot every ~105 ms
	p.reserve()            // one request goes now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 5)
	for range 5 {
		go func() { done <- p.Wait(ctx) }()
	}
	if err := clk.BlockUntil(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	cancel()
	for range 5 {
		if err := <-done; err == nil {
			t.Fatal("an abandoned wait reported success")
		}
	}
	if d, _ := p.reserve(); d > 110*time.Millisecond {
		t.Fatalf("the next request waits %s behind 5 abandoned ones, want one slot at most", d)
	}
}
