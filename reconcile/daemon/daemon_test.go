package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// An edited file leads to the corresponding provider calls, with no
// resync or edge in between (resync is an hour away).
func TestEditSpecFileCallsProvider(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	h.waitFor("create of a", func() bool { return len(h.txCalls.find("CreateRecordTask", "a", time.Time{})) == 1 })

	t0 := time.Now()
	h.write("b.yaml", rec("b", "tx", "b", start, start.Add(30*time.Minute)))
	h.waitFor("create of b after the edit", func() bool { return len(h.txCalls.find("CreateRecordTask", "b", t0)) == 1 })

	// Moving a's window replaces its scheduled task.
	t1 := time.Now()
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(2*time.Hour)))
	// The spy sees a call as it arrives: wait for the emulator's result too.
	h.waitFor("a rescheduled", func() bool {
		return len(h.txCalls.find("DeleteRecordTask", "", t1)) == 1 && len(h.txCalls.find("CreateRecordTask", "a", t1)) == 1 &&
			h.liveTx()["a"] == 1
	})
	if got := h.liveTx(); got["a"] != 1 || got["b"] != 1 {
		t.Fatalf("live tasks by stream = %v, want one each for a and b", got)
	}
	if code, body := h.readyz(); code != http.StatusOK {
		t.Fatalf("readyz = %d %s", code, body)
	}
}

// A file replaced with broken YAML keeps its last valid documents in force:
// nothing is stopped or deleted, /readyz names the file and line; fixing
// it makes the daemon ready again.
func TestBrokenFileKeepsLastValidVersion(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(-time.Minute) // open now: the task is recording
	good := rec("a", "tx", "a", start, start.Add(time.Hour))
	h.write("a.yaml", good)
	h.write("b.yaml", rec("b", "tx", "b", start, start.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	h.waitFor("both created", func() bool { return len(h.txCalls.find("CreateRecordTask", "", time.Time{})) == 2 })

	n := h.reportCount()
	h.write("a.yaml", "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: a\nspec: [\n")
	h.waitReconcile(n + 1) // a change wakes both providers' workers
	code, body := h.readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "a.yaml:") || !strings.Contains(body, "last valid version") {
		t.Fatalf("readyz = %d %q; want 503 naming a.yaml:LINE and its last valid version", code, body)
	}
	if docs := h.d.Documents(); len(docs.Stale) != 1 || docs.Stale[0] != "a.yaml" || len(docs.Set.Recordings) != 2 {
		t.Fatalf("stale = %v, recordings = %d; want a.yaml stale and both recordings in force", docs.Stale, len(docs.Set.Recordings))
	}
	// A Build-level error (a duplicate name) is charged to its file, which
	// also keeps its last valid version.
	n = h.reportCount()
	h.write("a.yaml", rec("b", "tx", "a", start, start.Add(time.Hour)))
	h.waitReconcile(n + 1) // a change wakes both providers' workers
	if _, body := h.readyz(); !strings.Contains(body, "a.yaml:3:") || !strings.Contains(body, "duplicate") {
		t.Fatalf("readyz = %q; want the duplicate name at a.yaml:3", body)
	}
	if got := h.txCalls.find("StopRecordTask", "", time.Time{}); len(got) != 0 {
		t.Fatalf("%d stop calls while a file was broken", len(got))
	}
	if got := h.liveTx(); got["a"] != 1 || got["b"] != 1 {
		t.Fatalf("live tasks = %v", got)
	}

	n = h.reportCount()
	h.write("a.yaml", good)
	h.waitReconcile(n + 1) // a change wakes both providers' workers
	if code, body := h.readyz(); code != http.StatusOK {
		t.Fatalf("after the fix: readyz = %d %q", code, body)
	}
	if got := h.txCalls.find("StopRecordTask", "", time.Time{}); len(got) != 0 {
		t.Fatalf("%d stop calls", len(got))
	}
	if !strings.Contains(h.logs.String(), "at=a.yaml:") {
		t.Errorf("the log does not name the broken file's position")
	}
}

// Removing every Recording file is refused by the mass-stop guard until
// the documents come back; a single removal among several goes ahead.
func TestMassStopGuard(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	for _, n := range []string{"a", "b", "c"} {
		h.write(n+".yaml", rec(n, "tx", n, start, start.Add(time.Hour)))
	}
	h.start()
	h.waitReconcile(0)
	h.waitFor("three created", func() bool { return len(h.liveTx()) == 3 })

	n := h.reportCount()
	for _, f := range []string{"a", "b", "c"} {
		h.remove(f + ".yaml")
	}
	var r Report
	h.waitFor("a tx plan with the three removals", func() bool { // they may arrive in more than one reload
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, x := range h.reports[n:] {
			if x.Provider == "tx" && x.Plan != nil && len(x.Plan.Actions) >= 3 {
				r = x
				return true
			}
		}
		return false
	})
	if r.HeldKind != HoldMassStop || len(r.Held) != 3 {
		t.Fatalf("held %d (%s), want 3 held by the mass-stop guard", len(r.Held), r.HeldKind)
	}
	if code, body := h.readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "--allow-mass-stop") {
		t.Fatalf("readyz = %d %q", code, body)
	}
	if got := h.txCalls.find("DeleteRecordTask", "", time.Time{}); len(got) != 0 {
		t.Fatalf("%d deletes despite the guard", len(got))
	}

	// The documents come back: ready again, nothing was touched.
	n = h.reportCount()
	for _, f := range []string{"a", "b", "c"} {
		h.write(f+".yaml", rec(f, "tx", f, start, start.Add(time.Hour)))
	}
	h.waitFor("ready again", func() bool { code, _ := h.readyz(); return code == http.StatusOK && h.reportCount() > n })
	if got := h.liveTx(); len(got) != 3 || len(h.txCalls.find("CreateRecordTask", "", time.Time{})) != 3 {
		t.Fatalf("live = %v, creates = %d; want the three original tasks", got, len(h.txCalls.find("CreateRecordTask", "", time.Time{})))
	}

	// One removal out of three is not a mass stop.
	h.remove("a.yaml")
	h.waitFor("a deleted", func() bool {
		return len(h.txCalls.find("DeleteRecordTask", "", time.Time{})) == 1 && h.liveTx()["a"] == 0
	})
	if got := h.liveTx(); got["a"] != 0 || got["b"] != 1 || got["c"] != 1 {
		t.Fatalf("live = %v", got)
	}
}

