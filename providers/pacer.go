package providers

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sort"
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

// Pacer paces every HTTP request of one provider account at PaceMargin
// of the account's limit, by two rules:
//
//   - a window: no half-open second ever holds more than floor(pace)
//     requests, so however the provider counts (fixed one-second windows,
//     sliding ones, a token bucket of a second's worth) the limit is never
//     reached, and the margin of at least one request absorbs network
//     jitter;
//   - spacing: a busy account's requests go out evenly, one every
//     1/pace; only idle time earns credit, at most a window's worth, so
//     the first requests after a quiet spell (a plan's queries, the calls
//     of an edit) go at once instead of queueing behind each other, and
//     a window that had to hold requests back leaves no credit behind
//     (bursts never repeat under load).
//
// Requests made under a Background context (observation: lists, status
// queries, checks, re-asserting) go only into a second that leaves
// Headroom places free, are spaced on their own and get as much less
// credit, so a start or stop that is due now finds room at once: it goes
// ahead of background requests already waiting instead of queueing
// behind them, and while due work is flowing background work waits.
//
// A throttle that still happens (Throttled) cuts the pace by 30 % at most
// once per second and pauses requests for its RetryAfter (at most 5 s);
// the pace then recovers by 5 % of the target per second. The Pacer also
// keeps an EWMA of request latency, so the engine can keep rate × latency
// calls in flight (InFlight). Safe for concurrent use; nil is a valid Pacer
// that never waits.
type Pacer struct {
	clk    clock.Clock
	target float64 // requests/s it paces at when nothing is throttled; +Inf: unlimited

	mu       sync.Mutex
	cur      float64       // current pace, requests/s
	tat      [2]time.Time  // theoretical arrival time (GCRA) of due work [0] and background [1]
	pause    time.Time     // no request before this (a throttle's RetryAfter)
	slots    []time.Time   // reserved slots from a second ago on, in order
	adjusted time.Time     // when cur was last recovered or cut
	cut      time.Time     // when cur was last cut
	thr      int64         // throttles seen
	lat      time.Duration // EWMA of latency
	dev      time.Duration // EWMA of |sample - lat|
	samples  int64
}

// maxWindow bounds the pace the window rule is kept for: a faster pace is
// only spaced (its credit still at most maxWindow requests).
const maxWindow = 256

// Headroom shares: each second keeps headroomShare of its requests, and
// at least headroomMin (room for three two-call starts, such as Agora's
// acquire and start), for due work.
const (
	headroomShare = 0.4
	headroomMin   = 6
)

// Headroom is how many of a second's n requests background requests leave
// free for due work: 40 % of n (rounded up) and at least 6, but at most
// n − 1, so background work always moves.
func Headroom(n int) int {
	return max(0, min(n-1, max(headroomMin, int(math.Ceil(headroomShare*float64(n))))))
}

type bgKey struct{}

// Background marks ctx's requests as background work (see Pacer).
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, bgKey{}, true)
}

// IsBackground reports whether ctx carries Background.
func IsBackground(ctx context.Context) bool {
	v, _ := ctx.Value(bgKey{}).(bool)
	return v
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

// Wait blocks until the next request may be sent, or ctx ends; a
// Background ctx waits as background work.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	bg := IsBackground(ctx)
	d, at := p.reserve(bg)
	if d <= 0 {
		return ctx.Err()
	}
	if err := p.clk.Sleep(ctx, d); err != nil {
		p.release(at, bg) // a request abandoned before its slot gives it back
		return err
	}
	return nil
}

// release gives back a slot that was reserved and not used, so requests
// abandoned in a queue (a cancelled List) do not delay the ones that
// follow.
func (p *Pacer) release(at time.Time, bg bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	if !at.After(now) {
		return
	}
	if i := p.from(at); i < len(p.slots) && p.slots[i].Equal(at) {
		p.slots = slices.Delete(p.slots, i, i+1)
	}
	if c := class(bg); p.tat[c].After(now) {
		p.tat[c] = p.tat[c].Add(-p.stepLocked())
	}
}

func class(bg bool) int {
	if bg {
		return 1
	}
	return 0
}

