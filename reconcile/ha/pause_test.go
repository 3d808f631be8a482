package ha_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/spec"
)

// A leader is paused in the middle of an apply (its third create is
// under way) past its lease; another replica takes over; then it resumes.
// After the takeover it makes no provider call and no state write of it
// is accepted: the call under way completes, its result is refused, and
// every later intent is refused before its call.
func TestPausedLeaderResumedMidApply(t *testing.T) {
	ctx := context.Background()
	tx := tencentemu.NewEmulator(emu.Config{})
	var mu sync.Mutex
	var arrivals []time.Time
	creates := 0
	paused, resume := make(chan struct{}), make(chan struct{})
	srvHTTP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-TC-Action") == "CreateRecordTask" {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			creates++
			n := creates
			mu.Unlock()
			if n == 3 {
				close(paused)
				<-resume
			}
		}
		tx.ServeHTTP(w, r)
	}))
	defer srvHTTP.Close()
	os.Setenv("X_TX_ID", tencentemu.DemoSecretID)
	os.Setenv("X_TX_KEY", tencentemu.DemoSecretKey)
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: recordctl/v1\nkind: Provider\nmetadata: {name: tx}\nspec: {type: tencent, region: ap-guangzhou, endpoint: %s, credentials: {secretId: {env: X_TX_ID}, secretKey: {env: X_TX_KEY}}}\n", srvHTTP.URL)
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	for i := range 6 {
		b.WriteString("---\n" + recDoc(fmt.Sprintf("s%d", i), "tx", start, start.Add(time.Hour)))
	}
	if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := spec.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefix := newPrefix(t)
	fenced := 0
	oldStore := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{OnFenced: func() { fenced++ }})
	if err := oldStore.Init(ctx); err != nil {
		t.Fatal(err)
	}
	old, err := ha.Acquire(ctx, ha.Config{Store: oldStore, TTL: time.Second, Identity: "old"}, []string{"tx"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// One call at a time: the blocked call is the whole process paused.
	eng := &reconcile.Engine{Store: old.Store(), Exec: reconcile.Executor{Concurrency: 1}}
	type result struct {
		res *reconcile.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := eng.Plan(ctx, set, time.Now())
		if err != nil {
			done <- result{nil, err}
			return
		}
		res, err := eng.Apply(ctx, set, p)
		done <- result{res, err}
	}()
	<-paused
	// Paused past its lease: the lease expires (revoked here at once) and
	// another replica takes over.
	old.Crash()
	resp, _ := srv.Client(t).Get(ctx, prefix+"/leader/tx/", clientv3.WithPrefix())
	for _, kv := range resp.Kvs {
		srv.Client(t).Revoke(ctx, clientv3.LeaseID(kv.Lease))
	}
	newStore := etcdstate.New(srv.Client(t), prefix, etcdstate.Options{})
	nw, err := ha.Acquire(ctx, ha.Config{Store: newStore, TTL: time.Second, Identity: "new"}, []string{"tx"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Release()
	takeover := time.Now()
	before, err := newStore.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	close(resume)
	r := <-done
	mu.Lock()
	after := 0
	for _, a := range arrivals {
		if a.After(takeover) {
			after++
		}
	}
	mu.Unlock()
	if after != 0 {
		t.Errorf("the old leader made %d provider call(s) after it lost leadership", after)
	}
	st, err := newStore.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != before.Serial || len(st.Records) != len(before.Records) {
		t.Errorf("state changed after the takeover: serial %d -> %d, %d -> %d records", before.Serial, st.Serial, len(before.Records), len(st.Records))
	}
	if r.err == nil && (r.res == nil || r.res.Err == nil || !state.IsFenced(r.res.Err)) {
		t.Errorf("the resumed apply did not report the lost leadership: %+v %v", r.res, r.err)
	}
	if fenced == 0 {
		t.Error("no write was refused")
	}
	t.Logf("creates before the pause 3 (the third under way), after the takeover %d; writes refused %d", after, fenced)
}
