package ha_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/reconcile/state/statetest"
	"github.com/recordctl/recordctl/spec"
)

// A leader dies at every state write of a reconcile (before it lands and
// after), its lease expires, and another replica takes over on the same
// etcd state: every window ends with exactly one task at the provider.
func TestNoDuplicateAtAnyCrashPointOfAFailover(t *testing.T) {
	ctx := context.Background()
	dir := fleet(t, []string{"tx"}, time.Now().Add(time.Hour))
	// Three windows on one provider: append two more recordings.
	base, err := spec.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	set := base
	for i := 2; i <= 3; i++ {
		r := *set.Recordings[0]
		r.Metadata.Name = fmt.Sprintf("rec-tx-%d", i)
		r.Spec.Stream.Name = fmt.Sprintf("tx-%d", i)
		set.Recordings = append(set.Recordings, &r)
	}
	acquire := func(prefix, who string) (*etcdstate.Store, *ha.Held) {
		st := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
		if err := st.Init(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := ha.Acquire(ctx, ha.Config{Store: st, TTL: time.Second, Identity: who}, []string{"tx"}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return st, h
	}
	for _, mode := range []statetest.Mode{statetest.BeforeWrite, statetest.AfterWrite} {
		for n := 1; ; n++ {
			emu, err := emulate.Start("127.0.0.1", 0, emu.Config{})
			if err != nil {
				t.Fatal(err)
			}
			s := *set
			if err := emu.Point(&s); err != nil {
				t.Fatal(err)
			}
			prefix := newPrefix(t)
			_, old := acquire(prefix, "old")
			f := statetest.FailAt(old.Store(), n, mode)
			eng := &reconcile.Engine{Store: f, Exec: reconcile.Executor{Grace: time.Millisecond}}
			_, rerr := eng.Reconcile(ctx, reconcile.Request{Provider: "tx", At: time.Now(), Set: &s})
			crashed := f.Crashed()
			// The old leader is dead: its lease expires (at once, here).
			old.Crash()
			resp, _ := srv.Client(t).Get(ctx, prefix+"/leader/tx/", clientv3.WithPrefix())
			for _, kv := range resp.Kvs {
				srv.Client(t).Revoke(ctx, clientv3.LeaseID(kv.Lease))
			}
			_, nw := acquire(prefix, "new")
			eng2 := &reconcile.Engine{Store: nw.Store()}
			if res, err := eng2.Reconcile(ctx, reconcile.Request{Provider: "tx", At: time.Now(), Set: &s}); err != nil || (res != nil && res.Err != nil) {
				t.Fatalf("%s write %d: the new leader's reconcile: %v %v", mode, n, err, res.Err)
			}
			perStream := map[string]int{}
			for _, task := range emu.Emulators["tencent"].(*tencentemu.Emulator).Tasks() {
				if !task.Deleted {
					perStream[task.Stream.Name]++
				}
			}
			for _, r := range s.Recordings {
				if perStream[r.Spec.Stream.Name] != 1 {
					t.Errorf("%s write %d: stream %s has %d tasks, want exactly 1", mode, n, r.Spec.Stream.Name, perStream[r.Spec.Stream.Name])
				}
			}
			st, _ := nw.Store().Snapshot(ctx)
			for _, r := range st.Records {
				if r.Phase == state.Pending {
					t.Errorf("%s write %d: record %s still pending after the new leader's reconcile", mode, n, r.Key)
				}
			}
			nw.Release()
			emu.Close()
			if !crashed {
				if rerr != nil && !errors.Is(rerr, statetest.ErrCrashed) {
					t.Logf("uncrashed reconcile error: %v", rerr)
				}
				t.Logf("%s: crashed at each of the %d writes of a reconcile", mode, n-1)
				break
			}
		}
	}
}
