package providers

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
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
		d, _ := p.reserve(false)
		out[i] = clk.Now().Add(d)
	}
	return out
}

// maxInAnySecond is the most of ts (sorted) in any half-open second.
func maxInAnySecond(ts []time.Time) int {
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// However requests arrive — bursts after idle, a steady queue, a trickle,
// all mixed on a seeded schedule — no second ever holds more than 95 % of
// the limit, a busy account's requests are evenly spaced, and the rate
// over a long busy run is the paced one.
func TestPacerNeverFillsASecondPastTheMargin(t *testing.T) {
	for _, limit := range []float64{10, 20, 50} {
		clk := clocktest.New(t0.Add(700 * time.Millisecond))
		p := NewPacer(limit, clk)
		n := int(limit * PaceMargin)
		rng := rand.New(rand.NewPCG(uint64(limit), 1))
		var all []time.Time
		for round := 0; round < 40; round++ {
			ts := slots(p, clk, 1+rng.IntN(3*n))
			all = append(all, ts...)
			// the caller sends as slots come, then idles for a while
			clk.Set(ts[len(ts)-1].Add(time.Duration(rng.IntN(1500)) * time.Millisecond))
		}
		if got := maxInAnySecond(all); got > n {
			t.Errorf("limit %v: %d requests in one second, at most %d", limit, got, n)
		}
		// A long queue: after the first second's burst, evenly spaced.
		clk.Step(time.Hour)
		ts := slots(p, clk, 10*n)
		step := time.Duration(float64(time.Second) / (limit * PaceMargin))
		for i := n + 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap < step-time.Microsecond {
				t.Fatalf("limit %v: request %d of a queue %s after the one before, want at least %s (no burst under load)", limit, i, gap, step)
			}
		}
		if got := maxInAnySecond(ts); got > n {
			t.Errorf("limit %v: a queue put %d requests in one second, at most %d", limit, got, n)
		}
		if rate := float64(len(ts)-n-1) / ts[len(ts)-1].Sub(ts[n]).Seconds(); rate < 0.99*float64(n) || rate > limit*PaceMargin*1.001 {
			t.Errorf("limit %v: a queue goes at %.2f/s, want %d–%.1f/s", limit, rate, n, limit*PaceMargin)
		}
	}
}

// Idle time earns at most a second's worth of requests: after a pause the
// first floor(95 % of the limit) go at once (a plan's queries, an edit's
// calls), the next waits for that second to pass.
func TestPacerIdleEarnsOneSecondOfCredit(t *testing.T) {
	clk := clocktest.New(t0)
	p := NewPacer(20, clk)
	ts := slots(p, clk, 20)
	for i, at := range ts[:19] {
		if !at.Equal(t0) {
			t.Fatalf("request %d after idle waits %s, want none of the first 19", i, at.Sub(t0))
		}
	}
	if !ts[19].Equal(t0.Add(time.Second)) {
		t.Fatalf("the 20th request goes after %s, want 1 s (the window holds 19)", ts[19].Sub(t0))
	}
	clk.Set(ts[19].Add(10 * time.Minute))
	if d, _ := p.reserve(false); d != 0 {
		t.Errorf("after 10 idle minutes a request waits %s", d)
	}
	if r := p.Rate(); r != 20*PaceMargin {
		t.Errorf("rate %v, want %v", r, 20*PaceMargin)
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
	if d, _ := p.reserve(false); d != 2*time.Second {
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
	if d, _ := p.reserve(false); d > maxPause {
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
	p := NewPacer(1, clk) // 0.95/s: one request a second at most
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
	per := 1 * PaceMargin
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
	p := NewPacer(10, clk) // 9.5/s: a slot every ~105 ms, 9 at once after idle
	slots(p, clk, 10)      // the idle credit, and one waiting a second
	clk.Step(time.Second)  // that one goes
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 5)
	for range 5 {
		go func() { done <- p.Wait(ctx) }()
	}
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := clk.BlockUntil(bctx, 5); err != nil {
		t.Fatalf("the 5 requests are not waiting for their slots: %v", err)
	}
	cancel()
	for range 5 {
		if err := <-done; err == nil {
			t.Fatal("an abandoned wait reported success")
		}
	}
	if d, _ := p.reserve(false); d > 106*time.Millisecond {
		t.Fatalf("the next request waits %s behind 5 abandoned ones, want one slot at most", d)
	}
}

// A start due now goes ahead of background work already waiting (a long
// observation): background requests go only into a second that keeps
// Headroom places free, due work may use all of it, and whatever the mix
// no second holds more than floor(pace).
func TestPacerDueWorkGoesAheadOfBackground(t *testing.T) {
	clk := clocktest.New(t0)
	p := NewPacer(10, clk) // 9.5/s: 9 a second, 3 of them background at most
	n, h := 9, Headroom(9)
	if h != 6 || Headroom(19) != 8 || Headroom(47) != 19 || Headroom(1) != 0 {
		t.Fatalf("Headroom(9, 19, 47, 1) = %d, %d, %d, %d, want 6, 8, 19, 0", h, Headroom(19), Headroom(47), Headroom(1))
	}
	var bg, all []time.Time
	for range 40 { // a status-query queue of 4 s and more
		d, _ := p.reserve(true)
		bg = append(bg, clk.Now().Add(d))
	}
	all = append(all, bg...)
	for i := range h {
		d, _ := p.reserve(false)
		if d != 0 {
			t.Fatalf("due request %d waits %s behind the background queue, want none", i, d)
		}
		all = append(all, clk.Now())
	}
	d, _ := p.reserve(false) // the second is full now
	if d <= 0 || d > time.Second {
		t.Fatalf("due request %d waits %s, want the rest of the second", h, d)
	}
	all = append(all, clk.Now().Add(d))
	// Then a seeded mix of both kinds, with idle spells.
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		k := rng.IntN(4) == 0
		d, _ := p.reserve(k)
		at := clk.Now().Add(d)
		all = append(all, at)
		if k {
			bg = append(bg, at)
		}
		if rng.IntN(10) == 0 {
			clk.Step(time.Duration(rng.IntN(2000)) * time.Millisecond)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	sort.Slice(bg, func(i, j int) bool { return bg[i].Before(bg[j]) })
	if got := maxInAnySecond(all); got > n {
		t.Errorf("%d requests in one second, at most %d", got, n)
	}
	if got := maxInAnySecond(bg); got > n-h {
		t.Errorf("%d background requests in one second, at most %d", got, n-h)
	}
	// A Background context is what marks background work.
	if !IsBackground(Background(context.Background())) || IsBackground(context.Background()) {
		t.Error("Background does not mark the context")
	}
}
