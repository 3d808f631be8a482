package spec

import (
	"sort"
	"time"

	"github.com/robfig/cron/v3"
)

// fireSearch bounds how far ahead nextFire looks for a schedule's next start
// when the caller gives no closer limit (a cron such as "0 9 30 2 *" never fires).
const fireSearch = 5 * 366 * 24 * time.Hour

// expander finds a schedule's starts and follows chains of touching windows
// day by day: a day whose starts all touch each other (every second, every
// minute with 1 min windows, ...) is crossed in one step from its first to
// its last start, so the cost is bounded by days and windows, not by starts.
type expander struct {
	spec  *cron.SpecSchedule // nil for @every
	every time.Duration
	loc   *time.Location
	// w: the windows of starts x < y touch or overlap exactly when y-x <= w
	// (duration plus padding on both sides).
	w      time.Duration
	ranges []Exclusion          // date exclusions
	crons  []*cron.SpecSchedule // cron exclusions
	// For spec schedules: the hours, minutes and seconds that fire, and for
	// each level (0 hour, 1 minute, 2 second) the first and last offset (in
	// seconds) of a block and whether its starts all touch.
	lv          [3][]int64
	first, last [3]int64
	solid       [3]bool
	// memo remembers the chains found for this schedule across calls.
	memo *chainMemo
}

var units = [3]int64{3600, 60, 1}

// expander returns the schedule's expander, nil when it cannot yield windows.
func (sc *Schedule) expander() *expander {
	if sc.Duration <= 0 {
		return nil
	}
	sched, err := cachedCron(sc.Cron)
	if err != nil {
		return nil
	}
	x := &expander{loc: sc.Location, w: sc.Duration + sc.Padding.Before + sc.Padding.After}
	if x.loc == nil {
		x.loc = time.UTC
	}
	for _, e := range sc.Exclude {
		if e.Cron != "" {
			if s, ok := mustCron(e.Cron).(*cron.SpecSchedule); ok {
				x.crons = append(x.crons, s)
			}
		} else if !e.From.IsZero() {
			x.ranges = append(x.ranges, e)
		}
	}
	switch s := sched.(type) {
	case cron.ConstantDelaySchedule:
		x.every = everyDelay(s)
	case *cron.SpecSchedule:
		if s.Location != nil && s.Location != time.Local {
			x.loc = s.Location
		}
		x.spec = s
		x.lv[0], x.lv[1], x.lv[2] = bitList(s.Hour, 24), bitList(s.Minute, 60), bitList(s.Second, 60)
		if len(x.lv[0]) == 0 || len(x.lv[1]) == 0 || len(x.lv[2]) == 0 {
			return nil
		}
		for l := 2; l >= 0; l-- {
			vs := x.lv[l]
			inF, inL, inSolid := int64(0), int64(0), true
			if l < 2 {
				inF, inL, inSolid = x.first[l+1], x.last[l+1], x.solid[l+1]
			}
			x.first[l] = vs[0]*units[l] + inF
			x.last[l] = vs[len(vs)-1]*units[l] + inL
			x.solid[l] = inSolid
			for i := 1; i < len(vs); i++ {
				if gap := (vs[i]-vs[i-1])*units[l] + inF - inL; time.Duration(gap)*time.Second > x.w {
					x.solid[l] = false
				}
			}
		}
	default:
		return nil
	}
	x.memo = memoFor(sc)
	return x
}

func bitList(mask uint64, n int) []int64 {
	var out []int64
	for i := range setBits(mask, n) {
		out = append(out, int64(i))
	}
	return out
}

// day is what the expander knows of one local date.
type day struct {
	date       time.Time // the local date, as midnight UTC
	start, end time.Time // its first instant and the next date's
	kind       int
	fires      []time.Time    // dayList: the starts, sorted
	runs       [][2]time.Time // dayRuns: first and last start of each run, sorted
	// ex are the cron exclusions that remove some starts of a regular day.
	ex []*cron.SpecSchedule
	// A regular day of a spec schedule may hold one change of UTC offset:
	// wall-clock second w of the day is the instant start+w before wall
	// second a; at a the clocks jump by shift seconds (> 0 forward: wall
	// times in [a, a+shift) do not exist and start at the first instant
	// after the gap; < 0 back: the repeated times start once, before).
	a, shift int64
}

