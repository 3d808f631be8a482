package spec

import (
	"math/bits"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
)

// ContinuousStart and ContinuousEnd bound the single window of a continuous
// Recording: a fixed start keeps its identity stable across restarts, and
// pieces split from it (24 h for tencent) fall on UTC midnights.
var (
	ContinuousStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	ContinuousEnd   = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxChain bounds how far windows that touch each other are followed, back
// to the start and forward to the end of a merged window. A chain longer
// than that (like "@every 30m" for 1h) is treated as continuous on that side:
// it starts at ContinuousStart or ends at ContinuousEnd.
const maxChain = 400 * 24 * time.Hour

// WindowID is a window's identity: <recording>@<start in UTC, RFC 3339>.
func WindowID(recording string, start time.Time) string {
	return recording + "@" + start.UTC().Format(time.RFC3339)
}

func (r *Recording) windows(from, to time.Time) []Interval {
	s := &r.Spec
	switch {
	case s.Continuous:
		if ContinuousEnd.After(from) && ContinuousStart.Before(to) {
			return []Interval{{ContinuousStart, ContinuousEnd, ContinuousStart, ContinuousEnd}}
		}
		return nil
	case len(s.Windows) > 0:
		iv := make([]Interval, 0, len(s.Windows))
		for _, w := range s.Windows {
			if w.End.After(w.Start) {
				iv = append(iv, Interval{w.Start.Add(-w.Padding.Before), w.End.Add(w.Padding.After), w.Start, w.End})
			}
		}
		return overlapping(Merge(iv), from, to)
	case s.Schedule != nil:
		return s.Schedule.Windows(from, to)
	}
	return nil
}

// Windows returns the schedule's merged windows overlapping [from, to).
// Each window is found whole: its chain of touching windows is followed
// back to its first start and forward to its last end (at most maxChain
// each way), so the result never depends on from and to. The cost grows
// with the number of windows returned, not with the number of cron fires:
// a day whose fires all touch is crossed at once.
func (sc *Schedule) Windows(from, to time.Time) []Interval {
	x := sc.expander()
	if x == nil || !to.After(from) {
		return nil
	}
	d, b, a := sc.Duration, sc.Padding.Before, sc.Padding.After
	// A fire f's window [f-b, f+d+a) overlaps [from, to) when from-d-a < f < to+b.
	t, hi := from.Add(-(d + a)), to.Add(b)
	var out []Interval
	for {
		f, ok := x.nextFire(t, hi)
		if !ok {
			break
		}
		iv := Interval{NomStart: f}
		if len(out) == 0 {
			s, endless := x.chainStart(f)
			iv.NomStart = s
			if endless {
				iv.NomStart = ContinuousStart
			}
		}
		e, endless := x.chainEnd(f)
		iv.NomEnd = e.Add(d)
		if endless {
			iv.NomEnd = ContinuousEnd
		}
		iv.Start, iv.End = iv.NomStart.Add(-b), iv.NomEnd.Add(a)
		if iv.NomStart.Equal(ContinuousStart) {
			iv.Start = ContinuousStart
		}
		if endless {
			iv.End = ContinuousEnd
		}
		out = append(out, iv)
		if endless {
			break
		}
		t = e.Add(time.Nanosecond)
	}
	return overlapping(out, from, to)
}

// Merge sorts intervals and merges those that overlap or touch.
func Merge(iv []Interval) []Interval {
	if len(iv) < 2 {
		return iv
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].Start.Before(iv[j].Start) })
	out := iv[:1]
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if !x.Start.After(last.End) {
			if x.End.After(last.End) {
				last.End = x.End
			}
			if x.NomEnd.After(last.NomEnd) {
				last.NomEnd = x.NomEnd
			}
			if x.NomStart.Before(last.NomStart) {
				last.NomStart = x.NomStart
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

func overlapping(iv []Interval, from, to time.Time) []Interval {
	out := iv[:0]
	for _, x := range iv {
		if x.End.After(from) && x.Start.Before(to) {
			out = append(out, x)
		}
	}
	return out
}

// starBit marks a "*" in robfig/cron's day-of-month and day-of-week fields.
const starBit = 1 << 63

// Fires returns the schedule's start instants in [from, to), sorted and
// unique. Unlike robfig/cron's Next, a local time inside a spring-forward
// gap fires at the first instant after the gap, and a local time that occurs
// twice in a fall-back hour fires once, at its first occurrence. "@every D"
// fires at whole multiples of D since the Unix epoch, so its windows do not
// depend on when recordctl started.
func Fires(sched cron.Schedule, loc *time.Location, from, to time.Time) []time.Time {
	if !to.After(from) {
		return nil
	}
	switch s := sched.(type) {
	case cron.ConstantDelaySchedule:
		d := everyDelay(s)
		first := from.Truncate(d)
		if first.Before(from) {
			first = first.Add(d)
		}
		var out []time.Time
		for t := first; t.Before(to); t = t.Add(d) {
			out = append(out, t)
		}
		return out
	case *cron.SpecSchedule:
		return specFires(s, loc, from, to)
	}
	// Unknown schedule kinds: fall back to robfig's own iteration.
	var out []time.Time
	for t := sched.Next(from.Add(-time.Second)); !t.IsZero() && t.Before(to); t = sched.Next(t) {
		if !t.Before(from) {
			out = append(out, t)
		}
	}
	return out
}

func everyDelay(s cron.ConstantDelaySchedule) time.Duration {
	if s.Delay < time.Second {
		return time.Second
	}
	return s.Delay
}

func specFires(s *cron.SpecSchedule, loc *time.Location, from, to time.Time) []time.Time {
	if s.Location != nil && s.Location != time.Local {
		loc = s.Location // CRON_TZ= / TZ= prefix in the expression wins
	}
	lf, lt := from.In(loc), to.In(loc)
	// Every instant in [from, to) has a local date between these two.
	day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, time.UTC)
	last := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	var out []time.Time
	hs, ms, ss := bitList(s.Hour, 24), bitList(s.Minute, 60), bitList(s.Second, 60)
	for ; !day.After(last); day = day.AddDate(0, 0, 1) {
		if s.Month&(1<<uint(day.Month())) == 0 || !dayMatches(s, day) {
			continue
		}
		out = appendWallFires(out, day, hs, ms, ss, loc, from, to, nil)
	}
	return out
}

// appendWallFires appends to out the instants of local date day at every
// hour, minute and second listed, in [from, to), in order, each once (the
// times of a spring-forward gap start at the same instant), leaving out
// those skip reports (nil: none).
func appendWallFires(out []time.Time, day time.Time, hs, ms, ss []int64, loc *time.Location, from, to time.Time, skip func(h, m, s int) bool) []time.Time {
	for _, h := range hs {
		for _, m := range ms {
			for _, sec := range ss {
				if skip != nil && skip(int(h), int(m), int(sec)) {
					continue
				}
				t := resolveWall(day.Year(), day.Month(), day.Day(), int(h), int(m), int(sec), loc)
				if t.Before(from) || !t.Before(to) {
					continue
				}
				if n := len(out); n > 0 && !out[n-1].Before(t) {
					continue // several gap times map to the same instant
				}
				out = append(out, t)
			}
		}
	}
	return out
}

func dayMatches(s *cron.SpecSchedule, day time.Time) bool {
	dom := s.Dom&(1<<uint(day.Day())) > 0
	dow := s.Dow&(1<<uint(day.Weekday())) > 0
	if s.Dom&starBit > 0 || s.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}

// setBits yields the set bit positions below n, in order.
func setBits(mask uint64, n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		m := mask &^ starBit
		if n < 64 {
			m &= 1<<uint(n) - 1
		}
		for m != 0 {
			i := bits.TrailingZeros64(m)
			if !yield(i) {
				return
			}
			m &= m - 1
		}
	}
}

// resolveWall maps a local wall-clock time to an instant: a time in a gap
// becomes the first instant after the gap; an ambiguous time its first
// occurrence.
func resolveWall(y int, mo time.Month, d, h, mi, s int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, mi, s, 0, loc)
	want := time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	start, end := t.ZoneBounds()
	if !got.Equal(want) {
		// In a gap: Go picked an offset from one side of the transition.
		if got.After(want) {
			return start
		}
		return end
	}
	if !start.IsZero() {
		_, cur := t.Zone()
		_, prev := start.Add(-time.Nanosecond).Zone()
		if prev > cur { // t is just after a fall-back: is there an earlier twin?
			twin := t.Add(-time.Duration(prev-cur) * time.Second)
			if twin.Before(start) {
				return twin
			}
		}
	}
	return t
}
