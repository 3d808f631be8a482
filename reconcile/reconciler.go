package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Request asks for one Provider document to be reconciled, in the manner
// of controller-runtime's reconcile.Request: the daemon's workers, apply
// and the tests all send one.
type Request struct {
	// Provider is the Provider document's name.
	Provider string
	// At is the instant planned for.
	At time.Time
	// Set holds the documents in force.
	Set *spec.Set
	// Plan, when set, is a plan already shown (or saved) and confirmed, with
	// only this provider's actions and forgets: it is carried out as it is,
	// with no new observation.
	Plan *Plan
	// Store is the store to write through while this provider is led (an
	// election lease's store); nil means the engine's Store.
	Store Store
	// Since is when this provider was last reconciled (missed-window
	// reports); zero means the state's last reconcile time.
	Since time.Time
	// DueFirst: before observing, carry out what is due at At (starts,
	// stops, deletes) as planned from the state and the provider's last
	// observation, so a window that opens now never waits behind status
	// queries. Without a last observation it has no effect.
	DueFirst bool
	// Reassert re-issues the start of open recordings of providers that
	// cannot observe them (Reasserter), after the apply.
	Reassert bool
	// Filter, if set, chooses which of a plan's actions run (the daemon's
	// mass-stop guard); the others are held back. st is the state the plan
	// was made from.
	Filter func(p *Plan, st *state.State, observed []providers.Task) []Action
	// Interrupt, if set, is closed when something else waits for this
	// provider (the daemon: an edit, an edge): an observation under way is
	// abandoned and the reconcile ends at once, due again right away, so
	// due work never waits behind a long List.
	Interrupt <-chan struct{}
	// Yield, if set, reports that something else is waiting for this
	// provider (the daemon: an edit); re-asserting open recordings, which
	// costs a call each, pauses for it and resumes on a later pass.
	Yield func() bool
	// Horizon bounds the search for the next window edge (default 1 h):
	// without one, RequeueAt is At+Horizon.
	Horizon time.Duration
}

// Reconcile brings one provider in line with the documents at req.At: it
// plans (observing the provider unless req.Plan is given), applies through
// the executor, re-asserts open recordings if asked, and records the
// reconcile time. Result.RequeueAt says when this provider next needs a
// reconcile: its next window edge after At (an edge that passed while this
// reconcile ran is due at once), the earliest deferred retry, or the next
// check of a start awaiting confirmation.
//
// A write the store refuses (state.ErrFenced) aborts the reconcile at once
// and is returned: no further provider call is made. Other problems are
// in the Result (plan errors, failed actions).
func (e *Engine) Reconcile(ctx context.Context, req Request) (*Result, error) {
	e.defaults()
	store := req.Store
	if store == nil {
		store = e.Store
	}
	set := subset(req.Set, req.Provider)
	if len(set.Providers) == 0 {
		return &Result{}, fmt.Errorf("provider %s is not in the documents", req.Provider)
	}
	pdoc := set.Providers[0]
	provs, gates, perrs := e.clientsFor(set)
	x := e.executor(store, provs, gates)
	res := &Result{}
	var rerr error
	if req.Plan != nil {
		r, err := x.Apply(ctx, set, req.Plan)
		res.merge(r)
		res.Plan = req.Plan
		rerr = err
	} else {
		rerr = e.planAndApply(ctx, req, set, pdoc, store, x, perrs[req.Provider], res)
	}
	if rerr != nil {
		return res, rerr
	}
	if req.Reassert && ctx.Err() == nil && !res.Interrupted {
		skip := map[string]bool{}
		for _, o := range res.Outcomes {
			if o.Action.Action == Create || o.Action.Action == Adopt {
				skip[o.Action.Key] = true
			}
		}
		// Re-asserting costs a call per open recording; it yields to the
		// provider's next window edge, and the rest waits for the next one.
		h := req.Horizon
		if h <= 0 {
			h = defaultHorizon
		}
		until := NextEdge(set, e.Caps, e.Lookahead, req.At, req.At.Add(h)).At
		if err := e.reassert(ctx, x, store, req.Provider, provs[req.Provider], res, skip, until, req.Yield); err != nil {
			return res, err
		}
	}
	if res.Interrupted {
		res.RequeueAt = req.At // the rest of this pass is due at once
		return res, nil
	}
	if req.Plan == nil {
		if err := e.finish(ctx, store, req.At); err != nil {
			return res, err
		}
	}
	res.RequeueAt = e.requeueAt(req, set, pdoc, res)
	return res, nil
}

