package daemon

import (
	"fmt"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
)

// Reasons an action is held back.
const (
	HoldSpecErrors = "spec-errors"
	HoldMassStop   = "mass-stop"
)

// guard splits a plan's actions into those to apply and the stops and
// deletes held back because documents vanished (Action.Removed):
//   - while any document has an error, every such removal is held: the
//     documents in force may be incomplete, and a broken push must never
//     read as "stop everything";
//   - otherwise, when they are more than half of the live managed tasks
//     and allowMassStop is off, they are all held (the mass-stop guard).
//
// Only the removals are held; creates, adoptions and every other stop or
// delete (window closed, schedule changed) go ahead.
func guard(p *reconcile.Plan, st *state.State, obs map[string][]providers.Task, specErrors int, allowMassStop bool) (run, held []reconcile.Action, reason, why string) {
	var removed []reconcile.Action
	for _, a := range p.Actions {
		if a.Removed && (a.Action == reconcile.Stop || a.Action == reconcile.Delete) {
			removed = append(removed, a)
		} else {
			run = append(run, a)
		}
	}
	if len(removed) == 0 {
		return p.Actions, nil, "", ""
	}
	if specErrors > 0 {
		return run, removed, HoldSpecErrors, fmt.Sprintf("%d task(s) would be stopped or deleted because their documents vanished, but %d problem(s) in the documents are in force: removals wait until every file is valid",
			len(removed), specErrors)
	}
	live := liveManaged(st, obs)
	if !allowMassStop && 2*len(removed) > live {
		return run, removed, HoldMassStop, fmt.Sprintf("mass-stop guard: %d of %d live managed task(s) would be stopped or deleted because their documents vanished (more than half); restore the documents, or run with --allow-mass-stop to let it happen",
			len(removed), live)
	}
	return p.Actions, nil, "", ""
}

// liveManaged counts managed tasks that are running or scheduled (or that
// the provider cannot tell about).
func liveManaged(st *state.State, obs map[string][]providers.Task) int {
	status := map[string]providers.Status{}
	for _, ts := range obs {
		for _, t := range ts {
			status[t.ID] = t.Status
		}
	}
	n := 0
	for _, r := range st.Live() {
		if r.Task == nil {
			continue
		}
		s, seen := status[r.Task.ID]
		if !seen || isLiveStatus(s) {
			n++
		}
	}
	return n
}

func isLiveStatus(s providers.Status) bool {
	switch s {
	case providers.StatusScheduled, providers.StatusRecording, providers.StatusStarting, providers.StatusWaiting, providers.StatusUnknown:
		return true
	}
	return false
}
