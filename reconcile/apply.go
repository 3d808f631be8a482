package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Store is the state store contract (see state.Store).
type Store = state.Store

// ErrCrashed is returned when a test hook simulated a crash mid-apply.
var ErrCrashed = errors.New("simulated crash")

// Executor applies plans: it writes an intent before every provider call and
// the result after it, bounds concurrency (providers pace their own HTTP
// requests, see providers.Options.Limiter), and
// retries retryable and throttled errors with jittered exponential backoff
// within a per-action budget.
type Executor struct {
	Store     Store
	Providers map[string]providers.Provider // by Provider document name
	Log       *slog.Logger
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
	// Concurrency bounds in-flight provider calls (default 8).
	Concurrency int
	// RetryBudget is how long one action may keep retrying (default 2 min).
	RetryBudget time.Duration
	// CallTimeout bounds one provider call (default 30 s).
	CallTimeout time.Duration
	// Grace is how long calls under way may run on after the context of
	// Apply ends (shutdown, Ctrl-C); no new action starts (default 20 s).
	Grace time.Duration
	// CrashAfterCall, if set and returning true, abandons the action after
	// the provider call returned and before its result is recorded, as a
	// kill -9 would (tests of crash recovery).
	CrashAfterCall func(Action) bool
	// Observe is called after each provider call with its outcome (metrics).
	Observe func(a Action, err error, took time.Duration)
	// OnOutcome, if set, is called as each action of Apply finishes
	// (progress display); it may be called from several goroutines at once.
	OnOutcome func(Outcome)
}

// Outcome is what happened to one action.
type Outcome struct {
	Action Action
	// Result: created, stopped, deleted, adopted, waiting, failed.
	Result string
	Task   *providers.Task
	Err    error
	Took   time.Duration
}

// Result sums up an apply.
type Result struct {
	Outcomes                                            []Outcome
	Created, Stopped, Deleted, Adopted, Waiting, Failed int
	// NotStarted counts actions never begun because the context ended.
	NotStarted int
	// Err aggregates every failure (nil when none).
	Err error
}

// Summary is the closing line of an apply.
func (r *Result) Summary() string {
	s := fmt.Sprintf("Apply complete: %d created, %d stopped, %d deleted, %d failed.", r.Created, r.Stopped, r.Deleted, r.Failed)
	if r.Adopted > 0 || r.Waiting > 0 {
		s += fmt.Sprintf(" (%d adopted, %d waiting for the stream)", r.Adopted, r.Waiting)
	}
	return s
}

func (x *Executor) defaults() {
	if x.Log == nil {
		x.Log = slog.New(slog.DiscardHandler)
	}
	if x.Now == nil {
		x.Now = time.Now
	}
	if x.Sleep == nil {
		x.Sleep = clock.Real.Sleep
	}
	if x.Concurrency <= 0 {
		x.Concurrency = 8
	}
	if x.RetryBudget <= 0 {
		x.RetryBudget = 2 * time.Minute
	}
	if x.CallTimeout <= 0 {
		x.CallTimeout = 30 * time.Second
	}
	if x.Grace <= 0 {
		x.Grace = 20 * time.Second
	}
}

// WithGrace returns a context that is not cancelled with parent but grace
// after it.
func WithGrace(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() {
		stop()
		cancel()
	}
}