// at is the instant of wall-clock second w of a regular day.
func (dy *day) at(w int64) time.Time {
	switch {
	case dy.shift == 0 || w < dy.a:
		return sec(dy.start, w)
	case dy.shift > 0 && w < dy.a+dy.shift:
		return sec(dy.start, dy.a)
	case dy.shift > 0:
		return sec(dy.start, w-dy.shift)
	}
	return sec(dy.start, w-dy.shift)
}

// excluded reports whether a cron exclusion removes the start at wall second w.
func (dy *day) excluded(w int64) bool {
	for _, c := range dy.ex {
		if c.Hour&(1<<uint(w/3600)) != 0 && c.Minute&(1<<uint(w%3600/60)) != 0 && c.Second&(1<<uint(w%60)) != 0 {
			return true
		}
	}
	return false
}

// touched reports whether a cron exclusion removes some start of the block
// of level l (0: an hour, 1: a minute) at wall second w.
func (dy *day) touched(l int, w int64) bool {
	for _, c := range dy.ex {
		if c.Hour&(1<<uint(w/3600)) != 0 && (l == 0 || c.Minute&(1<<uint(w%3600/60)) != 0) {
			return true
		}
	}
	return false
}

// straddles reports whether wall seconds [w0, w1] hold the clocks going back,
// where starts that touch in wall time are an hour (or so) apart in time.
func (dy *day) straddles(w0, w1 int64) bool { return dy.shift < 0 && w0 < dy.a && dy.a <= w1 }

const (
	dayNone    = iota // no start
	dayRegular        // spec: starts are start + the product of hours, minutes, seconds; every: multiples of the delay
	dayList           // starts listed (two changes of offset, or @every with exclusions on a DST day)
	dayRuns           // @every with exclusions: runs of starts between excluded times
)

// maxExcludedSpans bounds the excluded time spans of one day that everyRuns
// handles; an exclusion that leaves out, say, every other second is listed.
const maxExcludedSpans = 4096

