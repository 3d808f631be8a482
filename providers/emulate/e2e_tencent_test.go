package emulate_test

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/tencent"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/spec"
)

func tcStream(name string) spec.Stream {
	return spec.Stream{Domain: "push.example.com", App: "live", Name: name}
}

func tcStreamYAML(name string) string {
	return "{domain: push.example.com, app: live, name: " + name + "}"
}

// eveningCron is a cron Recording in Shanghai time: 19:00 CST is 11:00Z.
const eveningCron = `---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: evening}
spec:
  provider: tc
  stream: {domain: push.example.com, app: live, name: evening}
  schedule: {cron: "0 19 * * *", duration: 1h30m, timezone: Asia/Shanghai}
  options: {templateId: 7}
`

// taskSet renders the emulator's live tasks as sorted "stream start-end" lines.
func taskSet(tasks []tencentemu.EmuTask) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.Stream.Name+" "+t.StartTime.UTC().Format(time.RFC3339)+" "+t.EndTime.UTC().Format(time.RFC3339))
	}
	sort.Strings(out)
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got  %s\n want %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// tencentBaseline writes news (one window soon, one tomorrow within the
// lookahead, one beyond it), sport (open now) and evening (cron, Shanghai).
func tencentBaseline(w *world) {
	w.write("tencent.yaml",
		recDoc("news", "tc", tcStreamYAML("news"), "",
			win("2026-11-21T11:00:00Z", "2026-11-21T12:30:00Z"),
			win("2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"),
			win("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"))+
			recDoc("sport", "tc", tcStreamYAML("sport"), "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"))+
			eveningCron)
}

// Apply a directory: the emulator holds exactly the windows within the
// lookahead with their StartTime/EndTime, and a plan right after shows no
// changes; applying again calls nothing.
func TestTencentApplyCreatesExactlyTheWindowsAndConverges(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	tencentBaseline(w)
	p, res := w.mustReconcile()
	if res.Created != 4 || p.Summary.Create != 4 {
		t.Fatalf("first apply: plan %s, result %s", actions(p), res.Summary())
	}
	sameLines(t, "tasks at the emulator", taskSet(liveTencent(w.tencent())), []string{
		"news 2026-11-21T11:00:00Z 2026-11-21T12:30:00Z",
		"news 2026-11-22T09:00:00Z 2026-11-22T10:00:00Z",
		"sport 2026-11-21T10:30:00Z 2026-11-21T11:00:00Z", // open window: starts now
		"evening 2026-11-21T11:00:00Z 2026-11-21T12:30:00Z",
	})
	for _, tk := range w.tencent().Tasks() {
		if tk.Stream.Name == "evening" && tk.TemplateID != 7 {
			t.Errorf("evening task lost options.templateId: %+v", tk)
		}
	}
	w.assertConverged("apply then plan at the same instant")
	creates := w.tencent().Calls()["CreateRecordTask"]
	if p, res := w.mustReconcile(); p.HasChanges() || res.Created != 0 {
		t.Fatalf("re-apply: %s", actions(p))
	}
	if got := w.tencent().Calls()["CreateRecordTask"]; got != creates {
		t.Fatalf("re-apply called CreateRecordTask %d more times", got-creates)
	}
	// Every live state record points at the task the emulator holds for it.
	byID := map[string]tencentemu.EmuTask{}
	for _, tk := range w.tencent().Tasks() {
		byID[tk.TaskID] = tk
	}
	recs := w.live()
	if len(recs) != 4 {
		t.Fatalf("state holds %d live records, want 4", len(recs))
	}
	for key, r := range recs {
		if r.Task == nil {
			t.Fatalf("%s: no task in state", key)
		}
		if tk, ok := byID[r.Task.ID]; !ok || tk.Stream != r.Stream || !tk.EndTime.Equal(r.End) {
			t.Errorf("%s: state task %s does not match the emulator's %+v", key, r.Task.ID, tk)
		}
	}
}

