package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Engine plans and applies for one state store. It builds provider clients
// from the documents (rebuilding one when its document changes), each with a
// rate limiter that paces its HTTP requests across reconciles.
type Engine struct {
	Store     Store
	Caps      CapsFunc
	Lookahead time.Duration
	Log       *slog.Logger
	Now       func() time.Time
	// Options are passed to every provider factory.
	Options providers.Options
	// Factory builds provider clients; nil means the registry (providers.New).
	Factory providers.Factory
	// Exec carries executor settings (concurrency, budgets, hooks); its
	// Store, Providers, Log and Now are filled by the engine.
	Exec Executor

	mu      sync.Mutex
	clients map[string]client
}

type client struct {
	spec spec.ProviderSpec
	prov providers.Provider
}

func (e *Engine) defaults() {
	if e.Caps == nil {
		e.Caps = RegisteredCaps
	}
	if e.Lookahead == 0 {
		e.Lookahead = DefaultLookahead
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// Providers returns a client per Provider document (built on first use,
// paced by the document's rateLimit), and the errors of those that could
// not be built.
func (e *Engine) Providers(set *spec.Set) (map[string]providers.Provider, map[string]error) {
	e.defaults()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clients == nil {
		e.clients = map[string]client{}
	}
	out := map[string]providers.Provider{}
	errs := map[string]error{}
	for _, p := range set.Providers {
		name := p.Metadata.Name
		c, ok := e.clients[name]
		if !ok || !reflect.DeepEqual(c.spec, p.Spec) {
			r := p.Spec.RateLimit
			if r <= 0 {
				r = e.Caps(p.Spec.Type).DefaultRateLimit
			}
			newProv := e.Factory
			if newProv == nil {
				newProv = providers.New
			}
			opts := e.Options
			// Every HTTP request of this provider is paced a margin under r,
			// on the providers' clock.
			opts.Pacer = providers.NewPacer(r, opts.Clock)
			prov, err := newProv(p, opts)
			if err != nil {
				errs[name] = err
				delete(e.clients, name)
				continue
			}
			c = client{spec: p.Spec, prov: prov}
			e.clients[name] = c
		}
		out[name] = c.prov
	}
	return out, errs
}

// Observe lists every provider's tasks for the plan at now.
func (e *Engine) Observe(ctx context.Context, set *spec.Set, st *state.State, now time.Time) (map[string][]providers.Task, map[string]error) {
	provs, errs := e.Providers(set)
	obs := map[string][]providers.Task{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range set.Providers {
		name := p.Metadata.Name
		prov := provs[name]
		if prov == nil {
			continue
		}
		c := e.Caps(p.Spec.Type)
		scope := providers.Scope{}
		scope.From, scope.To = Horizon(c, now, e.Lookahead)
		seen := map[spec.Stream]bool{}
		for _, r := range set.Recordings {
			if r.Spec.Provider == name && !seen[r.Spec.Stream] {
				seen[r.Spec.Stream] = true
				scope.Streams = append(scope.Streams, r.Spec.Stream)
			}
		}
		for _, r := range st.Live() {
			if r.Provider != name {
				continue
			}
			if !seen[r.Stream] {
				seen[r.Stream] = true
				scope.Streams = append(scope.Streams, r.Stream)
			}
			if r.Task != nil {
				scope.Managed = append(scope.Managed, *r.Task)
			}
		}
		if len(scope.Streams) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := Action{Action: "list", Provider: name}
			var tasks []providers.Task
			x := e.executor(provs)
			err := x.call(ctx, a, func(ctx context.Context) error {
				var err error
				tasks, err = prov.List(ctx, scope)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[name] = err
				return
			}
			obs[name] = tasks
		}()
	}
	wg.Wait()
	return obs, errs
}

func (e *Engine) executor(provs map[string]providers.Provider) *Executor {
	x := e.Exec
	x.Store, x.Providers, x.Log, x.Now = e.Store, provs, e.Log, e.Now
	x.defaults()
	return &x
}

// Plan observes the providers and computes the plan at now.
func (e *Engine) Plan(ctx context.Context, set *spec.Set, now time.Time) (*Plan, error) {
	e.defaults()
	if err := CheckLookahead(set, e.Caps, e.Lookahead); err != nil {
		return nil, err
	}
	st, err := e.Store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	obs, errs := e.Observe(ctx, set, st, now)
	p := NewPlan(Input{Set: set, State: st, Observed: obs, ObserveErr: errs, Caps: e.Caps, Now: now, Lookahead: e.Lookahead})
	p.Spec = SpecRef{Dir: set.Dir, Digest: Digest(set)}
	return p, nil
}

// CheckStreams asks providers that can (providers.StreamChecker) whether
// each stream p creates a task for is set up to be recorded, once per
// stream, and notes on the action what is missing, so `plan` warns before
// `apply` fails. It is for plans shown to a person: the daemon does not
// spend calls on it before a window opens on time.
func (e *Engine) CheckStreams(ctx context.Context, set *spec.Set, p *Plan) {
	e.defaults()
	provs, _ := e.Providers(set)
	x := e.executor(provs)
	type check struct {
		sc     providers.StreamChecker
		stream spec.Stream
		note   string
	}
	checks := map[string]*check{}
	for _, a := range p.Actions {
		if sc, ok := provs[a.Provider].(providers.StreamChecker); ok && a.Action == Create {
			checks[a.Provider+" "+a.Stream.String()] = &check{sc: sc, stream: a.Stream}
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, x.Concurrency)
	for _, c := range checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, x.CallTimeout)
			defer cancel()
			switch err := c.sc.CheckStream(cctx, c.stream); {
			case err == nil || ctx.Err() != nil:
			case providers.ClassOf(err) == providers.Permanent:
				c.note = "will fail: " + err.Error()
			default:
				c.note = "could not check that the stream is set up to be recorded: " + err.Error()
			}
		}()
	}
	wg.Wait()
	for i := range p.Actions {
		a := &p.Actions[i]
		if c := checks[a.Provider+" "+a.Stream.String()]; c != nil && c.note != "" && a.Action == Create {
			a.Note = strings.TrimPrefix(a.Note+"; "+c.note, "; ")
		}
	}
}

// Apply carries out p. A plan made against another state serial is refused.
func (e *Engine) Apply(ctx context.Context, set *spec.Set, p *Plan) (*Result, error) {
	e.defaults()
	st, err := e.Store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if st.Lineage != p.State.Lineage || st.Serial != p.State.Serial {
		return nil, fmt.Errorf("the plan is stale: it was made against state %s serial %d, the state is now %s serial %d; run plan again",
			orNone(p.State.Lineage), p.State.Serial, orNone(st.Lineage), st.Serial)
	}
	if p.Spec.Digest != "" && p.Spec.Digest != Digest(set) {
		return nil, fmt.Errorf("the plan is stale: the documents changed since it was made; run plan again")
	}
	provs, _ := e.Providers(set)
	return e.executor(provs).Apply(ctx, set, p)
}

func orNone(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// Reassert re-issues the start of every open, active task of command
// providers that cannot observe a recording (Reasserter), so a stream that
// dropped and came back is recorded again. Restarts are logged as gaps.
func (e *Engine) Reassert(ctx context.Context, set *spec.Set, now time.Time, skip map[string]bool) []Outcome {
	e.defaults()
	provs, _ := e.Providers(set)
	x := e.executor(provs)
	var outs []Outcome
	st, err := e.Store.Snapshot(ctx)
	if err != nil {
		return []Outcome{{Result: "failed", Err: err}}
	}
	for _, r := range st.Live() {
		ra, ok := provs[r.Provider].(providers.Reasserter)
		if !ok || r.Phase != state.Active || r.Task == nil || skip[r.Key] || now.Before(r.Start) || !now.Before(r.End) {
			continue
		}
		a := Action{Action: "reassert", Recording: r.Recording, Key: r.Key, Provider: r.Provider, Type: r.Type, Stream: r.Stream, Record: r.ID}
		var t providers.Task
		var restarted bool
		err := x.call(ctx, a, func(ctx context.Context) error {
			var err error
			t, restarted, err = ra.Reassert(ctx, *r.Task)
			return err
		})
		o := Outcome{Action: a, Task: &t, Err: err}
		switch {
		case providers.ClassOf(err) == providers.StreamOffline:
			o.Result, o.Err = "waiting", nil
		case err != nil:
			o.Result = "failed"
		case restarted:
			o.Result = "restarted"
		default:
			o.Result = "recording"
		}
		if o.Result == "restarted" || o.Result == "waiting" {
			id := r.ID
			_ = e.Store.Update(ctx, func(tx *state.Tx) error {
				if rr := tx.Get(id); rr != nil {
					rr.Updated = e.Now()
					if o.Result == "waiting" {
						rr.Reason = "stream dropped: waiting for it to be pushed again"
					} else {
						tt := t
						rr.Task, rr.Reason = &tt, "restarted after the stream dropped"
					}
					tx.Put(rr)
				}
				return nil
			})
			e.Log.Warn("stream dropped mid-window: the recording had ended; the gap is not recorded", "recording", r.Recording, "window", r.Key, "provider", r.Provider, "stream", r.Stream.String(), "result", o.Result)
		} else if o.Result == "failed" {
			e.Log.Error("reassert failed", "recording", r.Recording, "window", r.Key, "provider", r.Provider, "error", err.Error())
		}
		outs = append(outs, o)
	}
	return outs
}

// Reconcile plans and applies at now, then re-asserts open recordings of
// command providers. It records the reconcile time for missed-window reports.
func (e *Engine) Reconcile(ctx context.Context, set *spec.Set, now time.Time) (*Plan, *Result, error) {
	p, err := e.Plan(ctx, set, now)
	if err != nil {
		return nil, nil, err
	}
	res, err := e.Apply(ctx, set, p)
	if err != nil {
		return p, res, err
	}
	e.Finish(ctx, set, now, res)
	return p, res, nil
}

// Finish follows an apply at now: it re-asserts open recordings of command
// providers (skipping those just created), records the reconcile time and
// prunes old history.
func (e *Engine) Finish(ctx context.Context, set *spec.Set, now time.Time, res *Result) {
	skip := map[string]bool{}
	for _, o := range res.Outcomes {
		if o.Action.Action == Create || o.Action.Action == Adopt {
			skip[o.Action.Key] = true
		}
	}
	for _, o := range e.Reassert(ctx, set, e.Now(), skip) {
		if o.Result == "failed" {
			res.add(o)
		} else {
			res.Outcomes = append(res.Outcomes, o)
		}
	}
	cut := now.Add(-7 * 24 * time.Hour)
	_ = e.Store.Update(ctx, func(tx *state.Tx) error {
		tx.SetLastReconcile(now)
		tx.Prune(cut)
		return nil
	})
}

// Digest fingerprints the documents a plan was made from.
func Digest(set *spec.Set) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range set.Providers {
		_ = enc.Encode(struct {
			M spec.Metadata
			S spec.ProviderSpec
		}{p.Metadata, p.Spec})
	}
	for _, r := range set.Recordings {
		_ = enc.Encode(struct {
			M spec.Metadata
			S spec.RecordingSpec
		}{r.Metadata, r.Spec})
	}
	return hex.EncodeToString(h.Sum(nil))
}