// Apply carries out a plan against set's documents. One failed action
// never blocks the others; every failure is in Result.Err.
func (x *Executor) Apply(ctx context.Context, set *spec.Set, p *Plan) (*Result, error) {
	x.defaults()
	res := &Result{}
	if len(p.Forget) > 0 {
		now := x.Now()
		ids := map[string]bool{}
		for _, id := range p.Forget {
			ids[id] = true
		}
		if err := x.Store.Update(ctx, func(tx *state.Tx) error {
			for id := range ids {
				if r := tx.Get(id); r != nil && r.Phase.Live() {
					r.Phase, r.Intent, r.Updated = state.Done, "", now
					tx.Put(r)
				}
			}
			return nil
		}); err != nil {
			return res, err
		}
	}
	// Stops and deletes first: they free overlap slots and restart gaps
	// that creates on the same stream may need.
	var first, second []Action
	for _, a := range p.Actions {
		if a.Action == Stop || a.Action == Delete {
			first = append(first, a)
		} else {
			second = append(second, a)
		}
	}
	// Once ctx ends no further action starts; calls under way run on a
	// context that ends Grace later, so they finish and their outcome is
	// recorded instead of being left unknown.
	actx, cancel := WithGrace(ctx, x.Grace)
	defer cancel()
	recs := byName(set)
	var mu sync.Mutex
	var crashed bool
	run := func(batch []Action) {
		sem := make(chan struct{}, x.Concurrency)
		var wg sync.WaitGroup
		for i, a := range batch {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			mu.Lock()
			stop := ctx.Err() != nil || crashed
			mu.Unlock()
			if stop {
				res.NotStarted += len(batch) - i
				break
			}
			wg.Add(1)
			go func(a Action) {
				defer wg.Done()
				defer func() { <-sem }()
				o := x.do(actx, recs, a)
				mu.Lock()
				if errors.Is(o.Err, ErrCrashed) {
					crashed = true
					mu.Unlock()
					return
				}
				res.add(o)
				mu.Unlock()
				if x.OnOutcome != nil {
					x.OnOutcome(o)
				}
			}(a)
		}
		wg.Wait()
	}
	run(first)
	run(second)
	sort.SliceStable(res.Outcomes, func(i, j int) bool { return res.Outcomes[i].Action.Key < res.Outcomes[j].Action.Key })
	if crashed {
		return res, ErrCrashed
	}
	return res, nil
}

func (r *Result) add(o Outcome) {
	r.Outcomes = append(r.Outcomes, o)
	switch o.Result {
	case "created":
		r.Created++
	case "stopped":
		r.Stopped++
	case "deleted":
		r.Deleted++
	case "adopted":
		r.Adopted++
	case "waiting":
		r.Waiting++
	case "failed":
		r.Failed++
		a := o.Action
		r.Err = multierror.Append(r.Err, fmt.Errorf("%s %s (%s, %s): %w", a.Action, a.Key, a.Provider, a.Stream, o.Err))
	}
}

func (x *Executor) do(ctx context.Context, recs map[string]*spec.Recording, a Action) Outcome {
	start := time.Now()
	o := Outcome{Action: a}
	prov := x.Providers[a.Provider]
	if prov == nil && a.Action != Adopt {
		o.Result, o.Err = "failed", fmt.Errorf("provider %s is not configured", a.Provider)
		return o
	}
	switch a.Action {
	case Adopt:
		o = x.adopt(a)
	case Create:
		o = x.create(ctx, recs[a.Recording], prov, a)
	case Stop, Delete:
		o = x.end(ctx, prov, a)
	}
	o.Took = time.Since(start)
	if errors.Is(o.Err, ErrCrashed) {
		return o
	}
	lvl := slog.LevelInfo
	if o.Result == "failed" {
		lvl = slog.LevelError
	}
	attrs := []any{"action", string(a.Action), "recording", a.Recording, "window", a.Key, "provider", a.Provider,
		"stream", a.Stream.String(), "result", o.Result, "latency", o.Took.Round(time.Millisecond)}
	if o.Task != nil {
		attrs = append(attrs, "task", o.Task.ID)
	}
	if a.LateSeconds > 0 && a.Action == Create {
		attrs = append(attrs, "late", time.Duration(a.LateSeconds)*time.Second)
	}
	if o.Err != nil {
		attrs = append(attrs, "error", o.Err.Error())
	}
	x.Log.Log(context.Background(), lvl, "action", attrs...)
	return o
}

func (x *Executor) adopt(a Action) Outcome {
	o := Outcome{Action: a, Result: "adopted", Task: a.Found}
	now := x.Now()
	o.Err = x.Store.Update(context.Background(), func(tx *state.Tx) error {
		r := tx.Get(a.Record)
		if r == nil || !r.Phase.Live() {
			r = newRecord(a, now)
		}
		t := *a.Found
		r.Task, r.Phase, r.Intent, r.Reason, r.Updated = &t, state.Active, "", "adopted", now
		tx.Put(r)
		return nil
	})
	if o.Err != nil {
		o.Result = "failed"
	}
	return o
}

func newRecord(a Action, now time.Time) *state.Record {
	return &state.Record{ID: state.NewID(), Key: a.Key, Window: windowOf(a.Key), Recording: a.Recording,
		Provider: a.Provider, Type: a.Type, Stream: a.Stream, Start: a.Piece.Start, End: a.Piece.End,
		Phase: state.Pending, Created: now, Updated: now}
}

