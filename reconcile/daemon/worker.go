package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// errShutdown marks a reconcile cut short because the daemon is stopping.
var errShutdown = errors.New("shutting down")

// worker reconciles one Provider document while this process leads it.
type worker struct {
	name   string
	kick   chan string // a trigger kind; buffered 1
	cancel context.CancelFunc

	imu  sync.Mutex
	intr chan struct{} // closed by a kick: the reconcile under way abandons its observation
}

// interrupt returns a fresh channel that the next kick closes.
func (w *worker) interrupt() <-chan struct{} {
	w.imu.Lock()
	defer w.imu.Unlock()
	w.intr = make(chan struct{})
	return w.intr
}

// interrupted closes the channel of the reconcile under way, if any.
func (w *worker) interrupted() {
	w.imu.Lock()
	defer w.imu.Unlock()
	if w.intr != nil {
		close(w.intr)
		w.intr = nil
	}
}

// syncWorkers starts a worker (campaigning for leadership first) for every
// Provider document in force, and stops those whose document is gone.
func (d *Daemon) syncWorkers(ctx context.Context) {
	docs := d.Documents()
	want := map[string]bool{}
	if docs.Set != nil {
		for _, p := range docs.Set.Providers {
			want[p.Metadata.Name] = true
		}
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if ctx.Err() != nil {
		return
	}
	for name, w := range d.workers {
		if !want[name] {
			w.cancel()
			delete(d.workers, name)
		}
	}
	for name := range want {
		if d.workers[name] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{name: name, kick: make(chan string, 1), cancel: cancel}
		d.workers[name] = w
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.campaign(wctx, w)
		}()
	}
}

// kick wakes the workers of only (nil: every worker) for a reconcile now.
// An edit wakes only the providers whose share of the documents it
// changed: the others' passes (a long observation) go on undisturbed.
func (d *Daemon) kick(kind string, only map[string]bool) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for name, w := range d.workers {
		if only != nil && !only[name] {
			continue
		}
		select {
		case w.kick <- kind:
		default: // a reconcile is already due
		}
		w.interrupted()
	}
}

// campaign leads w's provider whenever this process wins its election,
// until ctx ends.
func (d *Daemon) campaign(ctx context.Context, w *worker) {
	for ctx.Err() == nil {
		lease, err := d.cfg.Elector.Campaign(ctx, w.name)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("campaign for leadership failed; trying again", "provider", w.name, "error", err.Error())
			_ = d.clk.Sleep(ctx, time.Second)
			continue
		}
		d.setLeading(w.name, true)
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Done():
				cancel()
			case <-lctx.Done():
			}
		}()
		d.lead(lctx, w, lease)
		cancel()
		d.setLeading(w.name, false)
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = lease.Resign(rctx)
		rcancel()
		if ctx.Err() == nil {
			d.log.Warn("leadership lost: standing by", "provider", w.name)
		}
	}
}

func (d *Daemon) setLeading(name string, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if on {
		d.leading[name] = true
	} else {
		delete(d.leading, name)
		delete(d.last, name)
	}
}

// lead reconciles the provider until ctx ends (shutdown, lost lease,
// document removed, or a write refused). Each wake-up is computed from the
// instant the last reconcile planned for, so an edge that passed while a
// reconcile ran is served right after it.
func (d *Daemon) lead(ctx context.Context, w *worker, lease Lease) {
	trigger := "start"
	var since time.Time
	// The timer is armed only while the worker waits (tests on a fake
	// clock see a worker at rest by its armed timer).
	t := d.clk.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		at := d.clk.Now()
		rep := d.reconcileOne(ctx, w.name, trigger, at, since, lease.Store(), w.interrupt(), func() bool { return len(w.kick) > 0 })
		if state.IsFenced(rep.Err) {
			d.log.Error("the state store refused this process: leadership lost, reconcile aborted", "provider", w.name, "error", rep.Err.Error())
			return
		}
		if ctx.Err() != nil {
			return
		}
		if rep.Result == nil || !rep.Result.Interrupted {
			since = at // an interrupted pass planned nothing past its due work
		}
		next := rep.Next.At
		resync := time.Time{}
		if d.cfg.Resync > 0 {
			resync = d.clk.Now().Add(d.cfg.Resync)
		}
		if next.IsZero() || !resync.IsZero() && resync.Before(next) {
			next = resync
		}
		if next.IsZero() {
			next = d.clk.Now().Add(time.Hour)
		}
		t.Reset(max(next.Sub(d.clk.Now()), 0))
		if !d.clk.Now().Before(next) {
			// The clock passed next while the timer was armed: due now.
			trigger = "edge"
			continue
		}
		if next.Sub(d.clk.Now()) > idleAfter && (d.cfg.Resync < 0 || d.cfg.Resync > idleAfter) {
			// Going to sleep: give the reconcile's garbage back to the OS
			// now rather than holding up to twice the live heap while idle.
			debug.FreeOSMemory()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			trigger = "edge"
			if !resync.IsZero() && !d.clk.Now().Before(resync) {
				trigger = "resync"
			}
		case trigger = <-w.kick:
			t.Stop()
		}
	}
}

