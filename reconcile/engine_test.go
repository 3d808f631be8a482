package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/statetest"
	"github.com/recordctl/recordctl/spec"
)

// world is a test harness: documents, fake providers on a shared clock, and a real state store.
type world struct {
	t     *testing.T
	clk   clocktest.Sim
	set   *spec.Set
	sched *fake // provider "sched" (type fakesched)
	cmd   *fake // provider "cmd" (type fakecmd)
	path  string
	store *state.Local
	eng   *Engine
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	newsStream  = spec.Stream{Domain: "push.example.com", App: "live", Name: "news"}
	sportStream = spec.Stream{Domain: "push.example.com", App: "live", Name: "sport"}
)

func newWorld(t *testing.T, now string) *world {
	w := &world{t: t, clk: clocktest.NewSim(ts(now)), path: filepath.Join(t.TempDir(), "state")}
	clock := w.clk.Now
	w.sched, w.cmd = newFake(true, clock), newFake(false, clock)
	w.set = &spec.Set{Providers: []*spec.Provider{
		{Metadata: spec.Metadata{Name: "cmd"}, Spec: spec.ProviderSpec{Type: "fakecmd"}},
		{Metadata: spec.Metadata{Name: "sched"}, Spec: spec.ProviderSpec{Type: "fakesched"}},
	}}
	w.open()
	return w
}

