// Package clocktest provides a fake clock.Clock whose time moves only when
// a test says so, as k8s.io/utils/clock/testing does.
package clocktest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
)

// Fake is a clock.Clock that moves only on Step or Set. Timers whose time
// has come fire (in order of their deadlines) during Step/Set.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeTimer
	changed chan struct{} // closed and replaced whenever the waiter set changes
}

// New returns a fake clock at t.
func New(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

var _ clock.Clock = (*Fake)(nil)

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns Now()-t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// NewTimer makes a timer firing d after the fake now.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.arm(d)
	return t
}

// After is NewTimer(d).C().
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// Sleep waits until the fake clock has moved d ahead, or ctx ends.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := f.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// Step moves the clock d ahead, firing every timer that falls due.
func (f *Fake) Step(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing every timer that falls due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return
	}
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at.Before(f.waiters[j].at) })
	var keep []*fakeTimer
	for _, w := range f.waiters {
		if !w.at.After(t) {
			f.now = w.at
			select {
			case w.c <- w.at:
			default:
			}
			w.armed = false
			continue
		}
		keep = append(keep, w)
	}
	f.now = t
	if len(keep) != len(f.waiters) {
		f.waiters = keep
		f.notify()
	}
}

// Waiters is how many timers (sleeps included) wait on the clock.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// NextDeadline is the earliest armed timer's deadline (ok false if none).
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var at time.Time
	for _, w := range f.waiters {
		if at.IsZero() || w.at.Before(at) {
			at = w.at
		}
	}
	return at, !at.IsZero()
}

// BlockUntil waits until at least n timers wait on the clock, or ctx ends.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, ch := len(f.waiters), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// notify wakes BlockUntil callers; f.mu is held.
func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	at    time.Time
	armed bool
}

// arm schedules the timer; f.mu is held.
func (t *fakeTimer) arm(d time.Duration) {
	t.at = t.f.now.Add(d)
	if d <= 0 {
		select {
		case t.c <- t.f.now:
		default:
		}
		t.armed = false
		return
	}
	t.armed = true
	t.f.waiters = append(t.f.waiters, t)
	t.f.notify()
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.disarm()
}

// disarm removes t from the waiters; f.mu is held.
func (t *fakeTimer) disarm() bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, w := range t.f.waiters {
		if w == t {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			break
		}
	}
	t.f.notify()
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.disarm()
	select { // drop a stale tick, as time.Timer.Reset does since Go 1.23
	case <-t.c:
	default:
	}
	t.arm(d)
	return was
}
