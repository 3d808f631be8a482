package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// FormatVersion is the JSON plan format; readers reject another major.
const FormatVersion = "1"

// Kind is what an action does.
type Kind string

const (
	Create Kind = "create" // create (or start) a task
	Stop   Kind = "stop"   // end a running task
	Delete Kind = "delete" // remove a scheduled task that has not started
	Adopt  Kind = "adopt"  // record a task found at the provider; no call
)

// Span is a time range as plans show it.
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Action is one planned change.
type Action struct {
	Action    Kind        `json:"action"`
	Recording string      `json:"recording"`
	Window    Span        `json:"window"`
	Provider  string      `json:"provider"`
	Type      string      `json:"type"`
	Stream    spec.Stream `json:"stream"`
	Task      string      `json:"task,omitempty"` // the provider's handle (stop, delete, adopt)
	Reason    string      `json:"reason"`
	// Key is the piece identity (the window id, "#n" for later pieces).
	Key string `json:"key"`
	// Piece is the task's own time range (the window, or one link of it).
	Piece    Span   `json:"piece"`
	Timezone string `json:"timezone,omitempty"`
	Source   string `json:"source,omitempty"` // the recording's file:line:col
	// Record is the state record acted upon, if any.
	Record string `json:"record,omitempty"`
	// Found is the provider's task (adopt), or the task being replaced (create after drift).
	Found *providers.Task `json:"found,omitempty"`
	// LookFirst: the action was planned without a fresh observation of a
	// provider that can list; its create first looks for a matching task
	// (adopting it) rather than trusting the plan.
	LookFirst bool `json:"-"`
	// LateSeconds: the piece opened this long before the create (recordctl was down or the window was just added).
	LateSeconds int64  `json:"late_seconds,omitempty"`
	Note        string `json:"note,omitempty"`
	// Removed: the action exists because documents vanished (mass-stop guard).
	Removed bool `json:"removed,omitempty"`
}

// Unmanaged is a task found at a provider that recordctl did not create; it is never touched.
type Unmanaged struct {
	Provider string         `json:"provider"`
	Type     string         `json:"type"`
	Task     providers.Task `json:"task"`
}

// Missed is a window that opened and closed while recordctl was not running.
type Missed struct {
	Window    string `json:"window"`
	Recording string `json:"recording"`
	Span      Span   `json:"span"`
}

// Summary counts actions.
type Summary struct {
	Create    int `json:"create"`
	Stop      int `json:"stop"`
	Delete    int `json:"delete"`
	Adopt     int `json:"adopt"`
	Unmanaged int `json:"unmanaged"`
	Errors    int `json:"errors"`
	// Providers is how many Provider documents the plan covers; Unobserved how many of them could not be observed.
	Providers  int `json:"providers"`
	Unobserved int `json:"unobserved"`
}

// StateRef pins the state a plan was made against.
type StateRef struct {
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	// Location is the state store the plan was made against (absolute path or URL).
	Location string `json:"location,omitempty"`
}

// SpecRef pins the documents a plan was made from.
type SpecRef struct {
	Dir    string `json:"dir"`
	Digest string `json:"digest"`
}

// Plan is a value: computed by NewPlan, rendered by the Write* functions,
// saved and read back as JSON, applied by an Executor.
type Plan struct {
	FormatVersion string      `json:"format_version"`
	At            time.Time   `json:"at"`
	Actions       []Action    `json:"actions"`
	Unmanaged     []Unmanaged `json:"unmanaged,omitempty"`
	Missed        []Missed    `json:"missed,omitempty"`
	// Pending are pieces of scheduled windows to be created once the provider accepts them.
	Pending []Pending `json:"pending,omitempty"`
	// Warnings are the documents' likely mistakes (spec.Set.Warnings), as file:line:col: message.
	Warnings []string `json:"warnings,omitempty"`
	// Errors are problems found while planning (limits, unreachable providers); each names a file:line where it can.
	Errors []string `json:"errors,omitempty"`
	// Forget lists state records whose tasks have ended on their own (state housekeeping; no provider call).
	Forget  []string `json:"forget,omitempty"`
	Summary Summary  `json:"summary"`
	State   StateRef `json:"state"`
	Spec    SpecRef  `json:"spec"`
	// Complete is false when a provider could not be observed: the plan
	// shows no changes for it, which does not mean there are none.
	Complete bool `json:"complete"`
	// Incomplete says, per provider, why it could not be observed.
	Incomplete []Unobserved `json:"incomplete,omitempty"`
	// Emulate: the plan was made against the built-in emulator (--emulate).
	Emulate bool `json:"emulate"`
}