// everyRuns cuts the @every starts of a day without a change of offset into
// runs (first, last start; every x.every between) around the wall-clock
// times the cron exclusions ex leave out.
func (x *expander) everyRuns(start, end time.Time, ex []*cron.SpecSchedule) ([][2]time.Time, bool) {
	var spans [][2]int64 // excluded wall seconds, inclusive
	for _, c := range ex {
		hs, ms, ss := bitList(c.Hour, 24), bitList(c.Minute, 60), bitList(c.Second, 60)
		switch {
		case len(ms) == 60 && len(ss) == 60:
			for _, h := range hs {
				spans = append(spans, [2]int64{h * 3600, h*3600 + 3599})
			}
		case len(ss) == 60:
			for _, h := range hs {
				for _, m := range ms {
					spans = append(spans, [2]int64{h*3600 + m*60, h*3600 + m*60 + 59})
				}
			}
		default:
			if len(hs)*len(ms)*len(ss) > maxExcludedSpans {
				return nil, false
			}
			for _, h := range hs {
				for _, m := range ms {
					for _, sc := range ss {
						w := h*3600 + m*60 + sc
						spans = append(spans, [2]int64{w, w})
					}
				}
			}
		}
		if len(spans) > maxExcludedSpans {
			return nil, false
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var runs [][2]time.Time
	add := func(u, v time.Time) { // the starts in [u, v)
		first := u.Truncate(x.every)
		if first.Before(u) {
			first = first.Add(x.every)
		}
		if last := v.Add(-time.Nanosecond).Truncate(x.every); !last.Before(first) {
			runs = append(runs, [2]time.Time{first, last})
		}
	}
	from := start
	for _, sp := range spans {
		a, b := sec(start, sp[0]), sec(start, sp[1]+1)
		if a.After(from) {
			add(from, a)
		}
		if b.After(from) {
			from = b
		}
	}
	add(from, end)
	return runs, true
}

func (x *expander) dateOf(t time.Time) time.Time {
	l := t.In(x.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// bounds returns the first instant of a local date and of the next one.
func (x *expander) bounds(date time.Time) (time.Time, time.Time) {
	n := date.AddDate(0, 0, 1)
	return resolveWall(date.Year(), date.Month(), date.Day(), 0, 0, 0, x.loc),
		resolveWall(n.Year(), n.Month(), n.Day(), 0, 0, 0, x.loc)
}

func (x *expander) day(date time.Time) day {
	dy := day{date: date}
	dy.start, dy.end = x.bounds(date)
	if x.spec != nil && (x.spec.Month&(1<<uint(date.Month())) == 0 || !dayMatches(x.spec, date)) {
		return dy
	}
	for _, r := range x.ranges {
		if !date.Before(r.From) && !date.After(r.To) {
			return dy
		}
	}
	var ex []*cron.SpecSchedule // cron exclusions that remove some starts of this day
	for _, c := range x.crons {
		if c.Month&(1<<uint(date.Month())) == 0 || !dayMatches(c, date) {
			continue
		}
		if x.covers(c) {
			return dy
		}
		ex = append(ex, c)
	}
	if x.spec != nil && x.offsetChange(&dy) {
		dy.kind, dy.ex = dayRegular, ex // the walkers skip excluded starts
		return dy
	}
	if x.spec == nil && len(ex) == 0 {
		dy.kind = dayRegular // @every starts are instants: a change of offset does not matter
		return dy
	}
	if x.spec == nil {
		plain := dy.end.Sub(dy.start) == 24*time.Hour
		if _, z := dy.start.ZoneBounds(); !z.IsZero() && z.Before(dy.end) {
			plain = false
		}
		if plain {
			if runs, ok := x.everyRuns(dy.start, dy.end, ex); ok {
				dy.kind, dy.runs = dayRuns, runs
				return dy
			}
		}
		dy.kind = dayList
		for _, t := range Fires(cron.ConstantDelaySchedule{Delay: x.every}, x.loc, dy.start, dy.end) {
			if l := t.In(x.loc); !x.excludedAt(date, l.Hour(), l.Minute(), l.Second()) {
				dy.fires = append(dy.fires, t)
			}
		}
		return dy
	}
	dy.kind = dayList
	dy.fires = x.listDay(date, dy.start, dy.end)
	return dy
}

// listDay lists the starts of a spec schedule on date, one by one: a cron
// exclusion matches the scheduled local time (a start moved out of a
// spring-forward gap is excluded by the time it was scheduled at).
func (x *expander) listDay(date, start, end time.Time) []time.Time {
	return appendWallFires(nil, date, x.lv[0], x.lv[1], x.lv[2], x.loc, start, end, func(h, m, s int) bool {
		return x.excludedAt(date, h, m, s)
	})
}

// offsetChange finds the day's change of UTC offset, if any, and reports
// whether the day is regular (at most one change).
func (x *expander) offsetChange(dy *day) bool {
	l := dy.start.In(x.loc)
	if wall := int64(l.Hour()*3600 + l.Minute()*60 + l.Second()); wall != 0 {
		dy.a, dy.shift = 0, wall // midnight is in a gap (Santiago): the day starts after it
	} else if _, zEnd := dy.start.ZoneBounds(); !zEnd.IsZero() && zEnd.Before(dy.end) {
		_, o1 := dy.start.Zone()
		_, o2 := zEnd.Zone()
		dy.a, dy.shift = int64(zEnd.Sub(dy.start)/time.Second), int64(o2-o1)
	}
	want := 24*time.Hour - time.Duration(dy.shift)*time.Second
	if dy.a == 0 && dy.shift > 0 {
		want = 24*time.Hour - time.Duration(dy.shift)*time.Second
	}
	if dy.end.Sub(dy.start) != want {
		return false // two changes in one day: list the starts
	}
	if dy.shift != 0 {
		mid := dy.at(dy.a + max(dy.shift, 0))
		if _, z := mid.ZoneBounds(); !z.IsZero() && z.Before(dy.end) {
			return false
		}
	}
	return true
}

// covers reports whether the cron exclusion c removes every start of a day it matches.
func (x *expander) covers(c *cron.SpecSchedule) bool {
	full := func(m uint64, n int) bool { return m&(1<<uint(n)-1) == 1<<uint(n)-1 }
	if x.spec == nil {
		return full(c.Hour, 24) && full(c.Minute, 60) && full(c.Second, 60)
	}
	return x.spec.Hour&^c.Hour&(1<<24-1) == 0 && x.spec.Minute&^c.Minute&(1<<60-1) == 0 && x.spec.Second&^c.Second&(1<<60-1) == 0
}

// excludedAt reports whether a cron exclusion matches local date and time.
func (x *expander) excludedAt(date time.Time, h, m, sec int) bool {
	for _, c := range x.crons {
		if c.Second&(1<<uint(sec)) != 0 && c.Minute&(1<<uint(m)) != 0 && c.Hour&(1<<uint(h)) != 0 &&
			c.Month&(1<<uint(date.Month())) != 0 && dayMatches(c, date) {
			return true
		}
	}
	return false
}

// excludedByCron reports whether a cron exclusion matches the local time of t.
func (x *expander) excludedByCron(t time.Time) bool {
	if len(x.crons) == 0 {
		return false
	}
	l := t.In(x.loc)
	return x.excludedAt(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), l.Hour(), l.Minute(), l.Second())
}

func sec(t time.Time, s int64) time.Time { return t.Add(time.Duration(s) * time.Second) }

// nextFire returns the first start at or after t and before limit.
func (x *expander) nextFire(t, limit time.Time) (time.Time, bool) {
	if !t.Before(limit) {
		return time.Time{}, false
	}
	for date := x.dateOf(t); ; date = date.AddDate(0, 0, 1) {
		if start, _ := x.bounds(date); !start.Before(limit) {
			return time.Time{}, false // before listing a day's starts, which may be many
		}
		dy := x.day(date)
		f, ok := x.firstIn(dy, t)
		if ok {
			return f, f.Before(limit)
		}
	}
}

// firstIn returns the first start of dy at or after p.
func (x *expander) firstIn(dy day, p time.Time) (time.Time, bool) {
	switch dy.kind {
	case dayList:
		for _, f := range dy.fires {
			if !f.Before(p) {
				return f, true
			}
		}
	case dayRuns:
		for _, r := range dy.runs {
			if r[1].Before(p) {
				continue
			}
			if !r[0].Before(p) {
				return r[0], true
			}
			q := p.Truncate(x.every)
			if q.Before(p) {
				q = q.Add(x.every)
			}
			return q, true // r[0] < p <= q <= r[1]
		}
	case dayRegular:
		if p.Before(dy.start) {
			p = dy.start
		}
		if x.spec == nil {
			q := p.Truncate(x.every)
			if q.Before(p) {
				q = q.Add(x.every)
			}
			return q, q.Before(dy.end)
		}
		return x.firstAtOrAfter(&dy, 0, 0, p)
	}
	return time.Time{}, false
}

func (x *expander) firstAtOrAfter(dy *day, l int, off int64, p time.Time) (time.Time, bool) {
	for _, v := range x.lv[l] {
		o := off + v*units[l]
		if l == 2 {
			if t := dy.at(o); !t.Before(p) && !dy.excluded(o) {
				return t, true
			}
			continue
		}
		if dy.at(o + x.last[l+1]).Before(p) {
			continue
		}
		if t, ok := x.firstAtOrAfter(dy, l+1, o, p); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// chainEnd follows the windows that touch or overlap the one starting at f
// forward and returns the last start of the chain; true when the chain goes
// on past maxChain.
func (x *expander) chainEnd(f time.Time) (time.Time, bool) {
	if x.memo == nil {
		return x.walkEnd(f, f.Add(maxChain))
	}
	return x.memo.end(x, f)
}

// walkEnd walks a chain forward from its start prev until it breaks or
// passes limit.
func (x *expander) walkEnd(prev, limit time.Time) (time.Time, bool) {
	f := prev
	for date := x.dateOf(f); ; date = date.AddDate(0, 0, 1) {
		if start, _ := x.bounds(date); start.Sub(prev) > x.w {
			return prev, false // nothing in this day or later can touch prev
		} else if start.After(limit) {
			return prev, true
		}
		dy := x.day(date)
		switch dy.kind {
		case dayList:
			for _, t := range dy.fires {
				if !t.After(prev) {
					continue
				}
				if t.Sub(prev) > x.w {
					return prev, false
				}
				prev = t
			}
		case dayRuns:
			for _, r := range dy.runs {
				if !r[1].After(prev) {
					continue
				}
				y, _ := x.firstIn(day{kind: dayRuns, runs: [][2]time.Time{r}}, prev.Add(time.Nanosecond))
				if y.Sub(prev) > x.w {
					return prev, false
				}
				if x.every > x.w {
					return y, false
				}
				prev = r[1]
			}
		case dayRegular:
			if x.spec == nil {
				y, ok := x.firstIn(dy, prev.Add(time.Nanosecond))
				if !ok {
					continue
				}
				if y.Sub(prev) > x.w {
					return prev, false
				}
				if x.every > x.w {
					return y, false
				}
				prev = dy.end.Add(-time.Nanosecond).Truncate(x.every)
				continue
			}
			if t, ok := x.fwd(&dy, 0, 0, prev.Add(time.Nanosecond), &prev); ok {
				return t, false
			}
		}
	}
}

// fwd scans the starts of a regular day at or after p, continuing a chain
// whose last start is *prev; it returns the start after which the chain breaks.
func (x *expander) fwd(dy *day, l int, off int64, p time.Time, prev *time.Time) (time.Time, bool) {
	for _, v := range x.lv[l] {
		o := off + v*units[l]
		if l == 2 {
			t := dy.at(o)
			if t.Before(p) || dy.excluded(o) {
				continue
			}
			if t.Sub(*prev) > x.w {
				return *prev, true
			}
			*prev = t
			continue
		}
		first, last := dy.at(o+x.first[l+1]), dy.at(o+x.last[l+1])
		if last.Before(p) {
			continue
		}
		if x.solid[l+1] && !first.Before(p) && !dy.straddles(o+x.first[l+1], o+x.last[l+1]) && !dy.touched(l, o) {
			if first.Sub(*prev) > x.w {
				return *prev, true
			}
			*prev = last
			continue
		}
		if t, ok := x.fwd(dy, l+1, o, p, prev); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// chainStart follows the windows that touch or overlap the one starting at
// f backwards and returns the first start of the chain; true when the chain
// goes on past maxChain.
func (x *expander) chainStart(f time.Time) (time.Time, bool) {
	if x.memo == nil {
		return x.walkStart(f, f.Add(-maxChain))
	}
	return x.memo.start(x, f)
}

// walkStart walks a chain backwards from its start next until it breaks or
// passes limit.
func (x *expander) walkStart(next, limit time.Time) (time.Time, bool) {
	f := next
	for date := x.dateOf(f); ; date = date.AddDate(0, 0, -1) {
		if _, end := x.bounds(date); next.Sub(end) >= x.w {
			return next, false // every start of this day or earlier is too far before next
		} else if end.Before(limit) {
			return next, true
		}
		dy := x.day(date)
		switch dy.kind {
		case dayList:
			for i := len(dy.fires) - 1; i >= 0; i-- {
				t := dy.fires[i]
				if !t.Before(next) {
					continue
				}
				if next.Sub(t) > x.w {
					return next, false
				}
				next = t
			}
		case dayRuns:
			for i := len(dy.runs) - 1; i >= 0; i-- {
				r := dy.runs[i]
				if !r[0].Before(next) {
					continue
				}
				y := r[1]
				if !y.Before(next) {
					y = next.Add(-time.Nanosecond).Truncate(x.every) // r[0] <= y < next
				}
				if next.Sub(y) > x.w {
					return next, false
				}
				if x.every > x.w {
					return y, false
				}
				next = r[0]
			}
		case dayRegular:
			if x.spec == nil {
				// The latest start before next within this day: next may
				// lie days later, past days with no start (excluded).
				y := next.Add(-time.Nanosecond)
				if !y.Before(dy.end) {
					y = dy.end.Add(-time.Nanosecond)
				}
				y = y.Truncate(x.every)
				if y.Before(dy.start) {
					continue
				}
				if next.Sub(y) > x.w {
					return next, false
				}
				if x.every > x.w {
					return y, false
				}
				first, _ := x.firstIn(dy, dy.start)
				next = first
				continue
			}
			if t, ok := x.bwd(&dy, 0, 0, next.Add(-time.Nanosecond), &next); ok {
				return t, false
			}
		}
	}
}

// bwd mirrors fwd: it scans the starts of a regular day at or before p,
// latest first, continuing a chain whose first start is *next.
func (x *expander) bwd(dy *day, l int, off int64, p time.Time, next *time.Time) (time.Time, bool) {
	vs := x.lv[l]
	for i := len(vs) - 1; i >= 0; i-- {
		o := off + vs[i]*units[l]
		if l == 2 {
			t := dy.at(o)
			if t.After(p) || dy.excluded(o) {
				continue
			}
			if next.Sub(t) > x.w {
				return *next, true
			}
			*next = t
			continue
		}
		first, last := dy.at(o+x.first[l+1]), dy.at(o+x.last[l+1])
		if first.After(p) {
			continue
		}
		if x.solid[l+1] && !last.After(p) && !dy.straddles(o+x.first[l+1], o+x.last[l+1]) && !dy.touched(l, o) {
			if next.Sub(last) > x.w {
				return *next, true
			}
			*next = first
			continue
		}
		if t, ok := x.bwd(dy, l+1, o, p, next); ok {
			return t, true
		}
	}
	return time.Time{}, false
}
