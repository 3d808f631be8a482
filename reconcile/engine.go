package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Engine plans and applies for one state store. It builds provider clients
// from the documents (rebuilding one when its document changes), each with a
// rate limiter that paces its HTTP requests across reconciles and a Gate
// that sizes its calls in flight. Reconcile is the one path that apply,
// run and the tests take.
type Engine struct {
	Store     Store
	Caps      CapsFunc
	Lookahead time.Duration
	Log       *slog.Logger
	// Clock is the time of plans, budgets, backoffs and timeouts (nil: the wall clock).
	Clock clock.Clock
	// Options are passed to every provider factory.
	Options providers.Options
	// Factory builds provider clients; nil means the registry (providers.New).
	Factory providers.Factory
	// Exec carries executor settings (budgets, timeouts, hooks); its
	// Store, Providers, Log, Clock and Gates are filled by the engine.
	Exec Executor

	mu      sync.Mutex
	clients map[string]client
	// last is each provider's last observation, for due-first reconciles.
	last map[string][]providers.Task
	// reassertAt is where each provider's next re-assert pass starts.
	reassertAt map[string]int
}

type client struct {
	spec spec.ProviderSpec
	prov providers.Provider
	gate *Gate
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
	if e.Clock == nil {
		e.Clock = clock.Real // written once, before any goroutine reads it
	}
}

// Now is the engine's clock reading.
func (e *Engine) Now() time.Time { return clock.Or(e.Clock).Now() }

// Providers returns a client per Provider document (built on first use,
// paced by the document's rateLimit), and the errors of those that could
// not be built.
func (e *Engine) Providers(set *spec.Set) (map[string]providers.Provider, map[string]error) {
	out, _, errs := e.clientsFor(set)
	return out, errs
}

func (e *Engine) clientsFor(set *spec.Set) (map[string]providers.Provider, map[string]*Gate, map[string]error) {
	e.defaults()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clients == nil {
		e.clients = map[string]client{}
	}
	out := map[string]providers.Provider{}
	gates := map[string]*Gate{}
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
			c = client{spec: p.Spec, prov: prov, gate: NewGate(r)}
			e.clients[name] = c
		}
		out[name] = c.prov
		gates[name] = c.gate
	}
	return out, gates, errs
}