// HasChanges reports whether applying would call a provider or record an adoption.
func (p *Plan) HasChanges() bool { return len(p.Actions) > 0 }

// Input is everything a plan is computed from.
type Input struct {
	Set   *spec.Set
	State *state.State
	// Observed holds each provider's List result, by Provider name; a
	// provider in ObserveErr could not be observed and gets no actions.
	Observed   map[string][]providers.Task
	ObserveErr map[string]error
	Caps       CapsFunc
	Now        time.Time
	Lookahead  time.Duration
	// Since is when these providers were last reconciled, for
	// missed-window reports (zero: the state's LastReconcile).
	Since time.Time
}

// lateAfter is how late a create may be before the plan calls it late.
const lateAfter = 5 * time.Second

// NewPlan computes the actions that bring the providers in line with the documents.
func NewPlan(in Input) *Plan {
	if in.Caps == nil {
		in.Caps = RegisteredCaps
	}
	if in.Lookahead == 0 {
		in.Lookahead = DefaultLookahead
	}
	st := in.State
	if st == nil {
		st = &state.State{}
	}
	desired, pending := DesiredPending(in.Set, in.Caps, in.Now, in.Lookahead)
	// Typically every desired piece without a task is a create, and every
	// record without a piece a stop or delete.
	p := &Plan{FormatVersion: FormatVersion, At: in.Now.UTC(), Actions: make([]Action, 0, max(len(desired)-len(st.Records), 0)+len(st.Records)/8+8),
		State: StateRef{Lineage: st.Lineage, Serial: st.Serial}}
	byProv := map[string][]*Piece{}
	for i := range desired {
		d := &desired[i]
		byProv[d.Provider.Metadata.Name] = append(byProv[d.Provider.Metadata.Name], d)
	}
	recsByProv := map[string][]*state.Record{}
	for _, r := range st.Live() {
		recsByProv[r.Provider] = append(recsByProv[r.Provider], r)
	}
	names := map[string]bool{}
	for _, pr := range in.Set.Providers {
		names[pr.Metadata.Name] = true
	}
	for name, recs := range recsByProv {
		if !names[name] {
			p.Errors = append(p.Errors, fmt.Sprintf("provider %q is no longer in the documents: its %d managed task(s) are left as they are (restore the Provider to manage them)", name, len(recs)))
		}
	}
	recs := byName(in.Set)
	for _, pr := range in.Set.Providers {
		name := pr.Metadata.Name
		if err := in.ObserveErr[name]; err != nil {
			p.Errors = append(p.Errors, fmt.Sprintf("%s: provider %s could not be observed, nothing planned for it: %v", pr.Pos, name, err))
			p.Incomplete = append(p.Incomplete, Unobserved{Provider: name, Type: pr.Spec.Type, Reason: err.Error()})
			continue
		}
		pl := providerPlanner{plan: p, in: in, recs: recs, prov: pr, caps: in.Caps(pr.Spec.Type)}
		pl.run(byProv[name], recsByProv[name], in.Observed[name])
	}
	p.Missed = missed(in.Set, st, in.Since, in.Now)
	p.Pending = pendingOf(pending)
	for _, w := range in.Set.Warnings {
		p.Warnings = append(p.Warnings, w.Error())
	}
	sortActions(p.Actions)
	p.Summary.Providers = len(in.Set.Providers)
	p.Complete = len(p.Incomplete) == 0
	p.Summary = summarize(p)
	return p
}