func windowOf(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '#' {
			return key[:i]
		}
	}
	return key
}

func (x *Executor) create(ctx context.Context, rec *spec.Recording, prov providers.Provider, a Action) Outcome {
	o := Outcome{Action: a}
	if rec == nil {
		o.Result, o.Err = "failed", fmt.Errorf("recording %s is not in the documents", a.Recording)
		return o
	}
	now := x.Now()
	// Intent first: if we die during the call, the next run finds a pending
	// record and adopts what the provider holds instead of creating twice.
	var id string
	resume := false
	err := x.Store.Update(ctx, func(tx *state.Tx) error {
		if old := tx.Get(a.Record); old != nil && old.Phase.Live() && old.Task != nil && a.Found != nil {
			old.Phase, old.Intent, old.Reason, old.Updated = state.Done, "", "replaced: "+a.Reason, now
			tx.Put(old)
		}
		r := tx.Get(a.Record)
		if r == nil || !r.Phase.Live() || r.Task != nil {
			r = newRecord(a, now)
		}
		resume = r.Phase == state.Pending && r.Intent == "create" // an earlier attempt's outcome is unknown
		r.Phase, r.Intent, r.Start, r.End, r.Stream, r.Updated = state.Pending, "create", a.Piece.Start, a.Piece.End, a.Stream, now
		id = r.ID
		tx.Put(r)
		return nil
	})
	if err != nil {
		o.Result, o.Err = "failed", err
		return o
	}
	req := providers.CreateRequest{Key: a.Key, Recording: rec, Stream: a.Stream, Start: a.Piece.Start, End: a.Piece.End,
		Now: now, Previous: a.Found, Resume: resume}
	canList := prov.Capabilities().CanList
	var task providers.Task
	err = x.call(ctx, a, func(ctx context.Context) error {
		if req.Resume && canList {
			// The last attempt may have created the task: look before creating again.
			t, ok, err := x.findCreated(ctx, prov, a)
			if err != nil {
				return err // never create blind: look again on the next attempt
			}
			if ok {
				task = t
				return &providers.Error{Class: providers.AlreadyExists, Provider: a.Type, Op: "create",
					Message: "found the task an earlier attempt created"}
			}
		}
		var e error
		task, e = prov.Create(ctx, req)
		// A lost answer may hide a created task, and so may a 5xx: where
		// the provider can list, looking first costs one List per retry
		// and rules out a task billed twice. Throttling never acted.
		if providers.OutcomeUnknown(e) || canList && providers.ClassOf(e) == providers.Retryable {
			req.Resume = true
		}
		return e
	})
	if x.CrashAfterCall != nil && x.CrashAfterCall(a) {
		o.Err = ErrCrashed
		return o
	}
	class := providers.ClassOf(err)
	now = x.Now()
	switch {
	case err == nil || class == providers.AlreadyExists && task.ID != "":
		o.Result, o.Task = "created", &task
		if err != nil {
			o.Result = "adopted"
		}
		err = nil
	case class == providers.StreamOffline:
		o.Result = "waiting"
		err = nil
	default:
		o.Result, o.Err = "failed", err
	}
	uerr := x.Store.Update(context.WithoutCancel(ctx), func(tx *state.Tx) error {
		r := tx.Get(id)
		if r == nil {
			return fmt.Errorf("state record %s vanished during the create", id)
		}
		defer tx.Put(r)
		r.Intent, r.Updated = "", now
		switch o.Result {
		case "created", "adopted":
			t := task
			r.Task, r.Phase, r.Reason = &t, state.Active, ""
			if o.Result == "adopted" {
				r.Reason = "already recording: adopted"
			}
		case "waiting":
			r.Phase, r.Reason = state.Waiting, "waiting for the stream to be pushed"
		default:
			if providers.IsRetryable(o.Err) {
				// The outcome is unknown: stay pending so the next run adopts or retries.
				r.Reason = o.Err.Error()
			} else {
				r.Phase, r.Reason = state.Failed, o.Err.Error()
			}
		}
		return nil
	})
	if uerr != nil && o.Err == nil {
		o.Result, o.Err = "failed", uerr
	}
	return o
}

