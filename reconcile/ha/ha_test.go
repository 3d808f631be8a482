package ha_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/recordctl/recordctl/providers/all"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate/etcdtest"
	"github.com/recordctl/recordctl/spec"
)

var srv *etcdtest.Server

func TestMain(m *testing.M) { etcdtest.Main(m, &srv) }

func newPrefix(t testing.TB) string { return srv.Prefix("ha") }

// event is a leadership change seen by a replica's worker loop.
type event struct {
	replica  int
	provider string
	won      bool
	at       time.Time
}

// replica is one recordctl run process: its own etcd client, an elector,
// and one worker loop per provider (campaign, work until Done, resign,
// campaign again), as the daemon runs them.
type replica struct {
	id     int
	el     *ha.Elector
	store  *etcdstate.Store
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startReplica(t testing.TB, id int, prefix string, ttl time.Duration, provs []string, events chan<- event,
	work func(ctx context.Context, r *replica, provider string, l *ha.Lease)) *replica {
	t.Helper()
	r := &replica{id: id}
	r.store = etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
	el, err := ha.New(context.Background(), ha.Config{Store: r.store, TTL: ttl, Replica: true, Identity: fmt.Sprintf("replica-%d", id)})
	if err != nil {
		t.Fatal(err)
	}
	r.el = el
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, p := range provs {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for r.ctx.Err() == nil {
				dl, err := el.Campaign(r.ctx, p)
				if err != nil {
					return
				}
				l := dl.(*ha.Lease)
				events <- event{id, p, true, time.Now()}
				wctx, cancel := context.WithCancel(r.ctx)
				stop := context.AfterFunc(wctx, func() {})
				go func() {
					select {
					case <-l.Done():
						cancel()
					case <-wctx.Done():
					}
				}()
				if work != nil {
					work(wctx, r, p, l)
				} else {
					<-wctx.Done()
				}
				stop()
				cancel()
				events <- event{id, p, false, time.Now()}
				if r.ctx.Err() == nil {
					_ = l.Resign(context.Background())
				}
			}
		}()
	}
	t.Cleanup(func() { r.stop(false) })
	return r
}

// stop ends the replica: crash (no resign, the lease expires) or a clean
// shutdown (resign at once).
func (r *replica) stop(crash bool) {
	if r.ctx.Err() != nil {
		return
	}
	if crash {
		r.el.Crash()
	}
	r.cancel()
	r.wg.Wait()
	if !crash {
		r.el.Close()
	}
}

// leaders tracks who leads what from the events, and fails on two leaders.
type leaders struct {
	t   testing.TB
	cur map[string]int // provider -> replica
}

func (ls *leaders) apply(ev event) {
	if ev.won {
		if r, ok := ls.cur[ev.provider]; ok && r != ev.replica {
			ls.t.Fatalf("provider %s: replica %d won while replica %d still led it", ev.provider, ev.replica, r)
		}
		ls.cur[ev.provider] = ev.replica
	} else if ls.cur[ev.provider] == ev.replica {
		delete(ls.cur, ev.provider)
	}
}

func (ls *leaders) counts() map[int]int {
	c := map[int]int{}
	for _, r := range ls.cur {
		c[r]++
	}
	return c
}

// waitUntil consumes events until cond holds (or fails after limit).
func waitUntil(t testing.TB, events <-chan event, ls *leaders, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !cond() {
		select {
		case ev := <-events:
			ls.apply(ev)
		case <-deadline.C:
			t.Fatalf("%s: not within %s; leaders now %v", what, limit, ls.cur)
		}
	}
}

func TestOneLeaderPerProviderSpreadAcrossReplicas(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			prefix := newPrefix(t)
			provs := []string{"p1", "p2", "p3", "p4", "p5", "p6"}
			events := make(chan event, 1000)
			ls := &leaders{t: t, cur: map[string]int{}}
			rs := []*replica{startReplica(t, 0, prefix, time.Second, provs, events, nil)}
			waitUntil(t, events, ls, 10*time.Second, "the first replica leads all", func() bool { return len(ls.cur) == len(provs) })
			for i := 1; i < n; i++ {
				rs = append(rs, startReplica(t, i, prefix, time.Second, provs, events, nil))
			}
			share := (len(provs) + n - 1) / n
			waitUntil(t, events, ls, 30*time.Second, "providers spread", func() bool {
				c := ls.counts()
				if len(ls.cur) != len(provs) || len(c) != n {
					return false
				}
				for _, k := range c {
					if k > share {
						return false
					}
				}
				return true
			})
			// etcd agrees: each provider's first election key is its leader's.
			for p, r := range ls.cur {
				h, err := rs[0].el.Holder(context.Background(), p)
				if err != nil || h != fmt.Sprintf("replica-%d", r) {
					t.Errorf("provider %s: etcd says %q leads, the replica %d thinks it does (%v)", p, h, r, err)
				}
			}
		})
	}
}