type providerPlanner struct {
	plan *Plan
	in   Input
	recs map[string]*spec.Recording // the documents' recordings by name
	prov *spec.Provider
	caps providers.Capabilities
}

func (pl *providerPlanner) run(desired []*Piece, recs []*state.Record, observed []providers.Task) {
	obs := map[string]providers.Task{}
	for _, t := range observed {
		obs[t.ID] = t
	}
	ix := indexTasks(observed)
	claimed := map[string]bool{} // task IDs accounted for (managed or adopted)
	for _, r := range recs {
		if r.Task != nil {
			claimed[r.Task.ID] = true
		}
	}
	// Pending creates whose outcome is unknown: if the provider lists a
	// matching task, the create went through before a crash: adopt it.
	byKey := map[string]*state.Record{}
	var stale []*state.Record
	for _, r := range recs {
		if r.Task == nil {
			if t, ok := ix.findMatch(claimed, r.Stream, r.Start, r.End); ok {
				claimed[t.ID] = true
				pl.add(pl.action(Adopt, r.Key, r, nil, "recovered: created before an interrupted apply", &t))
				rc := *r
				rc.Task = &t
				r = &rc
			}
		}
		if prev, dup := byKey[r.Key]; dup {
			// Two live records for one piece: keep the one with a task.
			if prev.Task == nil && r.Task != nil {
				byKey[r.Key] = r
				stale = append(stale, prev)
			} else {
				stale = append(stale, r)
			}
			continue
		}
		byKey[r.Key] = r
	}
	wanted := map[string]bool{}
	for _, d := range desired {
		wanted[d.Key] = true
		pl.piece(d, byKey[d.Key], obs, ix, claimed)
	}
	for _, r := range recs {
		if !wanted[r.Key] && byKey[r.Key] == r && !pl.keeps(r) {
			pl.unwanted(r, obs)
		}
	}
	for _, r := range stale {
		if r.Task == nil {
			pl.plan.Forget = append(pl.plan.Forget, r.ID)
		} else {
			pl.unwanted(r, obs)
		}
	}
	// Whatever the provider lists that nobody claimed is not ours.
	for _, t := range observed {
		if !claimed[t.ID] && isLive(t.Status) {
			pl.plan.Unmanaged = append(pl.plan.Unmanaged, Unmanaged{Provider: pl.prov.Metadata.Name, Type: pl.prov.Spec.Type, Task: t})
		}
	}
	pl.checkOverlap(desired, observed, claimed)
	pl.checkRestartGap(desired, recs)
}

// piece plans one desired piece against its record (if any).
func (pl *providerPlanner) piece(d *Piece, r *state.Record, obs map[string]providers.Task, ix taskIndex, claimed map[string]bool) {
	now := pl.in.Now
	if r != nil && r.Task != nil {
		o, seen := obs[r.Task.ID]
		status := providers.StatusUnknown
		if seen {
			status = o.Status
		}
		if r.Stream != d.Stream {
			pl.unwantedWith(r, status, "stream changed")
			pl.add(pl.action(Create, d.Key, nil, d, "stream changed", nil))
			return
		}
		if pl.caps.ScheduleAhead && (!r.End.Equal(d.End) || !r.Start.Equal(d.Start)) {
			pl.unwantedWith(r, status, "schedule changed")
			pl.add(pl.action(Create, d.Key, nil, d, "schedule changed", nil))
			return
		}
		switch status {
		case providers.StatusStopped, providers.StatusGone, providers.StatusFailed, providers.StatusFinished:
			if !d.End.After(now) {
				return
			}
			prev := *r.Task
			prev.Status = status
			a := pl.action(Create, d.Key, nil, d, "drift: task "+string(status)+" at the provider while its window is open", &prev)
			a.Record = r.ID
			if status == providers.StatusFailed {
				a.Reason = "drift: start was not confirmed in time"
			}
			pl.add(a)
		}
		return
	}
	// No task known for this piece.
	if t, ok := ix.findMatch(claimed, d.Stream, d.Start, d.End); ok {
		claimed[t.ID] = true
		a := pl.action(Adopt, d.Key, nil, d, "found at the provider, matching the window", &t)
		if r != nil {
			a.Record = r.ID
		}
		pl.add(a)
		return
	}
	reason := "window opens " + localTime(d.Start, d.Recording)
	if !d.Start.After(now) {
		reason = "window open"
	}
	if r != nil {
		switch r.Phase {
		case state.Waiting:
			reason = "waiting for the stream to be pushed"
		case state.Pending:
			reason = "retrying a create whose outcome was not recorded"
		}
	}
	a := pl.action(Create, d.Key, nil, d, reason, nil)
	if r != nil {
		a.Record = r.ID
	}
	if late := now.Sub(d.Start); late > lateAfter && !d.WStart.Equal(spec.ContinuousStart) && (r == nil || r.Phase != state.Waiting) {
		a.LateSeconds = int64(late / time.Second)
		a.Reason += fmt.Sprintf(" (late by %s)", late.Truncate(time.Second))
	}
	pl.add(a)
}

