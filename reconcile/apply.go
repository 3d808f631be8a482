package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
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

// Executor applies plans: it writes an intent before every provider call and
// the result after it, bounds the calls in flight per provider (a Gate sized
// to rate × observed latency; providers pace their own HTTP requests, see
// providers.Options.Limiter), and retries retryable and throttled errors
// with jittered exponential backoff, on its Clock, within a per-action
// budget that never outlives the piece a create serves.
type Executor struct {
	Store     Store
	Providers map[string]providers.Provider // by Provider document name
	Log       *slog.Logger
	// Clock is the time every budget, backoff and window check runs on.
	Clock clock.Clock
	// Concurrency bounds in-flight actions per provider when no Gate is
	// given for it (default 8). Set on an Engine's Exec, it replaces the
	// engine's rate-sized gates with this fixed bound.
	Concurrency int
	// Gates size the in-flight actions of each provider (by Provider
	// document name) to its rate × observed latency.
	Gates map[string]*Gate
	// RetryBudget is how long one action may keep retrying (default 2 min);
	// a create's retries also end with its piece.
	RetryBudget time.Duration
	// CallTimeout bounds one provider call (default 30 s). It is wall-clock
	// time, as network timeouts are; budgets and backoffs run on Clock.
	CallTimeout time.Duration
	// Grace is how long calls under way may run on after the context of
	// Apply ends (shutdown, Ctrl-C); no new action or retry starts (default 20 s).
	Grace time.Duration
	// MaxInlineWait is the longest retry wait slept inside an apply; an
	// action told to wait longer (Huawei's restart gap, a long RetryAfter)
	// is deferred: its outcome is "deferred" with RetryAt, and the caller
	// requeues (default 2 s).
	MaxInlineWait time.Duration
	// Observe is called after each provider call with its outcome (metrics).
	Observe func(a Action, err error, took time.Duration)
	// OnOutcome, if set, is called as each action of Apply finishes
	// (progress display); it may be called from several goroutines at once.
	OnOutcome func(Outcome)
}

// Outcome is what happened to one action.
type Outcome struct {
	Action Action
	// Result: created, stopped, deleted, adopted, waiting, deferred, missed, failed.
	Result string
	Task   *providers.Task
	Err    error
	Took   time.Duration
	// RetryAt is when a deferred action may be tried again.
	RetryAt time.Time
}

// Result sums up an apply, or a reconcile.
type Result struct {
	Outcomes                                            []Outcome
	Created, Stopped, Deleted, Adopted, Waiting, Failed int
	// Deferred actions wait for a time the provider requires (RetryAt);
	// Missed creates could no longer succeed within their piece.
	Deferred, Missed int
	// RetryAt is the earliest RetryAt of the deferred actions (zero: none).
	RetryAt time.Time
	// NotStarted counts actions never begun because the context ended or
	// the store refused this writer.
	NotStarted int
	// Err aggregates every failure (nil when none).
	Err error

	// Plan is the plan a Reconcile carried out (nil for a bare apply).
	Plan *Plan
	// RequeueAt is when the reconciled provider next needs a reconcile: its
	// next window edge after the planned instant, or a deferred retry.
	RequeueAt time.Time
	// Observed is the provider's List result the plan was made from (nil
	// when the observation was skipped or failed).
	Observed map[string][]providers.Task
	// Interrupted: the observation was abandoned because something else
	// waits for the provider (Request.Interrupt); nothing was planned after
	// the due pass, and the provider is due again at once.
	Interrupted bool
	// ObserveErr is why the provider could not be observed (nothing was
	// planned for it); the reconcile is requeued soon.
	ObserveErr error
}

// Summary is the closing line of an apply.
func (r *Result) Summary() string {
	s := fmt.Sprintf("Apply complete: %d created, %d stopped, %d deleted, %d failed.", r.Created, r.Stopped, r.Deleted, r.Failed)
	if r.Adopted > 0 || r.Waiting > 0 {
		s += fmt.Sprintf(" (%d adopted, %d waiting for the stream)", r.Adopted, r.Waiting)
	}
	if r.Missed > 0 || r.Deferred > 0 {
		s += fmt.Sprintf(" (%d missed, %d deferred)", r.Missed, r.Deferred)
	}
	return s
}

func (x *Executor) defaults() {
	if x.Log == nil {
		x.Log = slog.New(slog.DiscardHandler)
	}
	x.Clock = clock.Or(x.Clock)
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
	if x.MaxInlineWait <= 0 {
		x.MaxInlineWait = 2 * time.Second
	}
}