func TestFailoverWithinTTL(t *testing.T) {
	prefix := newPrefix(t)
	provs := []string{"a", "b"}
	events := make(chan event, 100)
	ls := &leaders{t: t, cur: map[string]int{}}
	rs := []*replica{startReplica(t, 0, prefix, time.Second, provs, events, nil)}
	waitUntil(t, events, ls, 10*time.Second, "replica 0 leads all", func() bool { return len(ls.cur) == 2 })
	rs = append(rs, startReplica(t, 1, prefix, time.Second, provs, events, nil))
	waitUntil(t, events, ls, 20*time.Second, "spread", func() bool { return len(ls.counts()) == 2 })
	// Kill the leader of "a" (no resign: its lease must expire).
	victim := ls.cur["a"]
	killed := time.Now()
	rs[victim].stop(true)
	for p, r := range ls.cur {
		if r == victim {
			delete(ls.cur, p)
		}
	}
	waitUntil(t, events, ls, 10*time.Second, "the survivor takes over", func() bool { return len(ls.cur) == 2 && ls.counts()[1-victim] == 2 })
	took := time.Since(killed)
	t.Logf("failover after a kill took %s (TTL 1s)", took)
	// A clean stop (SIGTERM) resigns at once: the other takes over without waiting for a TTL.
	rs = append(rs, startReplica(t, 2, prefix, time.Second, provs, events, nil))
	waitUntil(t, events, ls, 20*time.Second, "spread again", func() bool { return len(ls.counts()) == 2 })
	if took > 3*time.Second {
		t.Errorf("failover took %s with a 1 s TTL", took)
	}
}

func TestAcquireNamesTheHolder(t *testing.T) {
	prefix := newPrefix(t)
	events := make(chan event, 10)
	ls := &leaders{t: t, cur: map[string]int{}}
	startReplica(t, 7, prefix, time.Second, []string{"tencent-gz"}, events, nil)
	waitUntil(t, events, ls, 10*time.Second, "replica leads", func() bool { return len(ls.cur) == 1 })
	st := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
	_, err := ha.Acquire(context.Background(), ha.Config{Store: st, TTL: time.Second, Identity: "apply"}, []string{"tencent-gz"}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "replica-7") || !strings.Contains(err.Error(), "tencent-gz") {
		t.Fatalf("err = %v, want one naming the provider and its holder", err)
	}
	// A provider nobody leads is acquired at once, and released for others.
	h, err := ha.Acquire(context.Background(), ha.Config{Store: st, TTL: time.Second, Identity: "apply"}, []string{"other"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Store().Update(context.Background(), func(tx *state.Tx) error {
		tx.Put(&state.Record{ID: "x", Provider: "other"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.Release()
	if err := h.Store().Update(context.Background(), func(tx *state.Tx) error { tx.Drop("x"); return nil }); !state.IsFenced(err) {
		t.Fatalf("write after release: %v, want ErrFenced", err)
	}
}

// fleet writes a spec directory: n Tencent providers, each with one
// recording whose window starts at start.
func fleet(t testing.TB, provs []string, start time.Time) string {
	dir := t.TempDir()
	var b strings.Builder
	for _, p := range provs {
		fmt.Fprintf(&b, `apiVersion: recordctl/v1
kind: Provider
metadata: {name: %s}
spec:
  type: tencent
  region: ap-guangzhou
  credentials: {secretId: {env: X_ID}, secretKey: {env: X_KEY}}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: rec-%s}
spec:
  provider: %s
  stream: {domain: push.example.com, app: live, name: %s}
  windows: [{start: %s, end: %s}]
---
`, p, p, p, p, start.UTC().Format(time.RFC3339), start.Add(time.Hour).UTC().Format(time.RFC3339))
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func only(set *spec.Set, provider string) *spec.Set {
	out := *set
	out.Providers, out.Recordings = nil, nil
	for _, p := range set.Providers {
		if p.Metadata.Name == provider {
			out.Providers = append(out.Providers, p)
		}
	}
	for _, r := range set.Recordings {
		if r.Spec.Provider == provider {
			out.Recordings = append(out.Recordings, r)
		}
	}
	return &out
}

// An old leader whose lease expired while it was paused mid-apply: its
// intent write is refused (ErrFenced) and it makes no provider call.
func TestFencedLeaderMakesNoProviderCall(t *testing.T) {
	ctx := context.Background()
	emu, err := emulate.Start("127.0.0.1", 0, emu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	set, err := spec.Load(fleet(t, []string{"tx"}, time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Point(set); err != nil {
		t.Fatal(err)
	}
	prefix := newPrefix(t)
	old := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
	el, err := ha.New(ctx, ha.Config{Store: old, TTL: time.Second, Replica: true, Identity: "old"})
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	lease, err := el.Campaign(ctx, "tx")
	if err != nil {
		t.Fatal(err)
	}
	eng := &reconcile.Engine{Store: lease.Store()}
	p, err := eng.Plan(ctx, set, time.Now())
	if err != nil || len(p.Actions) != 1 {
		t.Fatalf("plan: %v, %d actions", err, len(p.Actions))
	}
	// The process pauses here past its lease; another replica takes over.
	el.Crash()
	st2 := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
	el2, err := ha.New(ctx, ha.Config{Store: st2, TTL: time.Second, Replica: true, Identity: "new"})
	if err != nil {
		t.Fatal(err)
	}
	defer el2.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := el2.Campaign(wctx, "tx"); err != nil {
		t.Fatal(err)
	}
	// The old leader resumes mid-apply.
	res, _ := eng.Apply(ctx, set, p)
	calls := emu.Emulators["tencent"].(*tencentemu.Emulator).Calls()
	if n := calls["CreateRecordTask"]; n != 0 {
		t.Errorf("the fenced leader made %d CreateRecordTask call(s)", n)
	}
	if res == nil || res.Err == nil || !state.IsFenced(res.Err) {
		t.Errorf("apply result error = %v, want ErrFenced", res.Err)
	}
	st, _ := st2.Snapshot(ctx)
	if len(st.Records) != 0 {
		t.Errorf("the fenced leader wrote %d record(s)", len(st.Records))
	}
}