// unwanted plans the end of a managed task no desired piece wants.
func (pl *providerPlanner) unwanted(r *state.Record, obs map[string]providers.Task) {
	if r.Task == nil {
		pl.plan.Forget = append(pl.plan.Forget, r.ID)
		return
	}
	status := providers.StatusUnknown
	if o, ok := obs[r.Task.ID]; ok {
		status = o.Status
	}
	reason := "recording removed"
	if rec := pl.recs[r.Recording]; rec != nil {
		if rec.Spec.Provider != r.Provider {
			reason = "recording moved to another provider"
		} else if !pl.in.Now.Before(r.End) {
			reason = "window closed"
		} else {
			reason = "schedule changed"
		}
	}
	pl.unwantedWith(r, status, reason)
}

func (pl *providerPlanner) unwantedWith(r *state.Record, status providers.Status, reason string) {
	now := pl.in.Now
	var k Kind
	switch status {
	case providers.StatusScheduled:
		k = Delete
	case providers.StatusRecording, providers.StatusStarting, providers.StatusWaiting, providers.StatusFailed:
		k = Stop
	case providers.StatusUnknown:
		switch {
		case pl.caps.ScheduleAhead && now.Before(r.Task.Start):
			k = Delete
		case pl.caps.ScheduleAhead && !now.Before(r.Task.End) && !r.Task.End.IsZero():
			pl.plan.Forget = append(pl.plan.Forget, r.ID) // ended on its own
			return
		default:
			k = Stop
		}
	default: // finished, stopped, gone
		pl.plan.Forget = append(pl.plan.Forget, r.ID)
		return
	}
	a := pl.action(k, r.Key, r, nil, reason, nil)
	a.Removed = reason == "recording removed"
	if k == Stop {
		if c := providers.CapabilitiesFor(pl.caps, pl.recs[r.Recording]); c.StopFinalizeDelay > 0 {
			a.Note = fmt.Sprintf("the file appears %s after the stop", c.StopFinalizeDelay)
			if c.StopFinalizeHint != "" {
				a.Note += " (" + c.StopFinalizeHint + ")"
			}
		}
	}
	pl.add(a)
}

// action builds an action from a record (stop, delete, recovered adopt) or a piece.
func (pl *providerPlanner) action(k Kind, key string, r *state.Record, d *Piece, reason string, found *providers.Task) Action {
	a := Action{Action: k, Key: key, Provider: pl.prov.Metadata.Name, Type: pl.prov.Spec.Type, Reason: reason, Found: found}
	if d != nil {
		a.Recording = d.Recording.Metadata.Name
		a.Window = Span{d.WStart.UTC(), d.WEnd.UTC()}
		a.Piece = Span{d.Start.UTC(), d.End.UTC()}
		a.Stream = d.Stream
		a.Source = d.Recording.Pos.String()
		a.Timezone = zoneName(d.Recording)
	}
	if r != nil {
		a.Recording, a.Stream, a.Record = r.Recording, r.Stream, r.ID
		a.Piece = Span{r.Start.UTC(), r.End.UTC()}
		a.Window = a.Piece
		if rec := pl.recs[r.Recording]; rec != nil {
			a.Source, a.Timezone = rec.Pos.String(), zoneName(rec)
		}
		if r.Task != nil {
			a.Task = r.Task.ID
		}
	}
	if found != nil && k == Adopt {
		a.Task = found.ID
	}
	return a
}

