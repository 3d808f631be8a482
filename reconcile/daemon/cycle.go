package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// errShutdown marks a reconcile cut short because the daemon is stopping.
var errShutdown = errors.New("shutting down")

// cycle is one reconcile: observe the providers, plan, hold back what the
// guard refuses, apply the rest, re-assert open recordings. It returns an
// error only for a simulated crash (reconcile.ErrCrashed); everything else
// goes to the log, the metrics and /readyz.
func (d *Daemon) cycle(ctx context.Context, trigger string) error {
	t0 := time.Now()
	now := d.cfg.Now()
	d.mu.Lock()
	docs, prepErr := d.docs, d.prepErr
	d.mu.Unlock()
	rep := Report{Trigger: trigger, At: now}
	var obs map[string][]providers.Task
	var crash error
	func() {
		if prepErr != nil {
			rep.Err = prepErr
			return
		}
		set := docs.Set
		if err := reconcile.CheckLookahead(set, d.eng.Caps, d.eng.Lookahead); err != nil {
			rep.Err = err
			return
		}
		st, err := d.eng.Store.Snapshot(ctx)
		if err != nil {
			rep.Err = err
			return
		}
		var oerrs map[string]error
		obs, oerrs = d.eng.Observe(ctx, set, st, now)
		if ctx.Err() != nil {
			rep.Err = errShutdown
			return
		}
		p := reconcile.NewPlan(reconcile.Input{Set: set, State: st, Observed: obs, ObserveErr: oerrs,
			Caps: d.eng.Caps, Now: now, Lookahead: d.eng.Lookahead})
		p.Spec = reconcile.SpecRef{Dir: set.Dir, Digest: docs.Digest}
		rep.Plan = p
		run, held, kind, why := guard(p, st, obs, len(docs.Errors), d.cfg.AllowMassStop)
		rep.Held, rep.HeldKind, rep.HeldReason = held, kind, why
		res, notStarted, err := d.apply(ctx, set, p.Forget, run)
		rep.Result, rep.NotStarted = res, notStarted
		if errors.Is(err, reconcile.ErrCrashed) {
			crash = err
			return
		}
		d.logEnded(st, obs, p.Forget)
		if ctx.Err() != nil {
			rep.Err = errShutdown
			return
		}
		d.finish(ctx, trigger, set, now, res)
	}()
	d.prevNow = now
	rep.Next = d.computeEdge()
	rep.Took = time.Since(t0)
	d.record(&rep, obs)
	if d.cfg.OnReconcile != nil {
		d.cfg.OnReconcile(rep)
	}
	return crash
}

// fullFinish are the triggers whose reconcile ends with the engine's
// Finish: re-asserting every open recording of command providers that
// cannot observe one (one start call per recording). Window edges and
// file changes skip it, so that an edge costs a few calls rather than one
// per open recording and the next window start is not delayed; they only
// record the reconcile time (missed-window reports).
var fullFinish = map[string]bool{"start": true, "resync": true, "signal": true}

func (d *Daemon) finish(ctx context.Context, trigger string, set *spec.Set, now time.Time, res *reconcile.Result) {
	if fullFinish[trigger] {
		actx, cancel := reconcile.WithGrace(ctx, d.cfg.Grace)
		d.eng.Finish(actx, set, now, res)
		cancel()
		return
	}
	if err := d.eng.Store.Update(ctx, func(tx *state.Tx) error { tx.SetLastReconcile(now); return nil }); err != nil {
		res.Err = multierror.Append(res.Err, err)
	}
}

// apply carries out the forgets and the actions the guard let through with
// the engine's executor: no action starts once ctx has ended, and calls
// under way finish within Config.Grace. It returns how many actions were
// never started, and only a simulated crash as an error.
func (d *Daemon) apply(ctx context.Context, set *spec.Set, forget []string, actions []reconcile.Action) (*reconcile.Result, int, error) {
	provs, _ := d.eng.Providers(set)
	x := d.eng.Exec
	x.Store, x.Providers, x.Log, x.Now, x.Grace = d.eng.Store, provs, d.eng.Log, d.eng.Now, d.cfg.Grace
	res, err := x.Apply(ctx, set, &reconcile.Plan{Forget: forget, Actions: actions})
	if errors.Is(err, reconcile.ErrCrashed) {
		return res, res.NotStarted, err
	}
	if err != nil {
		res.Err = multierror.Append(res.Err, err)
	}
	return res, res.NotStarted, nil
}