// Editing the documents produces the right deletes (scheduled tasks),
// stops (running ones) and creates, and leaves the rest alone.
func TestTencentScheduleEditDeletesStopsCreates(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	tencentBaseline(w)
	w.mustReconcile()
	before := map[string]tencentemu.EmuTask{}
	for _, tk := range w.tencent().Tasks() {
		before[tk.Stream.Name+" "+tk.StartTime.Format(time.RFC3339)] = tk
	}
	// news' first window moves to 13:00, sport is cut short to 10:45,
	// evening is removed; news' window tomorrow is unchanged.
	w.write("tencent.yaml",
		recDoc("news", "tc", tcStreamYAML("news"), "",
			win("2026-11-21T13:00:00Z", "2026-11-21T14:00:00Z"),
			win("2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"))+
			recDoc("sport", "tc", tcStreamYAML("sport"), "", win("2026-11-21T10:00:00Z", "2026-11-21T10:45:00Z")))
	p := w.plan()
	got := strings.Split(actions(p), "; ")
	sameLines(t, "plan after the edit", sortedCopy(got), []string{
		"delete news@2026-11-21T11:00:00Z",
		"delete evening@2026-11-21T11:00:00Z",
		"stop sport@2026-11-21T10:00:00Z",
		"create news@2026-11-21T13:00:00Z",
		"create sport@2026-11-21T10:00:00Z",
	})
	var text bytes.Buffer
	if err := reconcile.WriteText(&text, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Plan: 2 to create, 1 to stop, 2 to delete, 0 to adopt.") {
		t.Errorf("plan text summary:\n%s", text.String())
	}
	_, res := w.mustReconcile()
	if res.Created != 2 || res.Stopped != 1 || res.Deleted != 2 {
		t.Fatalf("apply: %s", res.Summary())
	}
	after := map[string]tencentemu.EmuTask{}
	for _, tk := range w.tencent().Tasks() {
		after[tk.TaskID] = tk
	}
	check := func(key string, want providers.Status) {
		t.Helper()
		old, ok := before[key]
		if !ok {
			t.Fatalf("no task %s before the edit", key)
		}
		if got := after[old.TaskID].Status; got != want {
			t.Errorf("%s (task %s): status %s, want %s", key, old.TaskID, got, want)
		}
	}
	check("news 2026-11-21T11:00:00Z", providers.StatusGone)
	check("evening 2026-11-21T11:00:00Z", providers.StatusGone)
	check("sport 2026-11-21T10:30:00Z", providers.StatusStopped)
	check("news 2026-11-22T09:00:00Z", providers.StatusScheduled) // untouched, same TaskId
	sameLines(t, "tasks after the edit", taskSet(liveTencent(w.tencent())), []string{
		"news 2026-11-21T13:00:00Z 2026-11-21T14:00:00Z",
		"news 2026-11-22T09:00:00Z 2026-11-22T10:00:00Z",
		"sport 2026-11-21T10:30:00Z 2026-11-21T10:45:00Z",
	})
	w.assertConverged("after the edit")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// A 30-hour window becomes two chained tasks, both created in the apply
// that first sees the window (it is scheduled whole); plans between and
// after the links stay empty.
func TestTencentLongWindowBecomesChainedTasks(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("tencent.yaml", recDoc("marathon", "tc", tcStreamYAML("marathon"), "",
		win("2026-11-22T00:00:00Z", "2026-11-23T06:00:00Z")))
	w.mustReconcile()
	sameLines(t, "the window is scheduled whole", taskSet(liveTencent(w.tencent())), []string{
		"marathon 2026-11-22T00:00:00Z 2026-11-23T00:00:00Z",
		"marathon 2026-11-23T00:00:00Z 2026-11-23T06:00:00Z",
	})
	w.assertConverged("with both links")
	w.clk.Set(ts("2026-11-22T01:00:00Z"))
	if _, res := w.mustReconcile(); res.Created != 0 {
		t.Fatalf("nothing left to create: %s", res.Summary())
	}
	w.clk.Set(ts("2026-11-23T00:30:00Z"))
	w.mustReconcile()
	w.assertConverged("after the first link finished")
	if n := w.tencent().Calls()["CreateRecordTask"]; n != 2 {
		t.Fatalf("CreateRecordTask called %d times, want 2", n)
	}
}

// A crash at any state write of an apply (after CreateRecordTask
// succeeded and before the result reached the state included): the next
// apply (a new process) adopts the task, no duplicate.
func TestTencentCrashAtEveryWriteIsAdoptedNotDuplicated(t *testing.T) {
	t.Parallel() // slow (many worlds, timeouts): overlap with the rest
	crashAtEveryWrite(t, func(t *testing.T) *world {
		w := newWorld(t, "2026-11-21T10:30:00Z")
		tencentBaseline(w)
		return w
	}, func(w *world, at string) {
		perWindow := map[string]int{}
		for _, tk := range liveTencent(w.tencent()) {
			perWindow[tk.Stream.Name+" "+tk.EndTime.Format(time.RFC3339)]++
		}
		if len(perWindow) != 4 {
			w.t.Errorf("%s: windows with a task: %v, want 4", at, perWindow)
		}
		for k, n := range perWindow {
			if n != 1 {
				w.t.Errorf("%s: window %s has %d tasks", at, k, n)
			}
		}
	})
}

// With 30% injected InternalErrors, bursts of throttling and the
// documented 20 requests/s enforced, repeated applies converge to exactly
// one task per window.
func TestTencentFaultsConvergeToOneTaskPerWindow(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.tencent().SetRateLimit(tencent.RateLimit)
	var docs strings.Builder
	want := []string{}
	for i, name := range []string{"a", "b", "c", "d", "e", "f"} {
		s := ts("2026-11-21T11:00:00Z").Add(time.Duration(i) * time.Hour)
		docs.WriteString(recDoc("rec-"+name, "tc", tcStreamYAML(name), "", window{s, s.Add(time.Hour)}))
		want = append(want, name+" "+s.Format(time.RFC3339)+" "+s.Add(time.Hour).Format(time.RFC3339))
	}
	w.write("tencent.yaml", docs.String())
	w.faults.Set(0.3, 0, false)
	troubled := 0
	for round := 0; round < 12; round++ {
		w.faults.Set(0.3, 0, round%4 == 1) // every fourth round the service throttles everything
		p, res := w.reconcile()
		if res.Err != nil || len(p.Errors) > 0 {
			troubled++
		}
		w.clk.Add(time.Minute)
		if got := taskSet(liveTencent(w.tencent())); len(got) > len(want) {
			t.Fatalf("round %d: more tasks than windows: %v", round, got)
		}
	}
	t.Logf("%d of 12 rounds saw failures; calls %v", troubled, w.tencent().Calls())
	if troubled == 0 {
		t.Fatal("no round saw a fault: the injection is not reaching the client")
	}
	w.faults.Set(0, 0, false)
	w.mustReconcile()
	sameLines(t, "tasks after faulty applies", taskSet(liveTencent(w.tencent())), want)
	if n := len(w.tencent().Tasks()); n != len(want) {
		t.Errorf("the emulator holds %d tasks in all (deleted/stopped included), want %d", n, len(want))
	}
	w.assertConverged("after the faults stopped")
}

// A task someone else created is listed as unmanaged and never touched,
// even when its stream's windows change around it.
func TestTencentUnmanagedTaskIsListedAndUntouched(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	tencentBaseline(w)
	foreign := w.tencent().InjectTask(tcStream("news"), ts("2026-11-21T15:00:00Z"), ts("2026-11-21T16:00:00Z"))
	p, _ := w.mustReconcile()
	found := false
	for _, u := range p.Unmanaged {
		found = found || u.Task.ID == foreign.TaskID
	}
	if !found {
		t.Fatalf("the injected task %s is not listed as unmanaged: %+v", foreign.TaskID, p.Unmanaged)
	}
	var text bytes.Buffer
	_ = reconcile.WriteText(&text, w.plan())
	if !strings.Contains(text.String(), foreign.TaskID) || !strings.Contains(text.String(), "Unmanaged") {
		t.Errorf("plan text does not list the unmanaged task:\n%s", text.String())
	}
	// Remove every recording of the stream: still untouched.
	w.write("tencent.yaml", recDoc("sport", "tc", tcStreamYAML("sport"), "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	w.mustReconcile()
	got, ok := w.tencent().Task(foreign.TaskID)
	if !ok || got.Deleted || !got.Stopped.IsZero() || got.Status != providers.StatusScheduled {
		t.Fatalf("unmanaged task was touched: %+v", got)
	}
	for _, r := range w.snapshot().Records {
		if r.Task != nil && r.Task.ID == foreign.TaskID {
			t.Fatalf("the unmanaged task entered the state: %+v", r)
		}
	}
}

// At most 3 tasks of one stream may overlap: with three foreign tasks over
// a window, the plan reports the limit at the Recording's position and
// CreateRecordTask is never called (it would fail with
// LimitExceeded.MaximumRunningTask).
func TestTencentOverlapLimitIsCheckedBeforeCalling(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("tencent.yaml", recDoc("news", "tc", tcStreamYAML("news"), "", win("2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z")))
	for i := 0; i < 3; i++ {
		w.tencent().InjectTask(tcStream("news"), ts("2026-11-21T11:30:00Z"), ts("2026-11-21T12:30:00Z").Add(time.Duration(i)*time.Minute))
	}
	p, res := w.reconcile()
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0], "tencent.yaml:") || !strings.Contains(p.Errors[0], "at most 3") {
		t.Fatalf("plan errors %q, want one naming the file and the limit of 3", p.Errors)
	}
	if res.Created != 0 || w.tencent().Calls()["CreateRecordTask"] != 0 {
		t.Fatalf("a create was attempted past the limit: %s, calls %v", outcomes(res), w.tencent().Calls())
	}
	if len(p.Unmanaged) != 3 {
		t.Fatalf("unmanaged %d, want the 3 foreign tasks", len(p.Unmanaged))
	}
}

// A window that is already open when the broadcaster starts pushing: the
// create inside Tencent's 3 s settling time fails with InternalError, is
// retried after a backoff, and leaves exactly one task.
func TestTencentCreateRightAfterPushIsRetried(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("tencent.yaml", recDoc("sport", "tc", tcStreamYAML("sport"), "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	w.tencent().Push(tcStream("sport"))
	// Backoffs pass on the shared simulated clock; the budget must outlast
	// the few attempts the 3 s take.
	w.eng.Exec.RetryBudget = time.Minute
	_, res := w.mustReconcile()
	if res.Created != 1 {
		t.Fatalf("created %d, want 1: %+v", res.Created, res.Outcomes)
	}
	if n := w.tencent().Calls()["CreateRecordTask"]; n < 2 {
		t.Fatalf("%d CreateRecordTask calls: the first one, inside the 3 s after the push, should have failed", n)
	}
	if got := liveTencent(w.tencent()); len(got) != 1 || got[0].Stream.Name != "sport" {
		t.Fatalf("live tasks %v, want one for sport", taskSet(got))
	}
	if !strings.Contains(w.log.String(), tencent.CodeInternalError) {
		t.Errorf("the failed first attempt is not logged:\n%s", w.log.String())
	}
	w.assertConverged("after the retry")
}

// A CreateRecordTask answered with InternalError although the task was
// created: the retry lists first (Tencent can list) and adopts the task
// instead of creating a second one.
func TestTencentCreateThatFailedAfterActingIsNotDuplicated(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("tencent.yaml", recDoc("sport", "tc", tcStreamYAML("sport"), "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	w.tencent().FailAfterNext("CreateRecordTask", tencent.CodeInternalError)
	_, res := w.mustReconcile()
	if res.Created+res.Adopted != 1 {
		t.Fatalf("created %d, adopted %d; want the one task", res.Created, res.Adopted)
	}
	if n := w.tencent().Calls()["CreateRecordTask"]; n != 1 {
		t.Fatalf("%d CreateRecordTask calls; the retry should have found the task instead", n)
	}
	if got := liveTencent(w.tencent()); len(got) != 1 {
		t.Fatalf("live tasks %v, want one", taskSet(got))
	}
	w.assertConverged("after the adoption")
}