func (pl *providerPlanner) add(a Action) { pl.plan.Actions = append(pl.plan.Actions, a) }

// matchKey indexes observed tasks by what a desired piece pins down exactly.
type matchKey struct {
	stream spec.Stream
	end    int64
}

// taskIndex finds observed tasks by stream and end time.
type taskIndex map[matchKey][]providers.Task

func indexTasks(observed []providers.Task) taskIndex {
	ix := taskIndex{}
	for _, t := range observed {
		if isLive(t.Status) {
			k := matchKey{t.Stream, t.End.UnixNano()}
			ix[k] = append(ix[k], t)
		}
	}
	return ix
}

// findMatch finds an unclaimed live task for stream over [start, end): same
// end, and a start inside the window (a task created after its window
// opened starts when it was created).
func (ix taskIndex) findMatch(claimed map[string]bool, s spec.Stream, start, end time.Time) (providers.Task, bool) {
	for _, t := range ix[matchKey{s, end.UnixNano()}] {
		if !claimed[t.ID] && !t.Start.Before(start) && t.Start.Before(end) {
			return t, true
		}
	}
	return providers.Task{}, false
}

func isLive(s providers.Status) bool {
	switch s {
	case providers.StatusScheduled, providers.StatusRecording, providers.StatusStarting, providers.StatusWaiting, providers.StatusUnknown:
		return true
	}
	return false
}

// checkOverlap enforces a provider's per-stream overlap limit: creates that
// would push a stream past it are dropped and reported at the recording.
func (pl *providerPlanner) checkOverlap(desired []*Piece, observed []providers.Task, claimed map[string]bool) {
	max := pl.caps.MaxOverlapPerStream
	if max <= 0 {
		return
	}
	type iv struct {
		s, e time.Time
		rec  *spec.Recording
	}
	by := map[spec.Stream][]iv{}
	for _, d := range desired {
		by[d.Stream] = append(by[d.Stream], iv{d.Start, d.End, d.Recording})
	}
	for _, t := range observed {
		if !claimed[t.ID] && isLive(t.Status) {
			by[t.Stream] = append(by[t.Stream], iv{t.Start, t.End, nil})
		}
	}
	for s, ivs := range by {
		if len(ivs) <= max {
			continue
		}
		for i, a := range ivs {
			if a.rec == nil {
				continue
			}
			n, others := 1, 0
			for j, b := range ivs {
				if i != j && b.s.Before(a.e) && a.s.Before(b.e) {
					n++
					if b.rec == nil {
						others++
					}
				}
			}
			if n <= max {
				continue
			}
			msg := fmt.Sprintf("%s: recording %s: stream %s would have %d overlapping %s tasks around %s (at most %d may overlap; %d of them not created by recordctl)",
				a.rec.Pos, a.rec.Metadata.Name, s, n, pl.prov.Spec.Type, a.s.UTC().Format(time.RFC3339), max, others)
			pl.plan.Errors = append(pl.plan.Errors, msg)
			pl.dropCreates(a.rec.Metadata.Name, s, a.s)
		}
	}
}

func (pl *providerPlanner) dropCreates(rec string, s spec.Stream, start time.Time) {
	out := pl.plan.Actions[:0]
	for _, a := range pl.plan.Actions {
		if a.Action == Create && a.Recording == rec && a.Stream == s && a.Piece.Start.Equal(start.UTC()) {
			continue
		}
		out = append(out, a)
	}
	pl.plan.Actions = out
}

