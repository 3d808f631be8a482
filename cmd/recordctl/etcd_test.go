package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate/etcdtest"
)

var (
	etcdOnce sync.Once
	etcdSrv  *etcdtest.Server
	etcdErr  error
)

// sharedEtcd is one embedded etcd for this package's tests (each uses its own prefix).
func sharedEtcd(t *testing.T) *etcdtest.Server {
	t.Helper()
	etcdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cmd-etcd-")
		if err != nil {
			etcdErr = err
			return
		}
		etcdSrv, etcdErr = etcdtest.Start(dir)
	})
	if etcdErr != nil {
		t.Fatalf("embedded etcd: %v", etcdErr)
	}
	return etcdSrv
}

// emptyDir lists what cwd holds (to prove nothing was created).
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// An unknown scheme or an unreachable etcd is exit 1 with a clear message,
// and nothing is created on disk (no ./etcd:/... file store).
func TestStateURLErrorsCreateNothing(t *testing.T) {
	docs := writeDocs(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", docs, "--state", "consul://127.0.0.1:8500/x", "--auto-approve"}, `unknown scheme "consul"`},
		{[]string{"plan", docs, "--state", "etcd://127.0.0.1:1/x", "--etcd-timeout", "300ms"}, "etcd 127.0.0.1:1: no answer within 300ms"},
		{[]string{"apply", docs, "--emulate", "--state", "etcd://127.0.0.1:1/x", "--etcd-timeout", "300ms", "--auto-approve"}, "no answer within"},
		{[]string{"run", docs, "--state", "etcd://127.0.0.1:1/x", "--etcd-timeout", "300ms", "--listen", ""}, "no answer within"},
		{[]string{"state", "list", "--state", "etcd:127.0.0.1:2379/x"}, "etcd://host:port"},
		{[]string{"apply", docs, "--state", "etcd://127.0.0.1:2379", "--auto-approve"}, "give a key prefix"},
	} {
		code, _, errOut := recordctl(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, errOut, c.want)
		}
	}
	if got := listDir(t, cwd); len(got) != 0 {
		t.Errorf("files created on disk: %v", got)
	}
}

// apply, state list and state migrate (both ways) on an embedded etcd,
// against the emulator.
func TestApplyListMigrateOnEtcd(t *testing.T) {
	srv := sharedEtcd(t)
	t.Chdir(t.TempDir()) // --emulate keeps the emulator's data under .recordctl
	docs := writeDocs(t)
	url := "etcd://" + srv.Endpoint + "/apply-test"
	code, out, errOut := recordctl(t, "--emulate", "--state", url, "apply", "--auto-approve", docs)
	if code != 0 || !strings.Contains(out, "Apply complete") {
		t.Fatalf("apply on etcd: exit %d\n%s\n%s", code, out, errOut)
	}
	code, list, errOut := recordctl(t, "state", "list", "--state", url, "-o", "json")
	if code != 0 || !strings.Contains(list, `"phase": "active"`) {
		t.Fatalf("state list on etcd: exit %d\n%s\n%s", code, list, errOut)
	}
	n := countRecords(t, list)
	// etcd -> local -> another etcd prefix; each copy holds every record.
	local := filepath.Join(t.TempDir(), "state")
	code, out, errOut = recordctl(t, "state", "migrate", "--from", url, "--to", local)
	if code != 0 || !strings.Contains(out, "Migrated") {
		t.Fatalf("migrate etcd->local: exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := state.Read(local)
	if err != nil || len(st.Records) != n {
		t.Fatalf("local copy: %v, %d records, want %d", err, len(st.Records), n)
	}
	url2 := "etcd://" + srv.Endpoint + "/apply-test-2"
	if code, out, errOut = recordctl(t, "state", "migrate", "--from", local, "--to", url2); code != 0 {
		t.Fatalf("migrate local->etcd: exit %d\n%s\n%s", code, out, errOut)
	}
	_, list2, _ := recordctl(t, "state", "list", "--state", url2, "-o", "json")
	if got := countRecords(t, list2); got != n {
		t.Errorf("etcd copy lists %d records, want %d", got, n)
	}
	// A non-empty target is refused, and left as it was.
	code, _, errOut = recordctl(t, "state", "migrate", "--from", local, "--to", url)
	if code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("migrate into a non-empty state: exit %d, %q", code, errOut)
	}
}

func countRecords(t *testing.T, js string) int {
	t.Helper()
	var v struct{ Records []state.Record }
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("state list -o json: %v", err)
	}
	return len(v.Records)
}

// apply waits a bounded time for the leadership a daemon holds, then fails
// naming the holder, and makes no change.
func TestApplyRefusedWhileAnotherLeads(t *testing.T) {
	srv := sharedEtcd(t)
	t.Chdir(t.TempDir())
	docs := writeDocs(t)
	prefix := "/held-test"
	sess, err := concurrency.NewSession(srv.Client(t), concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	// Lead the documents' provider as a daemon replica would.
	for _, p := range []string{"tencent-gz"} {
		el := concurrency.NewElection(sess, prefix+"/leader/"+p)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := el.Campaign(ctx, "recordctl run on node-b (pid 42)"); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	code, _, errOut := recordctl(t, "--emulate", "--state", "etcd://"+srv.Endpoint+prefix, "--leader-wait", "300ms", "apply", "--auto-approve", docs)
	if code != 1 || !strings.Contains(errOut, "node-b (pid 42)") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the holder", code, errOut)
	}
}