// resultCtx is the context of the state write that records a call's
// outcome: it outlives a shutdown (an outcome left unrecorded is resolved
// by a list, or a call made again) but not a store that stops answering
// (an etcd that is gone): at most Grace.
func (x *Executor) resultCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), x.Grace)
}

// WithGrace returns a context that is not cancelled with parent but grace
// after it. Grace, like CallTimeout, is wall-clock time: it bounds network
// calls, which a fake clock cannot time out.
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
// never blocks the others, and one provider's actions never wait for
// another's; every failure is in Result.Err. A write the store refuses
// (state.ErrFenced) aborts the whole apply: no further action or provider
// call starts, and the error is returned.
func (x *Executor) Apply(ctx context.Context, set *spec.Set, p *Plan) (*Result, error) {
	x.defaults()
	res := &Result{Outcomes: make([]Outcome, 0, len(p.Actions))}
	if len(p.Forget) > 0 {
		now := x.Clock.Now()
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
	// Per provider: stops and deletes first (they free overlap slots and
	// restart gaps that creates on the same stream may need), then adopts
	// and creates, each in plan order (by piece start).
	byProv := map[string][2][]Action{}
	var order []string
	for _, a := range p.Actions {
		b, seen := byProv[a.Provider]
		if !seen {
			order = append(order, a.Provider)
		}
		if a.Action == Stop || a.Action == Delete {
			b[0] = append(b[0], a)
		} else {
			b[1] = append(b[1], a)
		}
		byProv[a.Provider] = b
	}
	// Once ctx ends no further action starts; calls under way run on a
	// context that ends Grace later, so they finish and their outcome is
	// recorded instead of being left unknown.
	actx, cancel := WithGrace(ctx, x.Grace)
	defer cancel()
	recs := byName(set)
	var mu sync.Mutex
	var fenced error
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ctx.Err() != nil || fenced != nil
	}
	var pwg sync.WaitGroup
	for _, name := range order {
		batches := byProv[name]
		gate := x.Gates[name]
		if gate == nil {
			gate = fixedGate(x.Concurrency)
		}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for _, batch := range batches {
				var wg sync.WaitGroup
				for i, a := range batch {
					ok := !stopped() && gate.Acquire(ctx) == nil
					if ok && stopped() {
						gate.Release(0, false)
						ok = false
					}
					if !ok {
						mu.Lock()
						res.NotStarted += len(batch) - i
						mu.Unlock()
						break
					}
					wg.Add(1)
					go func(a Action) {
						defer wg.Done()
						t0 := x.Clock.Now()
						o := x.do(actx, ctx, recs, a)
						gate.Release(x.Clock.Since(t0), true)
						mu.Lock()
						if state.IsFenced(o.Err) && fenced == nil {
							fenced = o.Err
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
		}()
	}
	pwg.Wait()
	sort.SliceStable(res.Outcomes, func(i, j int) bool { return res.Outcomes[i].Action.Key < res.Outcomes[j].Action.Key })
	if fenced != nil {
		return res, fmt.Errorf("apply aborted: %w", fenced)
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
	case "deferred":
		r.Deferred++
		if r.RetryAt.IsZero() || o.RetryAt.Before(r.RetryAt) {
			r.RetryAt = o.RetryAt
		}
	case "missed":
		r.Missed++
	case "failed":
		r.Failed++
		a := o.Action
		r.Err = multierror.Append(r.Err, fmt.Errorf("%s %s (%s, %s): %w", a.Action, a.Key, a.Provider, a.Stream, o.Err))
	}
}

// merge folds another result's outcomes and counts into r.
func (r *Result) merge(o *Result) {
	if o == nil {
		return
	}
	r.Outcomes = slices.Grow(r.Outcomes, len(o.Outcomes))
	for _, oc := range o.Outcomes {
		r.add(oc)
	}
	r.NotStarted += o.NotStarted
}

// do runs one action. ctx carries calls under way (it outlives run by the
// grace); run ending means no new call, retry included, may start.
func (x *Executor) do(ctx, run context.Context, recs map[string]*spec.Recording, a Action) Outcome {
	start := x.Clock.Now()
	o := Outcome{Action: a}
	prov := x.Providers[a.Provider]
	switch {
	case prov == nil && a.Action != Adopt:
		o.Result, o.Err = "failed", fmt.Errorf("provider %s is not configured", a.Provider)
	case a.Action == Adopt:
		o = x.adopt(ctx, a)
	case a.Action == Create:
		o = x.create(ctx, run, recs[a.Recording], prov, a)
	default:
		o = x.end(ctx, run, prov, a)
	}
	o.Took = x.Clock.Since(start)
	lvl := slog.LevelInfo
	switch o.Result {
	case "failed":
		lvl = slog.LevelError
	case "missed":
		lvl = slog.LevelWarn
	}
	attrs := []any{"action", string(a.Action), "recording", a.Recording, "window", a.Key, "provider", a.Provider,
		"stream", a.Stream.String(), "result", o.Result, "latency", o.Took.Round(time.Millisecond)}
	if o.Task != nil {
		attrs = append(attrs, "task", o.Task.ID)
	}
	if a.LateSeconds > 0 && a.Action == Create {
		attrs = append(attrs, "late", time.Duration(a.LateSeconds)*time.Second)
	}
	if !o.RetryAt.IsZero() {
		attrs = append(attrs, "retry_at", o.RetryAt.UTC().Format(time.RFC3339Nano))
	}
	if o.Err != nil {
		attrs = append(attrs, "error", o.Err.Error())
	}
	x.Log.Log(context.Background(), lvl, "action", attrs...)
	return o
}

func (x *Executor) adopt(ctx context.Context, a Action) Outcome {
	o := Outcome{Action: a, Result: "adopted", Task: a.Found}
	now := x.Clock.Now()
	o.Err = x.Store.Update(ctx, func(tx *state.Tx) error {
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

// missedErr says why a create could not succeed within its piece.
type missedErr struct{ cause error }

func (e *missedErr) Error() string {
	if e.cause == nil {
		return "the window closed before a start could be sent"
	}
	return "the window closed before a start was accepted; last error: " + e.cause.Error()
}

func (e *missedErr) Unwrap() error { return e.cause }

// deferErr says an action must wait longer than an apply sleeps.
type deferErr struct {
	at    time.Time
	cause error
}

func (e *deferErr) Error() string {
	return fmt.Sprintf("deferred until %s: %v", e.at.UTC().Format(time.RFC3339Nano), e.cause)
}

func (e *deferErr) Unwrap() error { return e.cause }

func (x *Executor) create(ctx, run context.Context, rec *spec.Recording, prov providers.Provider, a Action) Outcome {
	o := Outcome{Action: a}
	if rec == nil {
		o.Result, o.Err = "failed", fmt.Errorf("recording %s is not in the documents", a.Recording)
		return o
	}
	now := x.Clock.Now()
	if !now.Before(a.Piece.End) {
		// Never send a start for a piece that has ended.
		o.Result, o.Err = "missed", &missedErr{}
		return o
	}
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
	unknown := resume   // a call may have acted without our knowing
	look := a.LookFirst // planned without a fresh observation: look before the first create
	err = x.call(ctx, run, a, a.Piece.End, func(ctx context.Context) error {
		if (req.Resume || look) && canList {
			// The last attempt, or someone before a lost state, may have
			// created the task: look before creating (again).
			t, ok, err := x.findCreated(ctx, prov, a)
			if err != nil {
				return err // never create blind: look again on the next attempt
			}
			look = false
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
		if providers.OutcomeUnknown(e) {
			unknown = true
		} else if e == nil || !providers.IsRetryable(e) {
			unknown = false
		}
		return e
	})
	class := providers.ClassOf(err)
	var de *deferErr
	var me *missedErr
	now = x.Clock.Now()
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
	case errors.As(err, &de):
		o.Result, o.RetryAt, o.Err = "deferred", de.at, err
	case errors.As(err, &me):
		o.Result, o.Err = "missed", err
	default:
		o.Result, o.Err = "failed", err
	}
	rctx, rcancel := x.resultCtx(ctx)
	defer rcancel()
	uerr := x.Store.Update(rctx, func(tx *state.Tx) error {
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
			if unknown {
				// The outcome is unknown: stay pending with the intent, so
				// the next plan adopts what the provider holds or resumes.
				r.Intent, r.Reason = "create", o.Err.Error()
			} else if o.Result == "missed" {
				r.Phase, r.Reason = state.Failed, "missed: "+o.Err.Error()
			} else if providers.IsRetryable(o.Err) {
				r.Reason = o.Err.Error() // nothing was created: the next plan creates again
			} else {
				r.Phase, r.Reason = state.Failed, o.Err.Error()
			}
		}
		return nil
	})
	if uerr != nil && (o.Err == nil || state.IsFenced(uerr)) {
		o.Result, o.Err = "failed", uerr
	}
	return o
}

// end stops or deletes a managed task.
func (x *Executor) end(ctx, run context.Context, prov providers.Provider, a Action) Outcome {
	o := Outcome{Action: a}
	var task providers.Task
	if err := x.Store.Update(ctx, func(tx *state.Tx) error {
		if r := tx.Get(a.Record); r != nil && r.Task != nil {
			r.Intent, r.Updated = string(a.Action), x.Clock.Now()
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
	err := x.call(ctx, run, a, time.Time{}, func(ctx context.Context) error {
		if a.Action == Delete {
			return prov.Delete(ctx, task)
		}
		t, e := prov.Stop(ctx, task)
		if e == nil && t.ID != "" {
			task = t
		}
		return e
	})
	if providers.ClassOf(err) == providers.NotFound {
		x.Log.Warn("task already gone at the provider", "action", string(a.Action), "window", a.Key, "provider", a.Provider, "detail", err.Error())
		err = nil // already gone: the goal is met
	}
	o.Task = &task
	var de *deferErr
	switch {
	case errors.As(err, &de):
		o.Result, o.RetryAt, o.Err = "deferred", de.at, err
	case err != nil:
		o.Result, o.Err = "failed", err
	case a.Action == Delete:
		o.Result = "deleted"
	default:
		o.Result = "stopped"
	}
	now := x.Clock.Now()
	rctx, rcancel := x.resultCtx(ctx)
	defer rcancel()
	uerr := x.Store.Update(rctx, func(tx *state.Tx) error {
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
	if uerr != nil && (o.Err == nil || state.IsFenced(uerr)) {
		o.Result, o.Err = "failed", uerr
	}
	return o
}

// call runs fn, retrying retryable and throttled errors with jittered
// exponential backoff (honouring the provider's RetryAfter) until the
// action's budget is spent, on the executor's clock. A create's attempts
// end with its piece (until, non-zero): no attempt starts once the piece
// has ended, and a wait that would reach past it ends the create as missed.
// A wait longer than MaxInlineWait is not slept: the action is deferred.
// No retry starts once run has ended.
func (x *Executor) call(ctx, run context.Context, a Action, until time.Time, fn func(context.Context) error) error {
	deadline := x.Clock.Now().Add(x.RetryBudget)
	for attempt := 0; ; attempt++ {
		if !until.IsZero() && !x.Clock.Now().Before(until) {
			return &missedErr{}
		}
		cctx, cancel := context.WithTimeout(ctx, x.CallTimeout)
		t0 := x.Clock.Now()
		err := fn(cctx)
		cancel()
		if x.Observe != nil {
			x.Observe(a, err, x.Clock.Since(t0))
		}
		if err == nil || !providers.IsRetryable(err) || ctx.Err() != nil || run.Err() != nil {
			return err
		}
		d := Backoff(attempt)
		if ra := providers.RetryAfter(err); ra > d {
			d = ra
		}
		now := x.Clock.Now()
		if !until.IsZero() && !now.Add(d).Before(until) {
			return &missedErr{cause: err}
		}
		if d > x.MaxInlineWait && a.Action != "list" {
			// An action waits in the requeue; an observation, which the
			// plan needs, waits here (within the budget).
			return &deferErr{at: now.Add(d), cause: err}
		}
		if now.Add(d).After(deadline) {
			return err
		}
		x.Log.Debug("retrying", "action", string(a.Action), "window", a.Key, "provider", a.Provider, "in", d, "error", err.Error())
		if err := x.Clock.Sleep(run, d); err != nil {
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
		if r.Task != nil && r.Provider == a.Provider {
			owned[r.Task.ID] = true
		}
	}
	tasks, err := prov.List(ctx, providers.Scope{Streams: []spec.Stream{a.Stream},
		From: a.Piece.Start.Add(-24 * time.Hour), To: a.Piece.End.Add(24 * time.Hour)})
	if err != nil {
		return providers.Task{}, false, err
	}
	t, ok := indexTasks(tasks).findMatch(owned, a.Stream, a.Piece.Start, a.Piece.End)
	return t, ok, nil
}