// stepLocked is the spacing of a busy account's requests (0: unlimited).
func (p *Pacer) stepLocked() time.Duration {
	if math.IsInf(p.cur, 1) {
		return 0
	}
	return time.Duration(float64(time.Second) / p.cur)
}

// reserve takes the next slot for a request (bg: background work) and
// returns how long until it, and the slot.
func (p *Pacer) reserve(bg bool) (time.Duration, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	p.recoverLocked(now)
	return p.reserveLocked(bg, now)
}

func (p *Pacer) reserveLocked(bg bool, now time.Time) (time.Duration, time.Time) {
	if math.IsInf(p.target, 1) && !p.pause.After(now) {
		return 0, now
	}
	step := p.stepLocked()
	n := maxWindow // requests a second may hold
	if p.cur < maxWindow {
		n = max(1, int(p.cur))
	}
	if bg {
		n -= Headroom(n) // background leaves the headroom free
	}
	credit := time.Duration(n-1) * step // GCRA burst tolerance: n at once after idle
	tat := &p.tat[class(bg)]            // each kind is spaced on its own: due work never queues behind background
	at := tat.Add(-credit)
	if at.Before(now) {
		at = now
	}
	if at.Before(p.pause) {
		at, *tat = p.pause, p.pause.Add(credit) // no credit out of a pause
	}
	if p.cur <= maxWindow {
		// Forget slots no window from now on can hold.
		p.slots = p.slots[:copy(p.slots, p.slots[p.after(now.Add(-time.Second)):])]
		if w := p.earliest(at, n); w.After(at) {
			at = w // a window is full: no credit is left after it
			*tat = at.Add(credit)
		}
		p.slots = slices.Insert(p.slots, p.after(at), at)
	}
	if tat.Before(at) {
		*tat = at
	}
	*tat = tat.Add(step)
	return at.Sub(now), at
}

// BackgroundRoom is how many background requests could go now without
// waiting (a large number when unlimited). Callers that make background
// requests in batches (Agora's status queries) size a batch by it, so the
// batch never waits in the Pacer while due work waits for its caller.
func (p *Pacer) BackgroundRoom() int {
	if p == nil {
		return MaxInFlight
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	p.recoverLocked(now)
	if math.IsInf(p.cur, 1) || p.cur > maxWindow {
		return MaxInFlight
	}
	// Reserve background slots until one would wait, then take them back.
	slots, tat := slices.Clone(p.slots), p.tat
	defer func() { p.slots, p.tat = slots, tat }()
	k := 0
	for ; k < MaxInFlight; k++ {
		if d, _ := p.reserveLocked(true, now); d > 0 {
			break
		}
	}
	return k
}

// earliest is the first instant from a0 on at which one more request
// fits every second that would hold it, n at most in each.
func (p *Pacer) earliest(a0 time.Time, n int) time.Time {
	if p.fits(a0, n) {
		return a0
	}
	// A second frees a place only when one of its slots leaves it.
	for _, s := range p.slots {
		if a := s.Add(time.Second); a.After(a0) && p.fits(a, n) {
			return a
		}
	}
	return a0.Add(time.Second) // not reached: every slot has left by then
}

// fits reports whether a request at a keeps every second that would hold
// it at n requests at most: the seconds starting at a slot in (a-1s, a],
// or at a.
func (p *Pacer) fits(a time.Time, n int) bool {
	for i := p.after(a.Add(-time.Second)); i < len(p.slots) && !p.slots[i].After(a); i++ {
		if p.count(i, p.slots[i]) >= n {
			return false
		}
	}
	return p.count(p.from(a), a) < n
}

// after is the index of the first slot after t; from that of the first
// slot at or after t.
func (p *Pacer) after(t time.Time) int {
	return sort.Search(len(p.slots), func(i int) bool { return p.slots[i].After(t) })
}

func (p *Pacer) from(t time.Time) int {
	return sort.Search(len(p.slots), func(i int) bool { return !p.slots[i].Before(t) })
}

// count is how many slots the second [x, x+1s) holds, the first of them
// at index i.
func (p *Pacer) count(i int, x time.Time) int {
	return p.from(x.Add(time.Second)) - i
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
		if until := now.Add(min(retryAfter, maxPause)); until.After(p.pause) {
			p.pause = until
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
	if err := t.pacer.Wait(r.Context()); err != nil { // a Background request waits as one
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