// dueFirst are the triggers whose reconcile first does what is due from
// the last observation (a window edge, an edit), then observes.
var dueFirst = map[string]bool{"start": true, "edge": true, "change": true, "reload": true}

// fullFinish are the triggers whose reconcile ends by re-asserting every
// open recording of command providers that cannot observe one (one start
// call per recording). Window edges and file changes skip it, so that an
// edge costs a few calls rather than one per open recording.
var fullFinish = map[string]bool{"start": true, "resync": true, "signal": true}

// reconcileOne is one reconcile of one provider: Reconcile, with the
// mass-stop guard as its filter, then the report.
func (d *Daemon) reconcileOne(ctx context.Context, name, trigger string, at, since time.Time, store state.Store, intr <-chan struct{}, yield func() bool) Report {
	t0 := d.clk.Now()
	d.mu.Lock()
	docs, prepErr := d.docs, d.prepErr
	d.mu.Unlock()
	rep := Report{Provider: name, Trigger: trigger, At: at}
	if prepErr != nil || docs.Set == nil {
		rep.Err = prepErr
		if rep.Err == nil {
			rep.Err = errors.New("no documents loaded")
		}
		rep.Next = Edge{At: at.Add(d.searchSpan())}
	} else {
		filter := func(p *reconcile.Plan, st *state.State, obs []providers.Task) []reconcile.Action {
			run, held, kind, why := guard(p, st, map[string][]providers.Task{name: obs}, len(docs.Errors), d.cfg.AllowMassStop)
			rep.Held, rep.HeldKind, rep.HeldReason = held, kind, why
			return run
		}
		res, err := d.eng.Reconcile(ctx, reconcile.Request{Provider: name, At: at, Set: docs.Set, Store: store, Since: since,
			DueFirst: dueFirst[trigger], Reassert: fullFinish[trigger], Filter: filter, Horizon: d.searchSpan(),
			Interrupt: intr, Yield: yield})
		if res != nil {
			rep.Plan, rep.Result, rep.NotStarted = res.Plan, res, res.NotStarted
			rep.Next = Edge{At: res.RequeueAt}
			if res.Plan != nil && res.Plan.Spec.Digest == "" {
				res.Plan.Spec.Digest = docs.Digest
			}
		}
		switch {
		case err != nil && ctx.Err() != nil && !state.IsFenced(err):
			rep.Err = errShutdown
		case err != nil:
			rep.Err = err
		}
		if res != nil && res.Observed != nil {
			d.mu.Lock()
			d.observed[name] = res.Observed[name]
			d.mu.Unlock()
		}
	}
	rep.Took = d.clk.Since(t0)
	d.record(&rep)
	if d.cfg.OnReconcile != nil {
		d.cfg.OnReconcile(rep)
	}
	return rep
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
	start := d.clk.Now().Add(-took)
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
		if p := d.docs.Set.Provider(provider); p != nil {
			typ = p.Spec.Type
		}
	}
	obs := d.observed[provider]
	d.mu.Unlock()
	if typ == "" || d.eng.Caps(typ).CanList {
		return true
	}
	for _, t := range obs {
		if t.Handle != nil {
			return true
		}
	}
	return false
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
func (d *Daemon) record(rep *Report) {
	d.mu.Lock()
	d.last[rep.Provider] = rep
	obs := maps.Clone(d.observed)
	d.mu.Unlock()
	result := "ok"
	if rep.Err != nil || (rep.Result != nil && rep.Result.Failed > 0) || (rep.Plan != nil && len(rep.Plan.Errors) > 0) {
		result = "error"
	}
	d.m.reconcileDur.Observe(rep.Took.Seconds())
	d.m.reconciles.WithLabelValues(rep.Trigger, result).Inc()
	if result == "ok" {
		d.m.lastSuccess.Set(float64(d.clk.Now().Unix()))
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
	if rep.Result != nil && rep.Result.Missed > 0 {
		d.m.missed.WithLabelValues(rep.Provider, "late").Add(float64(rep.Result.Missed))
	}
	if rep.Plan != nil {
		d.m.missed.WithLabelValues(rep.Provider, "down").Add(float64(len(rep.Plan.Missed)))
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
	attrs := []any{"trigger", rep.Trigger, "provider", rep.Provider, "took", rep.Took.Round(time.Millisecond).String()}
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
	d.mu.Lock()
	same := key.String() == d.lastLogged[rep.Provider]
	d.lastLogged[rep.Provider] = key.String()
	d.mu.Unlock()
	if same {
		return
	}
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
