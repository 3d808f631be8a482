package reconcile

import (
	"time"

	"github.com/recordctl/recordctl/reconcile/state"
)

// Pending is a piece of a scheduled window that the provider does not
// accept yet (its start is beyond the provider's scheduling horizon); apply
// or the daemon creates it from CreateFrom on.
type Pending struct {
	Recording  string    `json:"recording"`
	Key        string    `json:"key"`
	Provider   string    `json:"provider"`
	Window     Span      `json:"window"`
	Piece      Span      `json:"piece"`
	CreateFrom time.Time `json:"create_from"`
	Timezone   string    `json:"timezone,omitempty"`
}

// pendingOf lists pending pieces for the plan, in the order they come.
func pendingOf(pieces []Piece) []Pending {
	if len(pieces) == 0 {
		return nil
	}
	out := make([]Pending, 0, len(pieces))
	for _, p := range pieces {
		out = append(out, Pending{Recording: p.Recording.Metadata.Name, Key: p.Key, Provider: p.Provider.Metadata.Name,
			Window: Span{p.WStart.UTC(), p.WEnd.UTC()}, Piece: Span{p.Start.UTC(), p.End.UTC()},
			CreateFrom: p.CreateFrom.UTC(), Timezone: zoneName(p.Recording)})
	}
	return out
}

// keeps reports whether a managed record that no desired piece wants is
// still a piece of a window of the documents (beyond the lookahead, or
// created by an apply with a longer one): its task is left alone.
func (pl *providerPlanner) keeps(r *state.Record) bool {
	if r.Task == nil || !pl.caps.ScheduleAhead || !pl.in.Now.Before(r.End) {
		return false
	}
	rec := pl.recs[r.Recording]
	return StillScheduled(rec, pl.prov, pl.caps, pl.in.Now, r.Window, r.Key, r.Stream, r.Start, r.End)
}
