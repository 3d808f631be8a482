package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// memStore is a state.Store in memory: the curve measures the core (plan,
// executor, state bookkeeping), not the disk.
type memStore struct {
	mu sync.Mutex
	st *state.State
}

func (m *memStore) Snapshot(context.Context) (*state.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Clone(), nil
}

func (m *memStore) Update(_ context.Context, fn func(*state.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := state.NewTx(m.st)
	if err := fn(tx); err != nil {
		return err
	}
	c := tx.Changes()
	if !c.Empty() {
		m.st.Serial++
		m.st.Apply(c)
	}
	return nil
}

func (m *memStore) Close() error { return nil }

// curveProv is a provider whose calls cost O(1): tasks by id and by stream.
type curveProv struct {
	sched bool
	mu    sync.Mutex
	seq   int
	tasks map[spec.Stream][]providers.Task
}

func (p *curveProv) Capabilities() providers.Capabilities {
	if p.sched {
		c := schedCaps
		c.DefaultRateLimit = 0
		return c
	}
	c := cmdCaps
	c.DefaultRateLimit = 0
	return c
}

func (p *curveProv) List(_ context.Context, scope providers.Scope) ([]providers.Task, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []providers.Task
	for _, s := range scope.Streams {
		out = append(out, p.tasks[s]...)
	}
	return out, nil
}

func (p *curveProv) Create(_ context.Context, req providers.CreateRequest) (providers.Task, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	t := providers.Task{ID: fmt.Sprintf("t%d", p.seq), Stream: req.Stream, Start: req.Start, End: req.End, Status: providers.StatusScheduled}
	if !p.sched {
		t.Start, t.Status = req.Now, providers.StatusRecording
	}
	p.tasks[req.Stream] = append(p.tasks[req.Stream], t)
	return t, nil
}

func (p *curveProv) Stop(_ context.Context, t providers.Task) (providers.Task, error) { return t, nil }
func (p *curveProv) Delete(context.Context, providers.Task) error                     { return nil }

// BenchmarkPlanApplyCurve: plan and apply (Engine.Plan, then Engine.Apply,
// the path of `recordctl apply`) of n recordings from empty, then a
// converged re-plan, at 1k, 10k and 100k. ns/recording at each size and its
// ratio to the 1k run of the same process show whether the cost is linear
// (a ratio near 1).
func BenchmarkPlanApplyCurve(b *testing.B) {
	var base float64
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			in := benchInput(b, n)
			var per float64
			for b.Loop() {
				clk := clocktest.NewSim(in.Now)
				provs := map[string]*curveProv{"cmd": {tasks: map[spec.Stream][]providers.Task{}}, "sched": {sched: true, tasks: map[spec.Stream][]providers.Task{}}}
				e := &Engine{Store: &memStore{st: &state.State{Lineage: "curve"}}, Clock: clk, Caps: func(typ string) providers.Capabilities {
					return provs[map[string]string{"fakesched": "sched", "fakecmd": "cmd"}[typ]].Capabilities()
				}, Factory: func(p *spec.Provider, _ providers.Options) (providers.Provider, error) {
					return provs[p.Metadata.Name], nil
				}}
				t0 := time.Now()
				p, err := e.Plan(context.Background(), in.Set, in.Now)
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Apply(context.Background(), in.Set, p)
				if err != nil || res.Failed > 0 {
					b.Fatalf("apply: %v %v", err, res.Err)
				}
				p2, err := e.Plan(context.Background(), in.Set, in.Now)
				if err != nil || p2.HasChanges() {
					b.Fatalf("not converged: %v %d actions", err, len(p2.Actions))
				}
				per = float64(time.Since(t0).Nanoseconds()) / float64(n)
			}
			if n == 1000 {
				base = per
			}
			b.ReportMetric(per, "ns/recording")
			if base > 0 {
				b.ReportMetric(per/base, "x-of-1k-per-recording")
			}
		})
	}
}
