package calendar

import (
	"fmt"
	"sort"
	"time"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/spec"
)

// ConflictKind names what is wrong.
type ConflictKind string

const (
	// OverlapLimit: more tasks of one stream overlap than the provider allows (tencent: 3).
	OverlapLimit ConflictKind = "overlap-limit"
	// RestartGap: a window starts within the provider's restart gap after another recording's window on the stream ends (huawei: 10 s).
	RestartGap ConflictKind = "restart-gap"
	// SameStream: two recordings record one stream at once.
	SameStream ConflictKind = "same-stream"
	// BeyondHorizon: part of a window lies beyond what the provider lets be scheduled when the window is planned.
	BeyondHorizon ConflictKind = "beyond-horizon"
)

// Conflict is a problem the windows of the range have.
type Conflict struct {
	Kind       ConflictKind `json:"kind"`
	Stream     string       `json:"stream"`
	Recordings []string     `json:"recordings"`
	Windows    []string     `json:"windows"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
	Message    string       `json:"message"`
}

// streamKey identifies a stream as spec's conflict check does: the same
// provider type and domain/app/name, or for agora the same App ID and channel.
func streamKey(set *spec.Set, w *Window) string {
	if p := set.Provider(w.Provider); p != nil {
		return spec.StreamKey(p, w.Stream)
	}
	return w.Type + "\x00" + w.Stream.String()
}

func findConflicts(c *Calendar, set *spec.Set, caps reconcile.CapsFunc, lookahead time.Duration) {
	groups := map[string][]int{}
	var keys []string
	for i := range c.Windows {
		k := streamKey(set, &c.Windows[i])
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Strings(keys)
	add := func(x Conflict, idx ...int) {
		n := len(c.Conflicts)
		seen := map[string]bool{}
		for _, i := range idx {
			w := &c.Windows[i]
			w.Conflicts = append(w.Conflicts, n)
			x.Windows = append(x.Windows, w.ID)
			if !seen[w.Recording] {
				seen[w.Recording] = true
				x.Recordings = append(x.Recordings, w.Recording)
			}
		}
		c.Conflicts = append(c.Conflicts, x)
	}
	for _, k := range keys {
		g := groups[k]
		sort.SliceStable(g, func(a, b int) bool { return c.Windows[g[a]].Start.Before(c.Windows[g[b]].Start) })
		typ := c.Windows[g[0]].Type
		cp := caps(typ)
		stream := c.Windows[g[0]].Stream.String()
		for a := 0; a < len(g); a++ {
			wa := &c.Windows[g[a]]
			for b := a + 1; b < len(g); b++ {
				wb := &c.Windows[g[b]]
				if wa.Recording == wb.Recording {
					continue
				}
				if wb.Start.Before(wa.End) {
					s, e := wb.Start, minT(wa.End, wb.End)
					add(Conflict{Kind: SameStream, Stream: stream, Start: s, End: e,
						Message: fmt.Sprintf("%s and %s both record %s %s from %s: the stream would be recorded and billed twice",
							wa.Recording, wb.Recording, typ, stream, s.Format(time.RFC3339))}, g[a], g[b])
					continue
				}
				if gap := wb.Start.Sub(wa.End); cp.MinRestartGap > 0 && gap <= cp.MinRestartGap {
					add(Conflict{Kind: RestartGap, Stream: stream, Start: wa.End, End: wb.Start,
						Message: fmt.Sprintf("%s starts %s after %s ends on %s %s; %s needs more than %s between a stop and the next start",
							wb.Recording, gap, wa.Recording, typ, stream, typ, cp.MinRestartGap)}, g[a], g[b])
				}
			}
		}
		if cp.MaxOverlapPerStream > 0 {
			overlapLimit(c, g, cp.MaxOverlapPerStream, typ, stream, add)
		}
		if cp.ScheduleAhead && cp.MaxLookahead > 0 {
			for _, i := range g {
				beyondHorizon(c, i, cp.MaxLookahead, cp.MaxTaskDuration, lookahead, add)
			}
		}
	}
}

// overlapLimit reports each span where more than max tasks of the stream overlap.
func overlapLimit(c *Calendar, g []int, max int, typ, stream string, add func(Conflict, ...int)) {
	type ev struct {
		at  time.Time
		d   int
		win int
	}
	var evs []ev
	for _, i := range g {
		for _, p := range c.Windows[i].Pieces {
			evs = append(evs, ev{p.Start, +1, i}, ev{p.End, -1, i})
		}
	}
	if len(evs) <= 2*max {
		return
	}
	sort.Slice(evs, func(a, b int) bool {
		if !evs[a].at.Equal(evs[b].at) {
			return evs[a].at.Before(evs[b].at)
		}
		return evs[a].d < evs[b].d // ends before starts: touching tasks do not overlap
	})
	n, peak := 0, 0
	var start time.Time
	open := map[int]int{}
	var involved []int
	for _, e := range evs {
		if e.d > 0 {
			open[e.win]++
		} else if open[e.win]--; open[e.win] == 0 {
			delete(open, e.win)
		}
		prev := n
		n += e.d
		switch {
		case prev <= max && n > max:
			start, peak, involved = e.at, n, nil
			for w := range open {
				involved = append(involved, w)
			}
		case n > max:
			peak = maxInt(peak, n)
			if e.d > 0 {
				involved = appendUnique(involved, e.win)
			}
		case prev > max && n <= max:
			sort.Ints(involved)
			add(Conflict{Kind: OverlapLimit, Stream: stream, Start: start, End: e.at,
				Message: fmt.Sprintf("%d %s tasks of %s overlap from %s (at most %d may overlap): the plan refuses the extra creates",
					peak, typ, stream, start.Format(time.RFC3339), max)}, involved...)
		}
	}
}

// beyondHorizon reports the part of a window that cannot be scheduled when
// the window enters the plan (lookahead before it opens): tasks must start
// within maxAhead and end within maxAhead plus one task of that moment;
// later pieces are created only if recordctl runs again when they are in
// reach. Continuous recordings are chained this way by design.
func beyondHorizon(c *Calendar, i int, maxAhead, task, lookahead time.Duration, add func(Conflict, ...int)) {
	w := &c.Windows[i]
	if w.Continuous {
		return
	}
	enter := w.Start.Add(-lookahead)
	startBy, endBy := enter.Add(maxAhead), enter.Add(maxAhead+task)
	for _, p := range w.Pieces {
		if p.Start.After(startBy) || p.End.After(endBy) {
			add(Conflict{Kind: BeyondHorizon, Stream: w.Stream.String(), Start: p.Start, End: w.ShownEnd,
				Message: fmt.Sprintf("%s: the window runs past what %s can schedule when it is planned (tasks start within %s): tasks from %s on are created only if recordctl runs then",
					w.ID, w.Type, maxAhead, p.Start.Format(time.RFC3339))}, i)
			return
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func appendUnique(s []int, x int) []int {
	for _, y := range s {
		if y == x {
			return s
		}
	}
	return append(s, x)
}