// With AllowMassStop, removing every Recording stops (deletes) the tasks.
func TestAllowMassStop(t *testing.T) {
	h := newHarness(t)
	h.cfg.AllowMassStop = true
	h.providers()
	open := secs(time.Now()).Add(-time.Minute)
	h.write("a.yaml", rec("a", "tx", "a", open, open.Add(time.Hour)))
	h.write("b.yaml", rec("b", "tx", "b", open.Add(2*time.Hour), open.Add(3*time.Hour)))
	h.write("c.yaml", rec("c", "ali", "c", open, open.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	h.waitFor("created", func() bool {
		return len(h.liveTx()) == 2 && len(h.aliCalls.find("RealTimeRecordCommand start", "c", time.Time{})) >= 1
	})
	h.remove("a.yaml")
	h.remove("b.yaml")
	h.remove("c.yaml")
	h.waitFor("stops and deletes", func() bool {
		return len(h.txCalls.find("StopRecordTask", "", time.Time{})) == 1 &&
			len(h.txCalls.find("DeleteRecordTask", "", time.Time{})) == 1 &&
			len(h.aliCalls.find("RealTimeRecordCommand stop", "c", time.Time{})) == 1
	})
	if got := h.liveTx(); len(got) != 0 {
		t.Fatalf("live = %v", got)
	}
}

// Removing the Provider document too leaves its tasks alone (the engine
// does not act for a Provider it no longer knows) and is reported.
func TestRemoveEveryFile(t *testing.T) {
	h := newHarness(t)
	h.providers()
	open := secs(time.Now()).Add(-time.Minute)
	h.write("a.yaml", rec("a", "tx", "a", open, open.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	h.waitFor("created", func() bool { return len(h.liveTx()) == 1 })
	n := h.reportCount()
	h.remove("a.yaml")
	h.remove("providers.yaml")
	h.waitFor("reconciled with no documents", func() bool {
		return h.reportCount() > n && len(h.d.Documents().Set.Providers) == 0 && h.lastReport().Plan != nil
	})
	if code, body := h.readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "no longer in the documents") {
		t.Fatalf("readyz = %d %q", code, body)
	}
	if len(h.txCalls.find("StopRecordTask", "", time.Time{})) != 0 || len(h.liveTx()) != 1 {
		t.Fatalf("the task was touched")
	}
}

// An editor's atomic save (write a temporary file, rename it over the old
// one) is picked up.
func TestAtomicSave(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	h.waitFor("create of a", func() bool { return len(h.liveTx()) == 1 })

	content := rec("a", "tx", "a", start, start.Add(time.Hour)) + "---\n" + rec("b", "tx", "b", start, start.Add(time.Hour))
	tmp := filepath.Join(h.dir, ".a.yaml.swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("create of b", func() bool { return len(h.txCalls.find("CreateRecordTask", "b", time.Time{})) == 1 })
}

// A Kubernetes ConfigMap update (new hidden folder, `..data` symlink
// renamed over the old one, old folder removed) is picked up.
func TestConfigMapSymlinkSwap(t *testing.T) {
	h := newHarness(t)
	start := secs(time.Now()).Add(time.Hour)
	h.providers()
	mount := func(version, content string) {
		t.Helper()
		d := filepath.Join(h.dir, "..2026_01_01_"+version)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "recordings.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(h.dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(d), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(h.dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	mount("1", rec("a", "tx", "a", start, start.Add(time.Hour)))
	if err := os.Symlink(filepath.Join("..data", "recordings.yaml"), filepath.Join(h.dir, "recordings.yaml")); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitReconcile(0)
	h.waitFor("create of a", func() bool { return len(h.liveTx()) == 1 })

	mount("2", rec("a", "tx", "a", start, start.Add(time.Hour))+"---\n"+rec("b", "tx", "b", start, start.Add(time.Hour)))
	if err := os.RemoveAll(filepath.Join(h.dir, "..2026_01_01_1")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("create of b", func() bool {
		return len(h.txCalls.find("CreateRecordTask", "b", time.Time{})) == 1 && h.liveTx()["b"] == 1
	})
	if got := h.liveTx(); got["a"] != 1 || got["b"] != 1 {
		t.Fatalf("live = %v", got)
	}
}

// A folder created after the start gets its own watch.
func TestNewFolderIsWatched(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.start()
	h.waitReconcile(0)
	if err := os.MkdirAll(filepath.Join(h.dir, "team", "news"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the new folders be watched before the file lands in them
	h.write("team/news/a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	h.waitFor("create of a", func() bool { return len(h.txCalls.find("CreateRecordTask", "a", time.Time{})) == 1 })
	n := h.reportCount()
	h.write("team/news/a.yaml", rec("a", "tx", "a", start, start.Add(2*time.Hour)))
	h.waitReconcile(n)
	h.waitFor("reschedule of a", func() bool { return len(h.txCalls.find("CreateRecordTask", "a", time.Time{})) == 2 })
}

// A command provider's window is started at its start and stopped at its
// end by the window-edge timer alone (resync is an hour away).
func TestWindowEdgesStartAndStop(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(2 * time.Second)
	end := start.Add(time.Second)
	h.write("a.yaml", rec("a", "ali", "a", start, end))
	h.start()
	h.waitReconcile(0)
	if e := h.d.NextEdge(); !e.At.Equal(start) || e.What != "window start" {
		t.Fatalf("next edge = %+v, want the window start %s", e, start)
	}
	h.waitFor("start command", func() bool { return len(h.aliCalls.find("RealTimeRecordCommand start", "a", time.Time{})) >= 1 })
	if c := h.aliCalls.find("RealTimeRecordCommand start", "a", time.Time{})[0]; c.at.Before(start) {
		t.Fatalf("started at %s, before the window start %s", c.at, start)
	}
	h.waitFor("stop command", func() bool { return len(h.aliCalls.find("RealTimeRecordCommand stop", "a", time.Time{})) == 1 })
	if c := h.aliCalls.find("RealTimeRecordCommand stop", "a", time.Time{})[0]; c.at.Before(end) {
		t.Fatalf("stopped at %s, before the window end %s", c.at, end)
	}
	body := scrape(t, h.d)
	if !strings.Contains(body, `recordctl_window_start_lag_seconds_count{provider="ali"} 1`) {
		t.Errorf("window-start lag not measured:\n%s", grep(body, "lag"))
	}
}

// A task stopped by hand while its window is open is recreated at the
// next resync, and the log calls it drift.
func TestResyncRepairsDrift(t *testing.T) {
	h := newHarness(t)
	h.providers()
	open := secs(time.Now()).Add(-time.Minute)
	h.write("a.yaml", rec("a", "tx", "a", open, open.Add(time.Hour)))
	d := h.start()
	h.waitReconcile(0)
	h.waitFor("created", func() bool { return len(h.liveTx()) == 1 })

	docs := d.Documents()
	prov, err := providers.New(docs.Set.Provider("tx"), providers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := h.tx.Tasks()[0]
	if _, err := prov.Stop(context.Background(), providers.Task{ID: task.TaskID, Stream: task.Stream}); err != nil {
		t.Fatal(err)
	}
	n := h.reportCount()
	d.Trigger()
	h.waitReconcile(n)
	h.waitFor("recreated", func() bool {
		return len(h.txCalls.find("CreateRecordTask", "a", time.Time{})) == 2 && h.liveTx()["a"] == 1
	})
	h.waitFor("the drift logged", func() bool { return strings.Contains(h.logs.String(), "drift") })
}

// SIGTERM (ctx cancel) mid-apply: no new action starts, calls under way
// finish and are recorded, nothing is stopped; a restart adopts or keeps
// every task and creates the rest, with no duplicates.
func TestShutdownMidApply(t *testing.T) {
	h := newHarness(t)
	h.providersAt(10) // at 10 requests/s a few creates are in flight at once; the rest wait
	open := secs(time.Now()).Add(-time.Minute)
	var names []string
	for _, n := range []string{"t1", "t2", "t3", "t4", "t5", "t6"} {
		h.write(n+".yaml", rec(n, "tx", n, open, open.Add(time.Hour)))
		names = append(names, n)
	}
	for _, n := range []string{"a1", "a2", "a3", "a4"} {
		h.write(n+".yaml", rec(n, "ali", n, open, open.Add(time.Hour)))
	}
	h.cfg.OnReconcile = nil
	stopped := make(chan struct{})
	var once bool
	hook := func(c call) {
		if c.op != "CreateRecordTask" && c.op != "RealTimeRecordCommand start" {
			return
		}
		h.mu.Lock()
		first := !once && c.op == "CreateRecordTask" // the signal comes while a Tencent create is in flight
		once = once || first
		cancel := h.cancel
		h.mu.Unlock()
		if first {
			cancel()
			close(stopped)
		}
		time.Sleep(100 * time.Millisecond) // still in flight after the signal
	}
	h.txCalls.setHook(hook)
	h.aliCalls.setHook(hook)
	h.start()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("no Tencent create arrived")
	}
	if err := h.stop(); err != nil {
		t.Fatalf("Run = %v, want nil on shutdown", err)
	}
	notStarted, created := 0, 0
	h.mu.Lock()
	for _, r := range h.reports {
		notStarted += r.NotStarted
		if r.Result != nil {
			created += r.Result.Created
		}
	}
	h.mu.Unlock()
	if notStarted == 0 {
		t.Fatalf("every action started after the signal (not started = 0); created %d", created)
	}
	st, err := readState(h.statePath)
	if err != nil {
		t.Fatal(err)
	}
	taskIDs := map[string]bool{}
	for _, rc := range st.Records {
		if rc.Intent != "" || rc.Phase == "pending" {
			t.Fatalf("record %s left with intent %q phase %s", rc.Key, rc.Intent, rc.Phase)
		}
		if rc.Task != nil {
			taskIDs[rc.Task.ID] = true
		}
	}
	for _, tk := range h.tx.Tasks() {
		if !taskIDs[tk.TaskID] {
			t.Fatalf("emulator task %s (%s) is not in the state", tk.TaskID, tk.Stream.Name)
		}
	}
	before := len(h.tx.Tasks())

	h.txCalls.setHook(nil)
	h.aliCalls.setHook(nil)
	h.start()
	h.waitReconcile(0)
	h.waitFor("every window recorded after the restart", func() bool {
		return len(h.liveTx()) == 6 && len(h.aliCalls.find("RealTimeRecordCommand start", "", time.Time{})) >= 4
	})
	h.waitReconcile(0)
	for _, n := range names {
		if got := h.liveTx()[n]; got != 1 {
			t.Fatalf("stream %s has %d live tasks", n, got)
		}
	}
	if len(h.tx.Tasks()) != 6 || before == 0 {
		t.Fatalf("%d tasks in all (%d before the restart); want 6, none recreated", len(h.tx.Tasks()), before)
	}
	if n := len(h.txCalls.find("StopRecordTask", "", time.Time{})) + len(h.aliCalls.find("RealTimeRecordCommand stop", "", time.Time{})); n != 0 {
		t.Fatalf("%d stop calls", n)
	}
	if code, body := h.readyz(); code != http.StatusOK {
		t.Fatalf("readyz = %d %s", code, body)
	}
}

// /healthz, /readyz and /metrics answer on the listener.
func TestHTTPEndpoints(t *testing.T) {
	h := newHarness(t)
	h.cfg.Listen = "127.0.0.1:0"
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	d := h.start()
	h.waitReconcile(0)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("readyz = %d %q", code, body)
	}
	_, m := get("/metrics")
	for _, want := range []string{
		"recordctl_reconcile_duration_seconds_count 2", // one per provider
		`recordctl_actions_total{kind="create",provider="tx",result="created"} 1`,
		`recordctl_provider_requests_total{code="OK",op="create",provider="tx"} 1`,
		`recordctl_provider_requests_total{code="OK",op="list",provider="tx"} 1`,
		`recordctl_managed_tasks{status="scheduled"} 1`,
		"recordctl_spec_errors 0",
		"recordctl_next_window_edge_seconds ",
		"go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	n := h.reportCount()
	h.write("b.yaml", "kind: [\n")
	h.waitReconcile(n)
	_, m = get("/metrics")
	if !strings.Contains(m, "recordctl_spec_errors 1") || !strings.Contains(m, "recordctl_ready 0") {
		t.Errorf("after a broken file: %s", grep(m, "recordctl_spec_errors|recordctl_ready"))
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "b.yaml:") {
		t.Fatalf("readyz = %d %q", code, body)
	}
}

func scrape(t *testing.T, d *Daemon) string {
	t.Helper()
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func grep(s, words string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, w := range strings.Split(words, "|") {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// An edit wakes only the workers of the providers whose documents it
// changed: editing an Alibaba recording leaves the Tencent worker's pass
// (in a large fleet, a long observation) undisturbed.
func TestEditWakesOnlyItsProvider(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	h.write("b.yaml", rec("b", "ali", "b", start, start.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	changes := func(provider string) int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, r := range h.reports {
			if r.Provider == provider && r.Trigger == "change" {
				n++
			}
		}
		return n
	}
	h.write("b.yaml", rec("b", "ali", "b", start, start.Add(2*time.Hour)))
	h.waitFor("ali's reconcile for the edit", func() bool { return changes("ali") == 1 })
	// A Tencent edit now: had the first edit woken tx too, its reconcile
	// for that edit would come before this one's.
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(2*time.Hour)))
	h.waitFor("tx's reconcile for its edit", func() bool { return changes("tx") >= 1 })
	h.waitFor("a rescheduled", func() bool {
		return h.liveTx()["a"] == 1 && len(h.txCalls.find("DeleteRecordTask", "", time.Time{})) == 1
	})
	if n, m := changes("tx"), changes("ali"); n != 1 || m != 1 {
		t.Errorf("reconciles for edits: tx %d, ali %d; want one each (each edit wakes its own provider only)", n, m)
	}
}
