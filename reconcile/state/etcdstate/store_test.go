package etcdstate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate/etcdtest"
)

var srv *etcdtest.Server

func TestMain(m *testing.M) { etcdtest.Main(m, &srv) }

// fresh returns a store under a prefix no other test uses.
func fresh(t *testing.T, o etcdstate.Options) (*etcdstate.Store, string) {
	t.Helper()
	p := srv.Prefix("t") + "-" + t.Name()
	return etcdstate.New(srv.Client(t), p, o), p
}

func rec(id, provider string) *state.Record {
	return &state.Record{ID: id, Key: "k-" + id, Window: "w@" + id, Recording: "r", Provider: provider,
		Phase: state.Pending, Intent: "create", Created: time.Unix(1700000000, 0).UTC()}
}

func TestUpdateIsDurableAndPerKey(t *testing.T) {
	ctx := context.Background()
	s, p := fresh(t, etcdstate.Options{})
	if err := s.Update(ctx, func(tx *state.Tx) error {
		tx.Put(rec("a", "x"))
		tx.Put(rec("b", "x"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cli := srv.Client(t)
	before, _ := cli.Get(ctx, p+"/state/records/a")
	if err := s.Update(ctx, func(tx *state.Tx) error {
		r := tx.Get("b")
		r.Phase, r.Intent = state.Active, ""
		tx.Put(r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, _ := cli.Get(ctx, p+"/state/records/a")
	if before.Kvs[0].ModRevision != after.Kvs[0].ModRevision {
		t.Error("a write of record b rewrote record a: writes must touch only what changed")
	}
	// Another client (a restarted process) sees both records, in order, with serial and lineage.
	other := etcdstate.New(srv.Client(t), p, etcdstate.Options{})
	st, err := other.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 2 || st.Records[0].ID != "a" || st.Records[1].Phase != state.Active {
		t.Fatalf("reopened state = %+v", st.Records)
	}
	if st.Serial != 2 || st.Lineage == "" {
		t.Errorf("serial %d lineage %q, want 2 and a lineage", st.Serial, st.Lineage)
	}
	if err := other.Update(ctx, func(tx *state.Tx) error { tx.Drop("a"); return nil }); err != nil {
		t.Fatal(err)
	}
	st2, _ := s.Snapshot(ctx)
	if len(st2.Records) != 1 || st2.Lineage != st.Lineage || st2.Serial != 3 {
		t.Errorf("after another writer's drop: %d records, serial %d (want 1, 3, same lineage)", len(st2.Records), st2.Serial)
	}
}

func TestFnErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := fresh(t, etcdstate.Options{})
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec("a", "x")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if empty, err := s.IsEmpty(ctx); err != nil || !empty {
		t.Errorf("empty=%v err=%v after a failed fn", empty, err)
	}
}

// Two processes writing at once (each its own client): every write lands,
// none is lost to a stale cache.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	ctx := context.Background()
	s1, p := fresh(t, etcdstate.Options{})
	s2 := etcdstate.New(srv.Client(t), p, etcdstate.Options{})
	var wg sync.WaitGroup
	for w, s := range []*etcdstate.Store{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := s.Update(ctx, func(tx *state.Tx) error {
					tx.Put(rec(fmt.Sprintf("w%d-%d", w, i), "x"))
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st, err := s1.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 40 || st.Serial != 40 {
		t.Errorf("%d records, serial %d; want 40 and 40", len(st.Records), st.Serial)
	}
}

// A change larger than one transaction may hold is written whole.
func TestLargeChangeIsSplit(t *testing.T) {
	ctx := context.Background()
	s, p := fresh(t, etcdstate.Options{MaxTxnOps: 8})
	if err := s.Update(ctx, func(tx *state.Tx) error {
		for i := range 30 {
			tx.Put(rec(fmt.Sprintf("r%02d", i), "x"))
		}
		tx.SetLastReconcile(time.Unix(1700000100, 0))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := etcdstate.New(srv.Client(t), p, etcdstate.Options{}).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 30 || !st.LastReconcile.Equal(time.Unix(1700000100, 0)) {
		t.Errorf("%d records, last %v", len(st.Records), st.LastReconcile)
	}
}

// A write through a fenced view is refused once the election key is gone,
// and the refusal is state.ErrFenced.
func TestFencedWriteRefusedAfterLeadershipLost(t *testing.T) {
	ctx := context.Background()
	fenced := 0
	s, p := fresh(t, etcdstate.Options{OnFenced: func() { fenced++ }})
	cli := srv.Client(t)
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, p+"/leader/tencent-gz")
	if err := el.Campaign(ctx, "replica-1"); err != nil {
		t.Fatal(err)
	}
	v := s.Fenced(etcdstate.Fence{Key: el.Key(), Rev: el.Rev(), Name: "tencent-gz"})
	if err := v.Update(ctx, func(tx *state.Tx) error { tx.Put(rec("a", "tencent-gz")); return nil }); err != nil {
		t.Fatalf("write while leading: %v", err)
	}
	// The lease expires (as for a paused process): revoke it from outside.
	if _, err := srv.Client(t).Revoke(ctx, sess.Lease()); err != nil {
		t.Fatal(err)
	}
	err = v.Update(ctx, func(tx *state.Tx) error { tx.Put(rec("b", "tencent-gz")); return nil })
	if !state.IsFenced(err) || !strings.Contains(err.Error(), "tencent-gz") {
		t.Fatalf("write after leadership lost: %v, want ErrFenced naming the provider", err)
	}
	if fenced != 1 {
		t.Errorf("OnFenced called %d times, want 1", fenced)
	}
	st, _ := s.Snapshot(ctx)
	if st.Find("b") != nil {
		t.Error("the fenced write reached the state")
	}
	// A new campaign (new create revision) does not revive the old token.
	sess2, _ := concurrency.NewSession(cli, concurrency.WithTTL(5))
	defer sess2.Close()
	el2 := concurrency.NewElection(sess2, p+"/leader/tencent-gz")
	if err := el2.Campaign(ctx, "replica-2"); err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, func(tx *state.Tx) error { tx.Put(rec("b", "tencent-gz")); return nil }); !state.IsFenced(err) {
		t.Fatalf("old token accepted after a new leader won: %v", err)
	}
}

func TestParse(t *testing.T) {
	tg, err := etcdstate.Parse("etcd://10.0.0.1:2379,10.0.0.2:2379/rec/prod/")
	if err != nil || len(tg.Endpoints) != 2 || tg.Prefix != "/rec/prod" || tg.TLS {
		t.Errorf("%+v %v", tg, err)
	}
	if tg, err := etcdstate.Parse("etcds://e:2379/x"); err != nil || !tg.TLS {
		t.Errorf("%+v %v", tg, err)
	}
	for in, want := range map[string]string{
		"consul://h:1/x":  "unknown scheme",
		"etcd://h:2379":   "prefix",
		"etcd://h:2379/":  "prefix",
		"etcd://h/x":      "not host:port",
		"etcd:///x":       "no endpoint",
		"etcd:127.0.0.1/": "etcd://host:port",
	} {
		if _, err := etcdstate.Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error about %q", in, err, want)
		}
	}
	for in, want := range map[string]bool{"etcd://h:1/x": true, "s3://b/k": true, "etcd:x": true, ".recordctl/state": false, "/var/lib/x": false, "a:b/c": false} {
		if etcdstate.IsURL(in) != want {
			t.Errorf("IsURL(%q) != %v", in, want)
		}
	}
}

func TestConnectUnreachable(t *testing.T) {
	tg, _ := etcdstate.Parse("etcd://127.0.0.1:1/x")
	_, err := etcdstate.Connect(context.Background(), tg, nil, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v, want one naming the endpoint", err)
	}
}