// scopeFor is what a List of provider name covers at now.
func (e *Engine) scopeFor(set *spec.Set, st *state.State, p *spec.Provider, now time.Time) providers.Scope {
	name := p.Metadata.Name
	c := e.Caps(p.Spec.Type)
	scope := providers.Scope{}
	scope.From, scope.To = Horizon(c, now, e.Lookahead)
	nrec, nlive := 0, 0
	for _, r := range set.Recordings {
		if r.Spec.Provider == name {
			nrec++
		}
	}
	for _, r := range st.Records {
		if r.Provider == name && r.Phase.Live() {
			nlive++
		}
	}
	// Sized up front: at 100k recordings, growing these by doubling moved
	// more memory than the rest of the observation.
	scope.Streams = make([]spec.Stream, 0, nrec+nlive)
	scope.Managed = make([]providers.Task, 0, nlive)
	seen := make(map[spec.Stream]bool, nrec+nlive)
	for _, r := range set.Recordings {
		if r.Spec.Provider == name && !seen[r.Spec.Stream] {
			seen[r.Spec.Stream] = true
			scope.Streams = append(scope.Streams, r.Spec.Stream)
		}
	}
	for _, r := range st.Records {
		if r.Provider != name || !r.Phase.Live() {
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
	return scope
}

// observe lists one provider's tasks for a plan at now (nil, nil when it
// has nothing in scope).
func (e *Engine) observe(ctx context.Context, x *Executor, set *spec.Set, st *state.State, p *spec.Provider, prov providers.Provider, now time.Time) ([]providers.Task, error) {
	scope := e.scopeFor(set, st, p, now)
	if len(scope.Streams) == 0 {
		return nil, nil
	}
	a := Action{Action: "list", Provider: p.Metadata.Name, Type: p.Spec.Type}
	var tasks []providers.Task
	err := x.call(ctx, ctx, a, time.Time{}, func(ctx context.Context) error {
		var err error
		tasks, err = prov.List(ctx, scope)
		return err
	})
	if err != nil {
		return nil, err
	}
	if tasks == nil {
		tasks = []providers.Task{}
	}
	e.mu.Lock()
	if e.last == nil {
		e.last = map[string][]providers.Task{}
	}
	e.last[p.Metadata.Name] = tasks
	e.mu.Unlock()
	return tasks, nil
}

// Observe lists every provider's tasks for the plan at now, each
// provider on its own goroutine.
func (e *Engine) Observe(ctx context.Context, set *spec.Set, st *state.State, now time.Time) (map[string][]providers.Task, map[string]error) {
	provs, gates, errs := e.clientsFor(set)
	x := e.executor(e.Store, provs, gates)
	obs := map[string][]providers.Task{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range set.Providers {
		prov := provs[p.Metadata.Name]
		if prov == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tasks, err := e.observe(ctx, x, set, st, p, prov, now)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[p.Metadata.Name] = err
			} else if tasks != nil {
				obs[p.Metadata.Name] = tasks
			}
		}()
	}
	wg.Wait()
	return obs, errs
}

func (e *Engine) executor(store Store, provs map[string]providers.Provider, gates map[string]*Gate) *Executor {
	x := e.Exec
	if x.Concurrency > 0 {
		gates = nil // an explicit Concurrency is a fixed bound per provider
	}
	x.Store, x.Providers, x.Log, x.Clock, x.Gates = store, provs, e.Log, e.Clock, gates
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
	x := e.executor(e.Store, provs, nil)
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

// Apply carries out p, a plan shown to a person (or saved) and confirmed:
// a plan made against another state serial, or other documents, is
// refused. Each provider's share of it goes through Reconcile on its own
// goroutine, so one slow provider never holds up another's actions.
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
	// Records to forget belong to their provider's share.
	forget := map[string][]string{}
	for _, id := range p.Forget {
		if r := st.Find(id); r != nil && set.Provider(r.Provider) != nil {
			forget[r.Provider] = append(forget[r.Provider], id)
		}
	}
	byProv := map[string]*Plan{}
	share := func(name string) *Plan {
		if byProv[name] == nil {
			sp := *p
			sp.Actions, sp.Forget = nil, forget[name]
			byProv[name] = &sp
		}
		return byProv[name]
	}
	for _, a := range p.Actions {
		sp := share(a.Provider)
		sp.Actions = append(sp.Actions, a)
	}
	for _, pr := range set.Providers {
		share(pr.Metadata.Name) // every provider: open recordings are re-asserted
	}
	res := &Result{Plan: p}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs error
	for name, sp := range byProv {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Reconcile(ctx, Request{Provider: name, At: p.At, Set: set, Plan: sp, Reassert: true})
			// A one-shot apply has no requeue: it waits for what a provider
			// asked to wait for (Huawei's restart gap), then carries out the
			// deferred actions again, each still bounded by its piece.
			for range maxDeferRounds {
				if err != nil || r == nil || r.Deferred == 0 || e.Clock.Sleep(ctx, max(r.RetryAt.Sub(e.Clock.Now()), 0)) != nil {
					break
				}
				keep := &Result{Plan: r.Plan}
				again := &Plan{FormatVersion: FormatVersion, At: p.At}
				for _, o := range r.Outcomes {
					if o.Result == "deferred" {
						again.Actions = append(again.Actions, o.Action)
					} else {
						keep.add(o)
					}
				}
				keep.NotStarted = r.NotStarted
				var r2 *Result
				r2, err = e.Reconcile(ctx, Request{Provider: name, At: e.Clock.Now(), Set: set, Plan: again})
				keep.merge(r2)
				r = keep
			}
			mu.Lock()
			defer mu.Unlock()
			res.merge(r)
			if err != nil {
				errs = multierror.Append(errs, err)
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(res.Outcomes, func(i, j int) bool { return res.Outcomes[i].Action.Key < res.Outcomes[j].Action.Key })
	if errs != nil {
		return res, errs
	}
	// The reconcile time, for missed-window reports, also when nothing was to do.
	if err := e.finish(ctx, e.Store, p.At); err != nil {
		return res, err
	}
	return res, nil
}

// maxDeferRounds bounds how often one apply carries out deferred actions again.
const maxDeferRounds = 10

func orNone(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// finish records the reconcile time at and prunes old history.
func (e *Engine) finish(ctx context.Context, store Store, at time.Time) error {
	cut := at.Add(-7 * 24 * time.Hour)
	return store.Update(ctx, func(tx *state.Tx) error {
		tx.SetLastReconcile(at)
		tx.Prune(cut)
		return nil
	})
}

// Digest fingerprints the documents a plan was made from.
func Digest(set *spec.Set) string {
	d, _ := digests(set, false)
	return d
}

// Digests is Digest and, in the same pass, a fingerprint of each Provider
// document's share of set: its document and its Recordings (in document
// order). A reload that leaves a provider's share as it was need not wake
// that provider's worker.
func Digests(set *spec.Set) (string, map[string]string) { return digests(set, true) }

func digests(set *spec.Set, perProvider bool) (string, map[string]string) {
	all := sha256.New()
	shares := map[string]hash.Hash{}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Each document is encoded once, into the whole and into its share.
	add := func(provider string, v any) {
		buf.Reset()
		_ = enc.Encode(v)
		all.Write(buf.Bytes())
		if h := shares[provider]; h != nil {
			h.Write(buf.Bytes())
		}
	}
	for _, p := range set.Providers {
		if perProvider {
			shares[p.Metadata.Name] = sha256.New()
		}
		add(p.Metadata.Name, struct {
			M spec.Metadata
			S spec.ProviderSpec
		}{p.Metadata, p.Spec})
	}
	for _, r := range set.Recordings {
		add(r.Spec.Provider, struct {
			M spec.Metadata
			S spec.RecordingSpec
		}{r.Metadata, r.Spec})
	}
	if !perProvider {
		return hex.EncodeToString(all.Sum(nil)), nil
	}
	out := make(map[string]string, len(shares))
	for name, h := range shares {
		out[name] = hex.EncodeToString(h.Sum(nil))
	}
	return hex.EncodeToString(all.Sum(nil)), out
}
