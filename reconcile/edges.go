package reconcile

import (
	"time"

	"github.com/recordctl/recordctl/spec"
)

// Edge is an instant at which the desired set changes by itself.
type Edge struct {
	At        time.Time
	Recording string
	// What: "window start", "window end" (command providers) or
	// "lookahead" (a scheduling provider's piece comes within the lookahead).
	What string
}

// NextEdge returns the earliest edge in (now, limit], or a zero Edge. It
// mirrors Desired: a command provider's window is desired from
// its start (inclusive) to its end (exclusive); a scheduling provider's
// piece is desired once its start is less than now+lookahead, so its edge
// is start-lookahead (the waker adds a small margin past it).
func NextEdge(set *spec.Set, caps CapsFunc, lookahead time.Duration, now, limit time.Time) Edge {
	var best Edge
	consider := func(t time.Time, rec, what string) {
		if t.After(now) && !t.After(limit) && (best.At.IsZero() || t.Before(best.At)) {
			best = Edge{At: t, Recording: rec, What: what}
		}
	}
	for _, rec := range set.Recordings {
		prov := set.Provider(rec.Spec.Provider)
		if prov == nil {
			continue
		}
		c := caps(prov.Spec.Type)
		name := rec.Metadata.Name
		if !c.ScheduleAhead {
			for _, w := range rec.Windows(now, limit) {
				consider(w.Start, name, "window start")
				consider(w.End, name, "window end")
			}
			continue
		}
		h := now.Add(lookahead)
		for _, w := range rec.Windows(h, limit.Add(lookahead)) {
			ps := w.Start
			if !ps.After(h) {
				step := c.MaxTaskDuration
				if step <= 0 {
					continue // one piece, already within the lookahead
				}
				k := h.Sub(w.Start)/step + 1
				ps = w.Start.Add(k * step)
			}
			if ps.Before(w.End) {
				consider(ps.Add(-lookahead), name, "lookahead")
			}
		}
	}
	return best
}
