package reconcile

import (
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// PlanWindows returns rec's windows overlapping [from, to) as plans see
// them: the schedule's windows, merged where closer than the provider's
// MinRestartGap. Views of the schedule (the calendar, the markdown week
// summary) use it so that they show the windows plans act on.
func PlanWindows(rec *spec.Recording, c providers.Capabilities, from, to time.Time) []spec.Interval {
	if !to.After(from) {
		return nil
	}
	return gapWindows(rec, c.MinRestartGap, from, to)
}

// PieceSpan is one task of a window: its key and times.
type PieceSpan struct {
	Key        string
	Start, End time.Time
}

// WindowPieces returns the tasks window w (identity id) becomes on a
// provider with capabilities c, restricted to those overlapping [from, to):
// consecutive tasks of at most MaxTaskDuration on a scheduling provider,
// the window itself otherwise.
func WindowPieces(id string, w spec.Interval, c providers.Capabilities, from, to time.Time) []PieceSpan {
	step := c.MaxTaskDuration
	if !c.ScheduleAhead || step <= 0 {
		if w.End.After(from) && w.Start.Before(to) {
			return []PieceSpan{{id, w.Start, w.End}}
		}
		return nil
	}
	k := int64(0)
	if from.After(w.Start) {
		k = int64(from.Sub(w.Start) / step)
	}
	var out []PieceSpan
	for ; ; k++ {
		ps := w.Start.Add(time.Duration(k) * step)
		if !ps.Before(w.End) || !ps.Before(to) {
			break
		}
		pe := ps.Add(step)
		if pe.After(w.End) {
			pe = w.End
		}
		if pe.After(from) {
			out = append(out, PieceSpan{pieceKey(id, k), ps, pe})
		}
	}
	return out
}