// checkRestartGap reports windows of different recordings on one stream
// that start sooner after another ends than the provider can restart.
func (pl *providerPlanner) checkRestartGap(desired []*Piece, recs []*state.Record) {
	gap := pl.caps.MinRestartGap
	if gap <= 0 {
		return
	}
	byStream := map[spec.Stream][]*state.Record{}
	for _, r := range recs {
		byStream[r.Stream] = append(byStream[r.Stream], r)
	}
	for _, d := range desired {
		for _, r := range byStream[d.Stream] {
			if r.Recording == d.Recording.Metadata.Name {
				continue
			}
			if g := d.Start.Sub(r.End); g >= 0 && g <= gap {
				pl.plan.Errors = append(pl.plan.Errors, fmt.Sprintf("%s: recording %s starts %s after recording %s ends on stream %s; %s needs more than %s between a stop and the next start: merge them into one Recording or leave a gap",
					d.Recording.Pos, d.Recording.Metadata.Name, g, r.Recording, d.Stream, pl.prov.Spec.Type, gap))
			}
		}
	}
}

// missed lists windows that closed while recordctl was not running.
func missed(set *spec.Set, st *state.State, since, now time.Time) []Missed {
	last := st.LastReconcile
	if !since.IsZero() {
		last = since
	}
	if last.IsZero() || !now.After(last) {
		return nil
	}
	seen := map[string]bool{}
	for _, r := range st.Records {
		seen[r.Window] = true
	}
	var out []Missed
	for _, rec := range set.Recordings {
		for _, w := range rec.Windows(last, now) {
			id := w.ID(rec.Metadata.Name)
			if w.Start.After(last) && !w.End.After(now) && !seen[id] {
				out = append(out, Missed{Window: id, Recording: rec.Metadata.Name, Span: Span{w.NomStart.UTC(), w.NomEnd.UTC()}})
			}
		}
	}
	return out
}

// byName indexes a set's recordings by name.
func byName(set *spec.Set) map[string]*spec.Recording {
	m := make(map[string]*spec.Recording, len(set.Recordings))
	for _, r := range set.Recordings {
		m[r.Metadata.Name] = r
	}
	return m
}

// zoneName is the zone a recording's times are shown in: the schedule's
// time zone, or the UTC offset its explicit windows were written with.
func zoneName(r *spec.Recording) string {
	if s := r.Spec.Schedule; s != nil {
		if s.Location != nil {
			return s.Location.String()
		}
		if s.Timezone != "" {
			return s.Timezone
		}
	}
	if len(r.Spec.Windows) > 0 {
		if _, off := r.Spec.Windows[0].Start.Zone(); off != 0 {
			return r.Spec.Windows[0].Start.Format("-07:00")
		}
	}
	return "UTC"
}

func localTime(t time.Time, r *spec.Recording) string {
	return t.In(zoneLocation(zoneName(r))).Format("2006-01-02 15:04 MST")
}

var kindOrder = map[Kind]int{Stop: 0, Delete: 1, Adopt: 2, Create: 3}

// sortActions orders stops and deletes first, then adopts and creates, each
// by piece start. Actions are large: indices are sorted, then permuted once.
func sortActions(as []Action) {
	idx := make([]int, len(as))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := &as[i], &as[j]
		if c := cmp.Compare(kindOrder[a.Action], kindOrder[b.Action]); c != 0 {
			return c
		}
		if c := a.Piece.Start.Compare(b.Piece.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	out := make([]Action, len(as))
	for i, j := range idx {
		out[i] = as[j]
	}
	copy(as, out)
}

func summarize(p *Plan) Summary {
	var s Summary
	for _, a := range p.Actions {
		switch a.Action {
		case Create:
			s.Create++
		case Stop:
			s.Stop++
		case Delete:
			s.Delete++
		case Adopt:
			s.Adopt++
		}
	}
	s.Unmanaged = len(p.Unmanaged)
	s.Errors = len(p.Errors)
	s.Providers, s.Unobserved = p.Summary.Providers, len(p.Incomplete)
	return s
}