// end stops or deletes a managed task.
func (x *Executor) end(ctx context.Context, prov providers.Provider, a Action) Outcome {
	o := Outcome{Action: a}
	var task providers.Task
	if err := x.Store.Update(ctx, func(tx *state.Tx) error {
		if r := tx.Get(a.Record); r != nil && r.Task != nil {
			r.Intent, r.Updated = string(a.Action), x.Now()
			task = *r.Task
			tx.Put(r)
		}
		return nil
	}); err != nil {
		o.Result, o.Err = "failed", err
		return o
	}
	if task.ID == "" {
		o.Result, o.Err = "failed", fmt.Errorf("state record %s has no task to %s (state changed since the plan)", a.Record, a.Action)
		return o
	}
	err := x.call(ctx, a, func(ctx context.Context) error {
		if a.Action == Delete {
			return prov.Delete(ctx, task)
		}
		t, e := prov.Stop(ctx, task)
		if e == nil && t.ID != "" {
			task = t
		}
		return e
	})
	if x.CrashAfterCall != nil && x.CrashAfterCall(a) {
		o.Err = ErrCrashed
		return o
	}
	if providers.ClassOf(err) == providers.NotFound {
		x.Log.Warn("task already gone at the provider", "action", string(a.Action), "window", a.Key, "provider", a.Provider, "detail", err.Error())
		err = nil // already gone: the goal is met
	}
	o.Task = &task
	if err != nil {
		o.Result, o.Err = "failed", err
	} else if a.Action == Delete {
		o.Result = "deleted"
	} else {
		o.Result = "stopped"
	}
	now := x.Now()
	uerr := x.Store.Update(context.WithoutCancel(ctx), func(tx *state.Tx) error {
		r := tx.Get(a.Record)
		if r == nil {
			return nil
		}
		defer tx.Put(r)
		r.Intent, r.Updated = "", now
		if err != nil {
			r.Reason = err.Error()
			return nil
		}
		t := task
		r.Task, r.Phase, r.Reason = &t, state.Done, string(a.Action)+": "+a.Reason
		return nil
	})
	if uerr != nil && o.Err == nil {
		o.Result, o.Err = "failed", uerr
	}
	return o
}

// call runs fn, retrying retryable and
// throttled errors with jittered exponential backoff (honouring the
// provider's RetryAfter) until the action's budget is spent.
func (x *Executor) call(ctx context.Context, a Action, fn func(context.Context) error) error {
	deadline := time.Now().Add(x.RetryBudget)
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, x.CallTimeout)
		t0 := time.Now()
		err := fn(cctx)
		cancel()
		if x.Observe != nil {
			x.Observe(a, err, time.Since(t0))
		}
		if err == nil || !providers.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		d := Backoff(attempt)
		if ra := providers.RetryAfter(err); ra > d {
			d = ra
		}
		if time.Until(deadline) < d {
			return err
		}
		x.Log.Debug("retrying", "action", string(a.Action), "window", a.Key, "provider", a.Provider, "in", d, "error", err.Error())
		if err := x.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Backoff is the wait before retry attempt+1: exponential from 250 ms,
// capped at 30 s, with full jitter over the upper half.
func Backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 7)
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

// findCreated lists the provider for a task matching the action's piece that
// no state record owns yet (one an attempt created before its answer was
// lost). A failed List is returned: creating again without knowing would
// duplicate the task.
func (x *Executor) findCreated(ctx context.Context, prov providers.Provider, a Action) (providers.Task, bool, error) {
	owned := map[string]bool{}
	st, err := x.Store.Snapshot(ctx)
	if err != nil {
		return providers.Task{}, false, err
	}
	for _, r := range st.Live() {
		if r.Task != nil {
			owned[r.Task.ID] = true
		}
	}
	lctx, cancel := context.WithTimeout(ctx, x.CallTimeout)
	defer cancel()
	tasks, err := prov.List(lctx, providers.Scope{Streams: []spec.Stream{a.Stream},
		From: a.Piece.Start.Add(-24 * time.Hour), To: a.Piece.End.Add(24 * time.Hour)})
	if err != nil {
		return providers.Task{}, false, err
	}
	t, ok := indexTasks(tasks).findMatch(owned, a.Stream, a.Piece.Start, a.Piece.End)
	return t, ok, nil
}