// observeCall is the executor's per-call hook: request metrics (lists
// that providers answer without a request are not requests), and the
// lateness of the first create call of every window piece, including
// windows found already open at startup.
func (d *Daemon) observeCall(a reconcile.Action, err error, took time.Duration) {
	if a.Action == "list" && !d.listRequests(a.Provider) {
		return
	}
	d.m.observeCall(a.Provider, string(a.Action), err, took)
	if a.Action != reconcile.Create || a.Piece.Start.Equal(spec.ContinuousStart) {
		return
	}
	start := d.cfg.Now().Add(-took)
	d.lagMu.Lock()
	first := d.lagSeen[a.Key].IsZero()
	if first {
		for k, end := range d.lagSeen { // forget windows that have ended
			if end.Before(start) {
				delete(d.lagSeen, k)
			}
		}
		d.lagSeen[a.Key] = a.Piece.End
	}
	d.lagMu.Unlock()
	if !first {
		return
	}
	d.m.lag.WithLabelValues(a.Provider).Observe(max(0, start.Sub(a.Piece.Start).Seconds()))
}

// listRequests reports whether a List of provider sends requests: those
// that cannot list answer from the state, except for live tasks they query
// one by one (agora).
func (d *Daemon) listRequests(provider string) bool {
	d.mu.Lock()
	var typ string
	if d.docs.Set != nil {
		for _, p := range d.docs.Set.Providers {
			if p.Metadata.Name == provider {
				typ = p.Spec.Type
			}
		}
	}
	d.mu.Unlock()
	if typ == "" || d.eng.Caps(typ).CanList {
		return true
	}
	st, err := d.eng.Store.Snapshot(context.Background())
	if err != nil {
		return true
	}
	for _, r := range st.Live() {
		if r.Provider == provider && r.Task != nil && r.Task.Handle != nil {
			return true
		}
	}
	return false
}

// logEnded logs the managed tasks a plan forgets because they ended on
// their own (finished, stopped or gone at the provider).
func (d *Daemon) logEnded(st *state.State, obs map[string][]providers.Task, forget []string) {
	status := observedStatus(obs)
	for _, id := range forget {
		r := st.Find(id)
		if r == nil || r.Task == nil {
			continue
		}
		s := string(status[r.Task.ID])
		if s == "" || s == string(providers.StatusUnknown) {
			s = "ended"
		}
		d.log.Info("task ended", "recording", r.Recording, "window", r.Key, "provider", r.Provider, "task", r.Task.ID, "status", s)
	}
}

func observedStatus(obs map[string][]providers.Task) map[string]providers.Status {
	out := map[string]providers.Status{}
	for _, ts := range obs {
		for _, t := range ts {
			out[t.ID] = t.Status
		}
	}
	return out
}

// record publishes a reconcile: last report (for /readyz), metrics, logs.
func (d *Daemon) record(rep *Report, obs map[string][]providers.Task) {
	d.mu.Lock()
	d.last = rep
	d.mu.Unlock()
	result := "ok"
	if rep.Err != nil || (rep.Result != nil && rep.Result.Failed > 0) || (rep.Plan != nil && len(rep.Plan.Errors) > 0) {
		result = "error"
	}
	d.m.reconcileDur.Observe(rep.Took.Seconds())
	d.m.reconciles.WithLabelValues(rep.Trigger, result).Inc()
	if result == "ok" {
		d.m.lastSuccess.Set(float64(time.Now().Unix()))
	}
	d.m.held.Reset()
	if len(rep.Held) > 0 {
		d.m.held.WithLabelValues(rep.HeldKind).Set(float64(len(rep.Held)))
	}
	if rep.Result != nil {
		for _, o := range rep.Result.Outcomes {
			a := o.Action
			d.m.actions.WithLabelValues(string(a.Action), a.Provider, o.Result).Inc()
			if a.Action == reconcile.Create && (o.Result == "created" || o.Result == "adopted") || a.Action == reconcile.Adopt && o.Result == "adopted" {
				d.m.recorded.WithLabelValues(a.Provider).Inc()
			}
			if a.Action == reconcile.Create && strings.HasPrefix(a.Reason, "drift") {
				d.log.Warn("drift repaired", "recording", a.Recording, "window", a.Key, "provider", a.Provider,
					"reason", a.Reason, "result", o.Result)
			}
		}
	}
	if rep.Plan != nil {
		d.m.missed.Add(float64(len(rep.Plan.Missed)))
		for _, m := range rep.Plan.Missed {
			d.log.Warn("window missed: it opened and closed while recordctl was not running", "recording", m.Recording, "window", m.Window,
				"start", m.Span.Start.Format(time.RFC3339), "end", m.Span.End.Format(time.RFC3339))
		}
	}
	if rep.Err == nil || !errors.Is(rep.Err, errShutdown) {
		d.setTaskGauge(obs)
	}
	ready, _ := d.Ready()
	if ready {
		d.m.ready.Set(1)
	} else {
		d.m.ready.Set(0)
	}
	d.logReport(rep)
}

