package providers

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
)

// Pacing parameters (see Pacer).
const (
	// PaceMargin is the share of the limit a Pacer sends at: a small margin
	// under the documented rate, so clock skew and the provider's own
	// accounting (fixed one-second windows) never see the limit exceeded.
	PaceMargin = 0.95
	// paceCut is the multiplicative decrease on a throttle.
	paceCut = 0.7
	// paceFloor is the lowest share of the target a Pacer drops to.
	paceFloor = 0.1
	// paceRecovery is how much of the target is regained per second
	// without a throttle (additive increase: from 70 % back in 6 s).
	paceRecovery = 0.05
	// maxPause bounds how long a throttle's RetryAfter holds every request.
	maxPause = 5 * time.Second
	// latencyWeight is the EWMA weight of a new latency sample;
	// deviationWeight that of its distance from the average.
	latencyWeight   = 0.2
	deviationWeight = 0.25
	// MaxInFlight bounds InFlight (and is its answer for an unlimited rate).
	MaxInFlight = 256
	// assumedLatency stands for the latency before any has been observed.
	assumedLatency = time.Second
)

// Pacer paces every HTTP request of one provider account: requests go out
// evenly spaced at PaceMargin of the account's limit, with no burst (idle
// time earns no credit, so no one-second window ever holds more than the
// limit). A throttle that still happens (Throttled) cuts the pace by 30 %
// at most once per second and pauses requests for its RetryAfter (at most
// 5 s); the pace then recovers by 5 % of the target per second. The Pacer
// also keeps an EWMA of request latency, so the engine can keep
// rate × latency calls in flight (InFlight). Safe for concurrent use; nil
// is a valid Pacer that never waits.
type Pacer struct {
	clk    clock.Clock
	target float64 // requests/s it paces at when nothing is throttled; +Inf: unlimited

	mu       sync.Mutex
	cur      float64       // current pace, requests/s
	next     time.Time     // earliest instant the next request may go
	adjusted time.Time     // when cur was last recovered or cut
	cut      time.Time     // when cur was last cut
	thr      int64         // throttles seen
	lat      time.Duration // EWMA of latency
	dev      time.Duration // EWMA of |sample - lat|
	samples  int64
}

// NewPacer paces at PaceMargin of limit requests/s (limit <= 0 or +Inf:
// unlimited) on clk (nil: the wall clock).
func NewPacer(limit float64, clk clock.Clock) *Pacer {
	target := math.Inf(1)
	if limit > 0 && !math.IsInf(limit, 1) {
		target = limit * PaceMargin
	}
	return &Pacer{clk: clock.Or(clk), target: target, cur: target}
}

// Wait blocks until the next request may be sent, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	d, step := p.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	if err := p.clk.Sleep(ctx, d); err != nil {
		p.release(step) // a request abandoned before its slot gives it back
		return err
	}
	return nil
}

// release gives back one slot of length step that was reserved and not
// used, so requests abandoned in a queue (a cancelled List) do not delay
// the ones that follow.
func (p *Pacer) release(step time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := p.clk.Now(); p.next.After(now) {
		p.next = p.next.Add(-step)
		if p.next.Before(now) {
			p.next = now
		}
	}
}

// reserve takes the next slot and returns how long until it and the
// slot's length.
func (p *Pacer) reserve() (time.Duration, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if math.IsInf(p.target, 1) && p.next.IsZero() {
		return 0, 0
	}
	now := p.clk.Now()
	p.recoverLocked(now)
	at := p.next
	if at.Before(now) {
		at = now
	}
	var step time.Duration
	if !math.IsInf(p.cur, 1) {
		step = time.Duration(float64(time.Second) / p.cur)
	}
	p.next = at.Add(step)
	return at.Sub(now), step
}

// recoverLocked raises the pace towards the target, paceRecovery of it
// per second since the last adjustment.
func (p *Pacer) recoverLocked(now time.Time) {
	if p.cur >= p.target {
		p.adjusted = now
		return
	}
	if el := now.Sub(p.adjusted); el > 0 {
		p.cur = math.Min(p.target, p.cur+p.target*paceRecovery*el.Seconds())
		p.adjusted = now
	}
}

// Throttled records that the provider answered with its throttling error:
// the throttle is counted, the pace is cut (once per second at most, so a
// burst of throttled answers to requests already in flight cuts it once)
// and requests pause for retryAfter (capped at 5 s).
func (p *Pacer) Throttled(retryAfter time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.thr++
	now := p.clk.Now()
	p.recoverLocked(now)
	if p.cut.IsZero() || now.Sub(p.cut) >= time.Second {
		if math.IsInf(p.cur, 1) {
			return // no limit to lower: the provider's own limit is unknown
		}
		p.cur = math.Max(p.cur*paceCut, p.target*paceFloor)
		p.cut, p.adjusted = now, now
	}
	if retryAfter > 0 {
		if until := now.Add(min(retryAfter, maxPause)); until.After(p.next) {
			p.next = until
		}
	}
}

// Note calls Throttled when err is classified Throttled, with its RetryAfter.
func (p *Pacer) Note(err error) {
	if err != nil && ClassOf(err) == Throttled {
		p.Throttled(RetryAfter(err))
	}
}

// Throttles is how many throttling answers the provider has given
// (counted by Throttled), for the daemon's metrics.
func (p *Pacer) Throttles() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.thr
}

// Rate is the current pace in requests/s (+Inf: unlimited).
func (p *Pacer) Rate() float64 {
	if p == nil {
		return math.Inf(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recoverLocked(p.clk.Now())
	return p.cur
}

// Observe feeds one request's latency (send to response headers) into the EWMA.
func (p *Pacer) Observe(d time.Duration) {
	if p == nil || d < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == 0 {
		p.lat, p.dev = d, d/2
	} else {
		diff := d - p.lat
		p.dev += time.Duration(deviationWeight * float64(diff.Abs()-p.dev))
		p.lat += time.Duration(latencyWeight * float64(diff))
	}
	p.samples++
}

// Latency is the EWMA of observed request latency (0 before any request).
func (p *Pacer) Latency() time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lat
}

// InFlight is how many calls the engine should keep in flight to send at
// the current pace: ceil(rate × (latency + 4 × its deviation)) + 1, so a
// request is ready whenever a slot opens even when answers come late (a
// slot without a request is lost: the Pacer keeps no credit);
// 1 <= InFlight <= MaxInFlight (MaxInFlight for an unlimited rate). Until
// a first answer, latency is taken as assumedLatency: too many calls in
// flight only wait in the Pacer, too few lose throughput.
func (p *Pacer) InFlight() int {
	r := p.Rate()
	if math.IsInf(r, 1) {
		return MaxInFlight
	}
	p.mu.Lock()
	lat := p.lat + 4*p.dev
	if p.samples == 0 {
		lat = assumedLatency
	}
	p.mu.Unlock()
	n := int(math.Ceil(r*lat.Seconds())) + 1
	return min(max(n, 1), MaxInFlight)
}

// pacedTransport waits for the pacer before every request and observes
// how long the provider took to answer.
type pacedTransport struct {
	base  http.RoundTripper
	pacer *Pacer
}

func (t pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.pacer.Wait(r.Context()); err != nil {
		if r.Body != nil {
			r.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, err
	}
	start := t.pacer.clk.Now()
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		t.pacer.Observe(t.pacer.clk.Since(start))
	}
	return resp, err
}