// open (re)starts the "process": a fresh engine on the same state file.
func (w *world) open() {
	if w.store != nil {
		w.store.Close()
	}
	st, err := state.Open(w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	w.store = st
	w.t.Cleanup(func() { st.Close() })
	w.eng = &Engine{Store: st, Clock: w.clk,
		Caps: func(typ string) providers.Capabilities {
			if typ == "fakesched" {
				return schedCaps
			}
			return cmdCaps
		},
		Factory: func(p *spec.Provider, _ providers.Options) (providers.Provider, error) {
			if p.Spec.Type == "fakesched" {
				return w.sched, nil
			}
			return w.cmd, nil
		},
	}
}

func (w *world) rec(name, prov string, s spec.Stream, cron string, d time.Duration) *spec.Recording {
	r := &spec.Recording{Pos: spec.Pos{File: "recordings.yaml", Line: 10 + len(w.set.Recordings), Col: 1},
		Metadata: spec.Metadata{Name: name},
		Spec: spec.RecordingSpec{Provider: prov, Stream: s,
			Schedule: &spec.Schedule{Cron: cron, Duration: d, Location: time.UTC}}}
	w.set.Recordings = append(w.set.Recordings, r)
	return r
}

func (w *world) plan() *Plan {
	w.t.Helper()
	p, err := w.eng.Plan(context.Background(), w.set, w.clk.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) apply() (*Plan, *Result) {
	w.t.Helper()
	p := w.plan()
	res, err := w.eng.Apply(context.Background(), w.set, p)
	if err != nil {
		w.t.Fatal(err)
	}
	return p, res
}

func kinds(p *Plan) string {
	var b []string
	for _, a := range p.Actions {
		b = append(b, string(a.Action)+" "+a.Key)
	}
	return strings.Join(b, "; ")
}

func TestApplyThenPlanConverges(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("news", "sched", newsStream, "0 11 * * *", 90*time.Minute) // future, within lookahead
	w.rec("sport", "sched", sportStream, "0 10 21 11 *", time.Hour)  // open now
	w.rec("radio", "cmd", spec.Stream{Domain: "d", App: "a", Name: "radio"}, "0 10 * * *", time.Hour)
	p, res := w.apply()
	if p.Summary.Create != 3 || res.Created != 3 || res.Err != nil {
		t.Fatalf("first apply: %s; result %+v", kinds(p), res)
	}
	if w.cmd.calls["create"] != 1 {
		t.Fatalf("command provider start calls = %d (re-assert must skip a task created in the same run)", w.cmd.calls["create"])
	}
	if got := w.plan(); got.HasChanges() {
		t.Fatalf("apply then plan at the same instant shows changes: %s", kinds(got))
	}
	if _, res := w.apply(); res.Created+res.Stopped+res.Deleted != 0 {
		t.Fatalf("re-apply was not a no-op: %+v", res)
	}
	if n := len(w.sched.live(newsStream)); n != 1 {
		t.Fatalf("news has %d tasks, want 1", n)
	}
	if n := len(w.cmd.live(spec.Stream{Domain: "d", App: "a", Name: "radio"})); n != 1 {
		t.Fatalf("radio has %d recordings, want 1", n)
	}
}

// A crash at any state write of an apply (before the write lands, or
// after it landed but before the caller heard) is recovered on restart by
// adopting, never by a second task. The loop covers every write n.
func TestCrashAtEveryWriteAdoptsInsteadOfDuplicating(t *testing.T) {
	for _, prov := range []string{"sched", "cmd"} {
		for _, mode := range []statetest.Mode{statetest.BeforeWrite, statetest.AfterWrite} {
			for n := 1; ; n++ {
				w := newWorld(t, "2026-11-21T10:30:00Z")
				w.rec("news", prov, newsStream, "0 10 21 11 *", time.Hour)
				w.rec("sport", prov, sportStream, "0 10 21 11 *", time.Hour)
				faulty := statetest.FailAt(w.store, n, mode)
				w.eng.Store = faulty
				p := w.plan()
				_, err := w.eng.Apply(context.Background(), w.set, p)
				if !faulty.Crashed() {
					if err != nil {
						t.Fatalf("%s %s n=%d: apply without a crash failed: %v", prov, mode, n, err)
					}
					if n == 1 {
						t.Fatalf("%s: the apply made no state write", prov)
					}
					break // every write point is covered
				}
				if !state.IsFenced(err) {
					t.Fatalf("%s %s n=%d: the crash must abort the apply with the store's refusal, got %v", prov, mode, n, err)
				}
				w.open() // restart on the same state file
				w.clk.Step(10 * time.Second)
				p2, res := w.apply()
				if res.Err != nil {
					t.Fatalf("%s %s n=%d: %v", prov, mode, n, res.Err)
				}
				fk := w.sched
				if prov == "cmd" {
					fk = w.cmd
				}
				for _, s := range []spec.Stream{newsStream, sportStream} {
					if got := len(fk.live(s)); got != 1 {
						t.Fatalf("%s %s n=%d: after restart %s has %d tasks, want exactly 1 (plan: %s)", prov, mode, n, s.Name, got, kinds(p2))
					}
				}
				if got := w.plan(); got.HasChanges() {
					t.Fatalf("%s %s n=%d: not converged after recovery: %s", prov, mode, n, kinds(got))
				}
			}
		}
	}
}

func TestScheduleEditsProduceStopsDeletesCreates(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	news := w.rec("news", "sched", newsStream, "0 12 21 11 *", time.Hour)    // scheduled
	sport := w.rec("sport", "sched", sportStream, "0 10 21 11 *", time.Hour) // running
	w.apply()
	// Move news to 13:00 (delete the scheduled task, create a new one) and
	// cut sport short to 45 minutes (stop the running task, create one to the new end).
	news.Spec.Schedule.Cron = "0 13 21 11 *"
	sport.Spec.Schedule.Duration = 45 * time.Minute
	p := w.plan()
	want := map[string]bool{"delete news@2026-11-21T12:00:00Z": true, "stop sport@2026-11-21T10:00:00Z": true,
		"create news@2026-11-21T13:00:00Z": true, "create sport@2026-11-21T10:00:00Z": true}
	if len(p.Actions) != len(want) {
		t.Fatalf("plan: %s", kinds(p))
	}
	for _, a := range p.Actions {
		if !want[string(a.Action)+" "+a.Key] {
			t.Fatalf("unexpected action %s %s in %s", a.Action, a.Key, kinds(p))
		}
		if a.Action != Create && a.Reason != "schedule changed" {
			t.Fatalf("%s reason = %q", a.Action, a.Reason)
		}
	}
	_, res := w.apply()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := w.plan(); got.HasChanges() {
		t.Fatalf("not converged: %s", kinds(got))
	}
	live := w.sched.live(sportStream)
	if len(live) != 1 || !live[0].End.Equal(ts("2026-11-21T10:45:00Z")) {
		t.Fatalf("sport tasks after edit: %+v", live)
	}
	// Remove news entirely: its scheduled task is deleted, reason says why.
	w.set.Recordings = w.set.Recordings[1:]
	p = w.plan()
	if len(p.Actions) != 1 || p.Actions[0].Action != Delete || p.Actions[0].Reason != "recording removed" || !p.Actions[0].Removed {
		t.Fatalf("removal plan: %s", kinds(p))
	}
}

func TestUnmanagedTasksAreListedNeverTouched(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("news", "sched", newsStream, "0 12 * * *", time.Hour)
	foreign := providers.Task{ID: "someone-elses", Stream: newsStream, Start: ts("2026-11-21T15:00:00Z"), End: ts("2026-11-21T16:00:00Z")}
	w.sched.inject(foreign)
	p, res := w.apply()
	if len(p.Unmanaged) != 1 || p.Unmanaged[0].Task.ID != "someone-elses" {
		t.Fatalf("unmanaged not listed: %+v", p.Unmanaged)
	}
	if res.Err != nil || w.sched.calls["stop"]+w.sched.calls["delete"] != 0 {
		t.Fatalf("an unmanaged task was touched: %+v", w.sched.calls)
	}
	var buf bytes.Buffer
	WriteText(&buf, w.plan())
	if !strings.Contains(buf.String(), "someone-elses") || !strings.Contains(buf.String(), "never touched") {
		t.Fatalf("text plan does not show the unmanaged task:\n%s", buf.String())
	}
}

func TestStalePlanIsRefused(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("news", "sched", newsStream, "0 12 * * *", time.Hour)
	p := w.plan() // made on empty state
	var buf bytes.Buffer
	WriteJSON(&buf, p)
	saved, err := ReadPlan(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.eng.Apply(context.Background(), w.set, saved); err != nil {
		t.Fatalf("first apply of a fresh plan: %v", err)
	}
	if _, err := w.eng.Apply(context.Background(), w.set, saved); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("a plan made on empty state was applied twice: %v", err)
	}
	if n := len(w.sched.live(newsStream)); n != 1 {
		t.Fatalf("tasks = %d", n)
	}
	// Documents changed since the plan: refused too.
	p2 := w.plan()
	w.set.Recordings[0].Spec.Schedule.Duration = 2 * time.Hour
	if _, err := w.eng.Apply(context.Background(), w.set, p2); err == nil || !strings.Contains(err.Error(), "documents changed") {
		t.Fatalf("plan applied to changed documents: %v", err)
	}
}

func TestReadPlanRejectsUnknownMajorVersion(t *testing.T) {
	_, err := ReadPlan(strings.NewReader(`{"format_version":"2","actions":[]}`))
	if err == nil || !strings.Contains(err.Error(), "format_version") {
		t.Fatalf("got %v", err)
	}
	if _, err := ReadPlan(strings.NewReader(`{"format_version":"1.3","actions":[]}`)); err != nil {
		t.Fatalf("minor version rejected: %v", err)
	}
}

func TestLongWindowsAreChained(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	r := w.rec("marathon", "sched", newsStream, "", 0)
	r.Spec.Schedule = nil
	r.Spec.Windows = []spec.Window{{Start: ts("2026-11-21T12:00:00Z"), End: ts("2026-11-22T18:00:00Z")}} // 30 h
	p, res := w.apply()
	if res.Err != nil || kinds(p) != "create marathon@2026-11-21T12:00:00Z; create marathon@2026-11-21T12:00:00Z#1" {
		t.Fatalf("a window entering the desired set is scheduled whole: %s %v", kinds(p), res.Err)
	}
	w.clk.Set(ts("2026-11-22T11:00:00Z"))
	if p, res = w.apply(); res.Err != nil || p.HasChanges() {
		t.Fatalf("nothing left to do: %s %v", kinds(p), res.Err)
	}
	w.clk.Set(ts("2026-11-22T13:00:00Z"))
	live := w.sched.live(newsStream)
	if len(live) != 1 || !live[0].Start.Equal(ts("2026-11-22T12:00:00Z")) || !live[0].End.Equal(ts("2026-11-22T18:00:00Z")) {
		t.Fatalf("chained pieces: %+v", live)
	}
}

func TestOverlapLimitIsAPlanErrorAtTheRecording(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("news", "sched", newsStream, "0 12 * * *", time.Hour)
	for i, id := range []string{"a", "b", "c"} {
		w.sched.inject(providers.Task{ID: id, Stream: newsStream, Start: ts("2026-11-21T11:30:00Z").Add(time.Duration(i) * time.Minute), End: ts("2026-11-21T12:30:00Z")})
	}
	p := w.plan()
	if p.Summary.Create != 0 || len(p.Errors) != 1 {
		t.Fatalf("plan: %s errors %v", kinds(p), p.Errors)
	}
	if !strings.HasPrefix(p.Errors[0], "recordings.yaml:10:1: recording news") || !strings.Contains(p.Errors[0], "at most 3") {
		t.Fatalf("error does not point at the recording: %s", p.Errors[0])
	}
}

func TestCommandProviderLifecycle(t *testing.T) {
	w := newWorld(t, "2026-11-21T09:59:00Z")
	radio := spec.Stream{Domain: "d", App: "a", Name: "radio"}
	w.rec("radio", "cmd", radio, "0 10 * * *", time.Hour)
	if p, _ := w.apply(); p.HasChanges() {
		t.Fatalf("command providers cannot schedule ahead: %s", kinds(p))
	}
	// Window opens, stream not pushed yet: waiting, then recorded once pushed.
	w.clk.Set(ts("2026-11-21T10:00:00Z"))
	w.cmd.offline[radio] = true
	_, res := w.apply()
	if res.Waiting != 1 || res.Err != nil {
		t.Fatalf("offline stream: %+v", res)
	}
	p := w.plan()
	if len(p.Actions) != 1 || p.Actions[0].Reason != "waiting for the stream to be pushed" {
		t.Fatalf("waiting plan: %s", kinds(p))
	}
	delete(w.cmd.offline, radio)
	w.clk.Step(20 * time.Second)
	if _, res = w.apply(); res.Created != 1 {
		t.Fatalf("stream online: %+v", res)
	}
	// The stream drops mid-window: the next reconcile re-asserts and restarts it.
	w.cmd.dropStream(radio)
	w.clk.Step(time.Minute)
	_, res = w.apply()
	restarted := false
	for _, o := range res.Outcomes {
		restarted = restarted || o.Result == "restarted"
	}
	if !restarted || len(w.cmd.live(radio)) != 1 {
		t.Fatalf("dropped stream was not restarted: %+v", res.Outcomes)
	}
	// Window closes: stop, with the finalize-delay note.
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	p = w.plan()
	if len(p.Actions) != 1 || p.Actions[0].Action != Stop || p.Actions[0].Reason != "window closed" || !strings.Contains(p.Actions[0].Note, "3m0s") {
		t.Fatalf("close plan: %+v", p.Actions)
	}
	w.apply()
	if len(w.cmd.live(radio)) != 0 {
		t.Fatal("recording still running after the window closed")
	}
	if got := w.plan(); got.HasChanges() {
		t.Fatalf("not converged after close: %s", kinds(got))
	}
}

func TestDriftRecreatesAStoppedTaskWhileItsWindowIsOpen(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("sport", "sched", sportStream, "0 10 21 11 *", time.Hour)
	w.apply()
	for _, tk := range w.sched.live(sportStream) {
		w.sched.Stop(context.Background(), tk) // stopped by hand in the console
	}
	w.clk.Step(time.Minute)
	p := w.plan()
	if len(p.Actions) != 1 || p.Actions[0].Action != Create || !strings.HasPrefix(p.Actions[0].Reason, "drift") || p.Actions[0].Found == nil {
		t.Fatalf("drift plan: %s", kinds(p))
	}
	_, res := w.apply()
	if res.Created != 1 || len(w.sched.live(sportStream)) != 1 {
		t.Fatalf("drift not repaired: %+v", res)
	}
	if got := w.plan(); got.HasChanges() {
		t.Fatalf("not converged: %s", kinds(got))
	}
}

func TestRetriesAndAggregatedFailures(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.rec("news", "sched", newsStream, "0 12 * * *", time.Hour)
	w.rec("sport", "sched", sportStream, "0 12 * * *", time.Hour)
	retry := &providers.Error{Class: providers.Retryable, Provider: "fake", Code: "InternalError"}
	throttle := &providers.Error{Class: providers.Throttled, Provider: "fake", Code: "RequestLimitExceeded"}
	w.sched.failNext = []error{retry, throttle, perm("AuthFailure.SignatureFailure", "check secretId/secretKey")}
	_, res := w.apply()
	// The two transient errors are retried; the permanent one fails one
	// action without blocking the other.
	if res.Created != 1 || res.Failed != 1 {
		t.Fatalf("result %+v", res)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "AuthFailure.SignatureFailure") {
		t.Fatalf("failure not reported with the provider code: %v", res.Err)
	}
	if !strings.Contains(res.Summary(), "1 created") || !strings.Contains(res.Summary(), "1 failed") {
		t.Fatal(res.Summary())
	}
	// The failed one is planned again.
	if p := w.plan(); p.Summary.Create != 1 {
		t.Fatalf("failed create not retried by the next plan: %s", kinds(p))
	}
}

func TestMissedWindowsAreReported(t *testing.T) {
	w := newWorld(t, "2026-11-21T08:00:00Z")
	w.rec("radio", "cmd", spec.Stream{Domain: "d", App: "a", Name: "radio"}, "0 10 * * *", time.Hour)
	w.apply()
	w.clk.Set(ts("2026-11-21T12:00:00Z")) // recordctl was down 08:00-12:00
	p := w.plan()
	if len(p.Missed) != 1 || p.Missed[0].Window != "radio@2026-11-21T10:00:00Z" {
		t.Fatalf("missed: %+v", p.Missed)
	}
	var buf bytes.Buffer
	WriteText(&buf, p)
	if !strings.Contains(buf.String(), "! missed radio@2026-11-21T10:00:00Z") {
		t.Fatal(buf.String())
	}
}

func TestLateCreateIsReported(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:20:00Z")
	w.rec("radio", "cmd", spec.Stream{Domain: "d", App: "a", Name: "radio"}, "0 10 * * *", time.Hour)
	p := w.plan()
	if len(p.Actions) != 1 || p.Actions[0].LateSeconds != 1200 || !strings.Contains(p.Actions[0].Reason, "late by 20m0s") {
		t.Fatalf("late create: %+v", p.Actions)
	}
}

func TestRenderings(t *testing.T) {
	w := newWorld(t, "2026-11-20T10:30:00Z")
	r := w.rec("evening-news", "sched", newsStream, "0 19 * * MON-FRI", 90*time.Minute)
	sha, _ := time.LoadLocation("Asia/Shanghai")
	r.Spec.Schedule.Location = sha
	w.set.Providers[1].Metadata.Name = "tencent-gz"
	r.Spec.Provider = "tencent-gz"
	p := w.plan()
	var txt, md, js bytes.Buffer
	WriteText(&txt, p)
	want := "+ create evening-news@2026-11-20T11:00:00Z tencent-gz push.example.com/live/news 19:00-20:30 Asia/Shanghai"
	if !strings.Contains(txt.String(), want) || !strings.Contains(txt.String(), "Plan: 1 to create, 0 to stop, 0 to delete, 0 to adopt.") {
		t.Fatalf("text:\n%s", txt.String())
	}
	WriteMarkdown(&md, p)
	if !strings.Contains(md.String(), "| `+` | create | `evening-news@2026-11-20T11:00:00Z` |") {
		t.Fatalf("markdown:\n%s", md.String())
	}
	WriteJSON(&js, p)
	var doc map[string]any
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	a := doc["actions"].([]any)[0].(map[string]any)
	for _, k := range []string{"action", "recording", "window", "provider", "type", "stream", "reason"} {
		if _, ok := a[k]; !ok {
			t.Fatalf("json action lacks %q: %v", k, a)
		}
	}
	if doc["format_version"] != "1" || doc["summary"].(map[string]any)["create"].(float64) != 1 {
		t.Fatalf("json: %s", js.String())
	}
}

func TestStreamChangeReplacesTheTask(t *testing.T) {
	for _, prov := range []string{"sched", "cmd"} {
		t.Run(prov, func(t *testing.T) {
			w := newWorld(t, "2026-11-21T10:30:00Z")
			r := w.rec("news", prov, newsStream, "0 10 21 11 *", time.Hour)
			w.apply()
			r.Spec.Stream = sportStream // same recording, now another stream
			p := w.plan()
			if len(p.Actions) != 2 || p.Actions[0].Action != Stop || p.Actions[0].Stream != newsStream ||
				p.Actions[1].Action != Create || p.Actions[1].Stream != sportStream || p.Actions[1].Reason != "stream changed" {
				t.Fatalf("plan after a stream change: %s", kinds(p))
			}
			w.apply()
			fk := w.sched
			if prov == "cmd" {
				fk = w.cmd
			}
			if len(fk.live(newsStream)) != 0 || len(fk.live(sportStream)) != 1 {
				t.Fatalf("old stream still recorded or new one not: old %d new %d", len(fk.live(newsStream)), len(fk.live(sportStream)))
			}
			if got := w.plan(); got.HasChanges() {
				t.Fatalf("not converged: %s", kinds(got))
			}
		})
	}
}

// A create that keeps failing with retryable errors is retried only while
// its window is open: no call is made at or after the window's end, and it
// ends as missed, with its reason, instead of failing after the window.
func TestCreateRetriesEndWithTheWindowAsMissed(t *testing.T) {
	for _, prov := range []string{"cmd", "sched"} {
		t.Run(prov, func(t *testing.T) {
			w := newWorld(t, "2026-11-21T10:59:58Z") // the window closes in 2 s
			w.rec("news", prov, newsStream, "0 10 21 11 *", time.Hour)
			fk := map[string]*fake{"cmd": w.cmd, "sched": w.sched}[prov]
			retry := &providers.Error{Class: providers.Retryable, Provider: "fake", Code: "InternalError"}
			for range 50 {
				fk.failNext = append(fk.failNext, retry)
			}
			end := ts("2026-11-21T11:00:00Z")
			_, res := w.apply()
			if res.Missed != 1 || res.Created != 0 || res.Failed != 0 {
				t.Fatalf("result %+v, want the create missed", res)
			}
			if o := res.Outcomes[0]; o.Result != "missed" || !strings.Contains(o.Err.Error(), "window closed") || !strings.Contains(o.Err.Error(), "InternalError") {
				t.Fatalf("outcome %s: %v", o.Result, o.Err)
			}
			if len(fk.createAt) < 2 {
				t.Fatalf("%d create calls: the retryable error was not retried", len(fk.createAt))
			}
			for _, at := range fk.createAt {
				if !at.Before(end) {
					t.Fatalf("a create was sent at %s, at or after the window's end", at.Format(time.RFC3339Nano))
				}
			}
			if !strings.Contains(res.Summary(), "1 missed") {
				t.Fatal(res.Summary())
			}
		})
	}
}

// A write the store refuses (state.ErrFenced: the lease or lock is lost)
// aborts the whole apply: an intent that cannot be written is a call that
// is not made, and no action starts after it.
func TestFencedWriteAbortsTheApply(t *testing.T) {
	for _, n := range []int{1, 2} {
		w := newWorld(t, "2026-11-21T10:30:00Z")
		for i := range 6 {
			w.rec(fmt.Sprintf("r%d", i), "cmd", spec.Stream{Domain: "d", App: "a", Name: fmt.Sprintf("s%d", i)}, "0 10 21 11 *", time.Hour)
		}
		faulty := statetest.FailAt(w.store, n, statetest.BeforeWrite)
		w.eng.Store = faulty
		p := w.plan()
		res, err := w.eng.Apply(context.Background(), w.set, p)
		if !state.IsFenced(err) {
			t.Fatalf("n=%d: apply = %v, want the store's refusal", n, err)
		}
		// Writes 1..n-1 landed; each create call needs its intent written first.
		if calls := len(w.cmd.createAt); calls > n-1 {
			t.Fatalf("n=%d: %d create calls after %d intents could be written", n, calls, n-1)
		}
		if res.Created+res.Failed+res.NotStarted == 0 {
			t.Fatalf("n=%d: the result accounts for no action: %+v", n, res)
		}
	}
}