// setTaskGauge counts live managed tasks by status.
func (d *Daemon) setTaskGauge(obs map[string][]providers.Task) {
	status := observedStatus(obs)
	counts := map[string]int{}
	st, err := d.eng.Store.Snapshot(context.Background())
	if err != nil {
		return
	}
	for _, r := range st.Live() {
		s := string(r.Phase)
		if r.Task != nil {
			if o, ok := status[r.Task.ID]; ok && o != providers.StatusUnknown && o != "" {
				s = string(o)
			} else if r.Task.Status != "" && r.Task.Status != providers.StatusUnknown && r.Phase == state.Active {
				s = string(r.Task.Status)
			}
		}
		counts[s]++
	}
	d.m.tasks.Reset()
	for s, n := range counts {
		d.m.tasks.WithLabelValues(s).Set(float64(n))
	}
}

// logReport writes the reconcile summary, and plan errors and held
// actions when they differ from the last ones logged.
func (d *Daemon) logReport(rep *Report) {
	attrs := []any{"trigger", rep.Trigger, "took", rep.Took.Round(time.Millisecond)}
	lvl := slog.LevelDebug
	if rep.Trigger == "start" || rep.Trigger == "signal" || rep.Trigger == "change" {
		lvl = slog.LevelInfo
	}
	if r := rep.Result; r != nil {
		attrs = append(attrs, "created", r.Created, "stopped", r.Stopped, "deleted", r.Deleted, "adopted", r.Adopted,
			"waiting", r.Waiting, "failed", r.Failed)
		if r.Created+r.Stopped+r.Deleted+r.Adopted+r.Waiting > 0 {
			lvl = slog.LevelInfo
		}
		if r.Failed > 0 {
			lvl = slog.LevelWarn
		}
	}
	if rep.Plan != nil && rep.Plan.Summary.Unmanaged > 0 {
		attrs = append(attrs, "unmanaged", rep.Plan.Summary.Unmanaged)
	}
	if len(rep.Held) > 0 {
		attrs = append(attrs, "held", len(rep.Held))
		lvl = slog.LevelWarn
	}
	if rep.NotStarted > 0 {
		attrs = append(attrs, "not_started", rep.NotStarted)
	}
	if !rep.Next.At.IsZero() {
		attrs = append(attrs, "next_edge", rep.Next.At.UTC().Format(time.RFC3339))
	}
	if rep.Err != nil {
		attrs = append(attrs, "error", rep.Err.Error())
		lvl = slog.LevelError
		if errors.Is(rep.Err, errShutdown) {
			lvl = slog.LevelInfo
		}
	}
	d.log.Log(context.Background(), lvl, "reconcile", attrs...)

	var key strings.Builder
	if rep.Plan != nil {
		for _, e := range rep.Plan.Errors {
			key.WriteString(e + "\n")
		}
	}
	key.WriteString(rep.HeldReason)
	for _, a := range rep.Held {
		key.WriteString(a.Key + "\n")
	}
	if key.String() == d.lastLogged {
		return
	}
	d.lastLogged = key.String()
	if rep.Plan != nil {
		for _, e := range rep.Plan.Errors {
			d.log.Warn("plan problem", "error", e)
		}
	}
	if len(rep.Held) > 0 {
		d.log.Error("stops and deletes held back", "reason", rep.HeldKind, "count", len(rep.Held), "detail", rep.HeldReason)
		for i, a := range rep.Held {
			if i == 20 {
				d.log.Warn(fmt.Sprintf("... and %d more held", len(rep.Held)-i))
				break
			}
			d.log.Warn("held", "action", string(a.Action), "recording", a.Recording, "window", a.Key, "provider", a.Provider, "task", a.Task)
		}
	}
}