// planAndApply is Reconcile without a given plan: due actions first (from
// the last observation), then observe, plan, filter, apply.
func (e *Engine) planAndApply(ctx context.Context, req Request, set *spec.Set, pdoc *spec.Provider, store Store, x *Executor, perr error, res *Result) error {
	if err := CheckLookahead(set, e.Caps, e.Lookahead); err != nil {
		res.Plan = &Plan{FormatVersion: FormatVersion, At: req.At.UTC(), Errors: []string{err.Error()}}
		return nil
	}
	snapshot := func() (*state.State, error) {
		st, err := store.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		return stateOf(st, req.Provider), nil
	}
	in := Input{Set: set, Caps: e.Caps, Now: req.At, Lookahead: e.Lookahead, Since: req.Since}
	run := func(p *Plan, st *state.State, obs []providers.Task, due bool) error {
		acts := p.Actions
		if req.Filter != nil {
			acts = req.Filter(p, st, obs)
		}
		if due {
			acts = dueActions(acts, req.At, e.Caps(pdoc.Spec.Type))
		}
		if len(acts) == 0 && len(p.Forget) == 0 {
			return nil
		}
		r, err := x.Apply(ctx, set, &Plan{Actions: acts, Forget: p.Forget})
		res.merge(r)
		return err
	}
	e.mu.Lock()
	last, haveLast := e.last[req.Provider]
	e.mu.Unlock()
	caps := e.Caps(pdoc.Spec.Type)
	if !haveLast && (!caps.ScheduleAhead || caps.CanList) {
		// Planning from the state alone cannot duplicate a task: a command
		// provider dedups starts by stream, and a provider that can list
		// is asked for a matching task before each such create (LookFirst).
		last, haveLast = []providers.Task{}, true
	}
	if req.DueFirst && haveLast && perr == nil {
		st, err := snapshot()
		if err != nil {
			return err
		}
		in.State, in.Observed = st, map[string][]providers.Task{req.Provider: last}
		p := NewPlan(in)
		p.Forget = nil // housekeeping waits for a fresh observation
		if caps.CanList {
			for i := range p.Actions {
				p.Actions[i].LookFirst = true
			}
		}
		if err := run(p, st, last, true); err != nil {
			return err
		}
	}
	st, err := snapshot()
	if err != nil {
		return err
	}
	in.State = st
	var obs []providers.Task
	if perr == nil {
		octx := ctx
		if req.Interrupt != nil {
			c, cancel := context.WithCancel(ctx)
			go func() {
				select {
				case <-req.Interrupt:
					cancel()
				case <-c.Done():
				}
			}()
			defer cancel()
			octx = c
		}
		// Observation is background work here: a start or stop due
		// meanwhile (this worker's next pass, an edit) goes first in the
		// provider's pacer. (plan and apply observe before they act, with
		// the whole rate.)
		obs, perr = e.observe(providers.Background(octx), x, set, st, pdoc, x.Providers[req.Provider], req.At)
		if ctx.Err() == nil && octx.Err() != nil {
			res.Interrupted = true
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	in.Observed = map[string][]providers.Task{}
	if obs != nil {
		in.Observed[req.Provider] = obs
		res.Observed = in.Observed
	}
	if perr != nil {
		in.ObserveErr = map[string]error{req.Provider: perr}
		res.ObserveErr = perr
	}
	p := NewPlan(in)
	p.Spec = SpecRef{Dir: req.Set.Dir}
	res.Plan = p
	return run(p, st, obs, false)
}

// scheduleSoon is how far ahead a scheduling provider's creates are due:
// a piece that opens within it is created before the provider's (possibly
// long) observation, so it never opens without its task.
const scheduleSoon = 2 * time.Minute

// dueActions keeps what is due at at: stops, deletes, creates of pieces
// already open and, on a scheduling provider, of pieces opening within
// scheduleSoon (the other creates ahead can wait for the observation).
func dueActions(acts []Action, at time.Time, c providers.Capabilities) []Action {
	soon := at
	if c.ScheduleAhead {
		soon = at.Add(scheduleSoon)
	}
	var out []Action
	for _, a := range acts {
		switch a.Action {
		case Stop, Delete:
			out = append(out, a)
		case Create:
			if !a.Piece.Start.After(soon) {
				out = append(out, a)
			}
		}
	}
	return out
}

// confirmEvery is how often a start awaiting confirmation is looked at again.
const confirmEvery = 15 * time.Second

// minRequeue is the shortest wait before a provider's next reconcile
// when its own status queries are due.
const minRequeue = time.Second

// observeRetry is how soon a reconcile whose observation failed runs again.
const observeRetry = 10 * time.Second

// defaultHorizon bounds the search for the next edge.
const defaultHorizon = time.Hour

// edgeMargin puts the next reconcile just past an edge, so the instant
// planned for is strictly after it.
const edgeMargin = time.Millisecond

func (e *Engine) requeueAt(req Request, set *spec.Set, pdoc *spec.Provider, res *Result) time.Time {
	h := req.Horizon
	if h <= 0 {
		h = defaultHorizon
	}
	at := req.At.Add(h)
	if edge := NextEdge(set, e.Caps, e.Lookahead, req.At, at); !edge.At.IsZero() {
		at = edge.At.Add(edgeMargin)
	}
	if !res.RetryAt.IsZero() && res.RetryAt.Before(at) {
		at = res.RetryAt
	}
	if res.ObserveErr != nil {
		if due := req.At.Add(observeRetry); due.Before(at) {
			at = due // nothing was planned: try again soon, not at the next edge
		}
	}
	// A provider that schedules its own status queries (Task.NextCheck)
	// is reconciled again when the earliest is due, at most once a second.
	for _, t := range res.Observed[req.Provider] {
		if t.NextCheck.IsZero() {
			continue
		}
		due := t.NextCheck
		if floor := req.At.Add(minRequeue); due.Before(floor) {
			due = floor
		}
		if due.Before(at) {
			at = due
		}
	}
	if c := e.Caps(pdoc.Spec.Type); c.StartDeadline > 0 {
		for _, t := range res.Observed[req.Provider] {
			if t.Status == providers.StatusStarting {
				if due := req.At.Add(confirmEvery); due.Before(at) {
					at = due
				}
				break
			}
		}
	}
	return at
}

// subset is the documents of one provider: its document and its recordings.
func subset(set *spec.Set, provider string) *spec.Set {
	out := &spec.Set{Dir: set.Dir}
	if p := set.Provider(provider); p != nil {
		out.Providers = []*spec.Provider{p}
	}
	for _, r := range set.Recordings {
		if r.Spec.Provider == provider {
			out.Recordings = append(out.Recordings, r)
		}
	}
	return out
}

// stateOf is the part of st that concerns one provider (records of
// others are left out; lineage, serial and the reconcile time are kept).
func stateOf(st *state.State, provider string) *state.State {
	out := &state.State{Version: st.Version, Lineage: st.Lineage, Serial: st.Serial, LastReconcile: st.LastReconcile}
	for _, r := range st.Records {
		if r.Provider == provider {
			out.Records = append(out.Records, r)
		}
	}
	return out
}

// reassert re-issues the start of every open, active task of a command
// provider that cannot observe a recording (Reasserter), so a stream that
// dropped and came back is recorded again. Restarts are logged as gaps.
func (e *Engine) reassert(ctx context.Context, x *Executor, store Store, name string, prov providers.Provider, res *Result, skip map[string]bool, until time.Time, yield func() bool) error {
	ra, ok := prov.(providers.Reasserter)
	if !ok || prov.Capabilities().ScheduleAhead {
		return nil // only command providers re-issue starts
	}
	st, err := store.Snapshot(ctx)
	if err != nil {
		return err
	}
	now := x.Clock.Now()
	var open []*state.Record
	for _, r := range st.Live() {
		if r.Provider == name && r.Phase == state.Active && r.Task != nil && !skip[r.Key] && !now.Before(r.Start) && now.Before(r.End) {
			open = append(open, r)
		}
	}
	// Start where the last, interrupted, pass stopped, so every open
	// recording is re-asserted in turn.
	e.mu.Lock()
	if e.reassertAt == nil {
		e.reassertAt = map[string]int{}
	}
	first := e.reassertAt[name]
	e.mu.Unlock()
	for i := range open {
		r := open[(first+i)%len(open)]
		if ctx.Err() != nil || !until.IsZero() && !x.Clock.Now().Before(until) || yield != nil && yield() {
			e.mu.Lock()
			e.reassertAt[name] = (first + i) % len(open)
			e.mu.Unlock()
			x.Log.Debug("re-assert paused for a window edge or an edit", "provider", name, "done", i, "open", len(open))
			return nil
		}
		a := Action{Action: "reassert", Recording: r.Recording, Key: r.Key, Provider: r.Provider, Type: r.Type, Stream: r.Stream, Record: r.ID,
			Piece: Span{r.Start, r.End}}
		var t providers.Task
		var restarted bool
		bctx := providers.Background(ctx) // upkeep: due starts and stops go first
		err := x.call(bctx, bctx, a, r.End, func(ctx context.Context) error {
			var err error
			t, restarted, err = ra.Reassert(ctx, *r.Task)
			return err
		})
		o := Outcome{Action: a, Task: &t, Err: err}
		var me *missedErr
		switch {
		case providers.ClassOf(err) == providers.StreamOffline:
			o.Result, o.Err = "waiting", nil
		case errors.As(err, &me):
			o.Result, o.Err = "recording", nil // the window closed meanwhile: its stop follows
		case err != nil:
			o.Result = "failed"
		case restarted:
			o.Result = "restarted"
		default:
			o.Result = "recording"
		}
		if o.Result == "restarted" || o.Result == "waiting" {
			id := r.ID
			if err := store.Update(ctx, func(tx *state.Tx) error {
				if rr := tx.Get(id); rr != nil {
					rr.Updated = x.Clock.Now()
					if o.Result == "waiting" {
						rr.Reason = "stream dropped: waiting for it to be pushed again"
					} else {
						tt := t
						rr.Task, rr.Reason = &tt, "restarted after the stream dropped"
					}
					tx.Put(rr)
				}
				return nil
			}); state.IsFenced(err) {
				return err
			}
			e.Log.Warn("stream dropped mid-window: the recording had ended; the gap is not recorded", "recording", r.Recording, "window", r.Key, "provider", r.Provider, "stream", r.Stream.String(), "result", o.Result)
		} else if o.Result == "failed" {
			e.Log.Error("reassert failed", "recording", r.Recording, "window", r.Key, "provider", r.Provider, "error", err.Error())
		}
		if o.Result == "failed" {
			res.add(o)
		} else {
			res.Outcomes = append(res.Outcomes, o)
		}
	}
	return nil
}
