package emulate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile"
)

// A scheduling provider's start reconcile does what is due (pieces opening
// within minutes) before its first, possibly long, observation. Without an
// observation each such create first asks Tencent for a matching task (one
// stream-filtered query) and adopts it: a fresh state over tasks created
// before it (a lost state, another tool) never yields a second task.
func TestDueFirstOnTencentAdoptsInsteadOfDuplicating(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	w.write("docs.yaml", recDoc("soon", "tc", tcStreamYAML("soon"), "", win("2026-11-21T10:01:00Z", "2026-11-21T10:30:00Z"))+
		recDoc("held", "tc", tcStreamYAML("held"), "", win("2026-11-21T10:01:30Z", "2026-11-21T10:30:00Z"))+
		recDoc("later", "tc", tcStreamYAML("later"), "", win("2026-11-21T15:00:00Z", "2026-11-21T16:00:00Z")))
	// "held" already has its task at Tencent, unknown to this (fresh) state.
	pre := w.tencent().InjectTask(tcStream("held"), ts("2026-11-21T10:01:30Z"), ts("2026-11-21T10:30:00Z"))
	set := w.load()
	// A start reconcile: the due pass (soon, held), then the observation
	// and the rest of the plan (later).
	res, err := w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "tc", At: w.clk.Now(), Set: set, DueFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, o := range res.Outcomes {
		results[o.Action.Recording] = o.Result
	}
	if results["soon"] != "created" || results["held"] != "adopted" {
		t.Fatalf("due pass: %v (want soon created, held adopted)", results)
	}
	per := map[string]int{}
	for _, task := range w.tencent().Tasks() {
		if !task.Deleted {
			per[task.Stream.Name]++
		}
	}
	if per["held"] != 1 || per["soon"] != 1 || per["later"] != 1 {
		t.Fatalf("tasks per stream at Tencent: %v, want one each", per)
	}
	if got := w.live(); got["held@2026-11-21T10:01:30Z"] == nil || got["held@2026-11-21T10:01:30Z"].Task.ID != pre.TaskID {
		t.Fatalf("held is not recorded with the task that existed: %+v", got)
	}
	w.assertConverged("after the start reconcile")
	if strings.Contains(w.log.String(), "result=failed") {
		t.Fatalf("failures in the log:\n%s", w.log.String())
	}
}

// Agora schedules its own status queries (Task.NextCheck): a reconcile
// asks to run again when the earliest is due, not at the next window edge,
// so a start is confirmed within Agora's deadline and no List has to make
// every query at once.
func TestAgoraRequeuesAtItsNextStatusQuery(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	w.write("docs.yaml", recDoc("studio", "ag", "{channel: studio}", agoraOptions, win("2026-11-21T09:00:00Z", "2026-11-21T12:00:00Z")))
	set := w.load()
	at := w.clk.Now()
	if _, err := w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "ag", At: at, Set: set}); err != nil {
		t.Fatal(err)
	}
	// The next reconcile observes the new recorder; its first query is
	// due 5 s after the start, well before the window's end at 12:00.
	w.clk.Add(time.Second)
	res, err := w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "ag", At: w.clk.Now(), Set: set})
	if err != nil {
		t.Fatal(err)
	}
	var next time.Time
	for _, tk := range res.Observed["ag"] {
		if !tk.NextCheck.IsZero() && (next.IsZero() || tk.NextCheck.Before(next)) {
			next = tk.NextCheck
		}
	}
	if next.IsZero() {
		t.Fatalf("no status query scheduled: %+v", res.Observed["ag"])
	}
	if res.RequeueAt.After(next) || res.RequeueAt.Before(w.clk.Now().Add(time.Second)) {
		t.Fatalf("requeue at %s; the next status query is due at %s", res.RequeueAt, next)
	}
}

// Re-asserting open recordings (a start call each) pauses when something
// else waits for the provider (the daemon: an edit), and the next pass
// resumes it: an edit never waits behind hundreds of re-asserts.
func TestReassertYieldsToAWaitingEdit(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	var docs strings.Builder
	for _, n := range []string{"a", "b", "c"} {
		docs.WriteString(recDoc("rec-"+n, "ali", "{domain: push.example.com, app: live, name: "+n+"}", "", win("2026-11-21T09:00:00Z", "2026-11-21T12:00:00Z")))
	}
	w.write("docs.yaml", docs.String())
	set := w.load()
	reasserts := func(res *reconcile.Result) int {
		n := 0
		for _, o := range res.Outcomes {
			if o.Action.Action == "reassert" {
				n++
			}
		}
		return n
	}
	res, err := w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "ali", At: w.clk.Now(), Set: set})
	if err != nil || res.Created != 3 {
		t.Fatalf("starts: %v %+v", err, res)
	}
	waiting := func() bool { return true }
	res, err = w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "ali", At: w.clk.Now(), Set: set, Reassert: true, Yield: waiting})
	if err != nil || reasserts(res) != 0 {
		t.Fatalf("with an edit waiting: %d re-asserts, err %v", reasserts(res), err)
	}
	res, err = w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "ali", At: w.clk.Now(), Set: set, Reassert: true})
	if err != nil || reasserts(res) != 3 {
		t.Fatalf("the next pass: %d re-asserts, want 3 (err %v)", reasserts(res), err)
	}
}

// A reconcile whose observation is interrupted (the daemon: an edit or an
// edge is waiting) has still done its due work, plans nothing more, and
// asks to run again at once.
func TestInterruptAbandonsTheObservationNotTheDueWork(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	w.write("docs.yaml", recDoc("soon", "tc", tcStreamYAML("soon"), "", win("2026-11-21T10:01:00Z", "2026-11-21T10:30:00Z"))+
		recDoc("later", "tc", tcStreamYAML("later"), "", win("2026-11-21T15:00:00Z", "2026-11-21T16:00:00Z")))
	set := w.load()
	intr := make(chan struct{})
	close(intr) // something is already waiting
	at := w.clk.Now()
	res, err := w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "tc", At: at, Set: set, DueFirst: true, Interrupt: intr})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || !res.RequeueAt.Equal(at) || res.Created != 1 {
		t.Fatalf("interrupted %v, requeue %s (at %s), created %d; want the due create only, due again at once", res.Interrupted, res.RequeueAt, at, res.Created)
	}
	// The next, uninterrupted pass does the rest.
	res, err = w.eng.Reconcile(context.Background(), reconcile.Request{Provider: "tc", At: w.clk.Now(), Set: set, DueFirst: true})
	if err != nil || res.Interrupted || res.Created != 1 {
		t.Fatalf("next pass: %v interrupted %v created %d", err, res.Interrupted, res.Created)
	}
	w.assertConverged("after both passes")
}
