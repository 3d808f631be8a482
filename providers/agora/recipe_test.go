package agora

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
)

// listeners returns which listener served each request, in order.
func listeners(hits []hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.listener
	}
	return out
}

func TestPrimaryDownEverythingOnFallback(t *testing.T) {
	e := newEnv(t)
	e.emu.SetPrimaryDown(true)
	task := e.mustCreate(e.recording("failover", nil), nil)
	// The first request tries the primary twice (1 s), then the fallback (3 s).
	if got := e.sleeps.take(); !sameDurations(got, secs(1, 3)) {
		t.Errorf("sleeps = %v, want [1s 3s]", got)
	}
	e.clock.Advance(5 * time.Second)
	if got := e.list(task); got.Status != providers.StatusRecording {
		t.Errorf("status %s", got.Status)
	}
	if _, err := e.prov.Stop(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(listeners(e.tap.take()), ",")
	if want := "primary,primary,fallback,fallback,fallback,fallback"; got != want {
		t.Errorf("listeners = %s, want %s (acquire x3, start, query, stop)", got, want)
	}
	if lc := e.emu.ListenerCalls(); lc["primary"] != 2 || lc["fallback"] != 4 {
		t.Errorf("listener calls = %v", lc)
	}
	if s := e.session(task.ID); s.Status != 7 {
		t.Errorf("session not stopped: %+v", s)
	}
	// After the sticky period the primary gets another chance.
	e.emu.SetPrimaryDown(false)
	e.clock.Advance(stickyFor)
	task2 := e.mustCreate(e.recording("failover2", nil), nil)
	if got := strings.Join(listeners(e.tap.take()), ","); got != "primary,primary" || task2.ID == "" {
		t.Errorf("after recovery: %s", got)
	}
}

func TestStart5xxRetriesThenBackupUID(t *testing.T) {
	for _, tc := range []struct {
		fails int
		uid   string
		want  string
	}{
		// The seed's 3 retries fail; a fresh acquire with the same uid
		// (looking for a recorder a 5xx may hide) starts it.
		{4, "527841", "acquire@primary,start@primary,start@primary,start@fallback,start@fallback,acquire@primary,start@primary"},
		// That fails too (no recorder found): the backup uid.
		{8, "527842", "acquire@primary,start@primary,start@primary,start@fallback,start@fallback," +
			"acquire@primary,start@primary,start@primary,start@fallback,start@fallback,acquire@primary,start@primary"},
	} {
		t.Run(strconv.Itoa(tc.fails), func(t *testing.T) {
			e := newEnv(t)
			e.emu.FailNextStarts(tc.fails)
			task := e.mustCreate(e.recording("flaky", nil), nil)
			if got := e.sleeps.take(); !sameDurations(got[:3], secs(3, 6, 9)) {
				t.Errorf("sleeps = %v, want [3s 6s 9s ...]", got)
			}
			hits := e.tap.take()
			var ops []string
			for _, h := range hits {
				ops = append(ops, h.path[strings.LastIndex(h.path, "/")+1:]+"@"+h.listener)
			}
			if strings.Join(ops, ",") != tc.want {
				t.Errorf("requests\n got %s\nwant %s", strings.Join(ops, ","), tc.want)
			}
			// The four tries reuse the same resourceId and body (same parameters).
			for i := 2; i <= 4; i++ {
				if hits[i].path != hits[1].path || string(hits[i].body) != string(hits[1].body) {
					t.Errorf("start try %d changed parameters", i)
				}
			}
			last := hits[len(hits)-2] // the last acquire
			if !strings.Contains(string(last.body), `"uid":"`+tc.uid+`"`) {
				t.Errorf("last acquire body %s, want uid %s", last.body, tc.uid)
			}
			if task.Handle["uid"] != tc.uid || e.session(task.ID).UID != tc.uid {
				t.Errorf("recorder uid %s, want %s", task.Handle["uid"], tc.uid)
			}
			if n := len(e.emu.Sessions()); n != 1 {
				t.Errorf("%d sessions, want 1", n)
			}
		})
	}
}

func TestStart5xxRecoversWithSameResource(t *testing.T) {
	e := newEnv(t)
	e.emu.FailNextStarts(3)
	task := e.mustCreate(e.recording("flaky", nil), nil)
	if got := e.sleeps.take(); !sameDurations(got, secs(3, 6, 9)) {
		t.Errorf("sleeps = %v", got)
	}
	if c := e.emu.Calls(); c["acquire"] != 1 || c["start"] != 4 || task.Handle["uid"] != "527841" {
		t.Errorf("calls %v uid %s: want one acquire, the primary uid", c, task.Handle["uid"])
	}
}

func TestStartNeverConfirmedFailsThenRestarts(t *testing.T) {
	e := newEnv(t)
	e.emu.SetNeverReady(true)
	rec := e.recording("stuck", nil)
	old := e.mustCreate(rec, nil)

	e.clock.Advance(30 * time.Second)
	if got := e.list(old); got.Status != providers.StatusStarting {
		t.Fatalf("at 30 s: %s, want starting", got.Status)
	}
	e.clock.Advance(61 * time.Second)
	failed := e.list(old)
	if failed.Status != providers.StatusFailed {
		t.Fatalf("at 91 s: %s, want failed", failed.Status)
	}
	if n := len(e.sleeps.take()); n != 0 {
		t.Errorf("%d sleeps while the recorder answered", n)
	}

	e.emu.SetNeverReady(false)
	e.tap.take()
	fresh := e.mustCreate(rec, &failed)
	hits := e.tap.take()
	if len(hits) < 1 || !strings.HasSuffix(hits[0].path, "/sid/"+old.ID+"/mode/mix/stop") {
		t.Errorf("the failed recorder was not stopped first: %v", hits)
	}
	if s := e.session(old.ID); s.Status != 7 {
		t.Errorf("old session status %d, want stopped", s.Status)
	}
	if fresh.ID == old.ID || fresh.Handle["uid"] != "527842" {
		t.Errorf("new task %s uid %s: want a new sid on the other uid", fresh.ID, fresh.Handle["uid"])
	}
	e.clock.Advance(5 * time.Second)
	if got := e.list(fresh); got.Status != providers.StatusRecording {
		t.Errorf("restarted task: %s", got.Status)
	}
}

func TestRecorderLeavesMidWindow(t *testing.T) {
	e := newEnv(t)
	rec := e.recording("lecture", nil)
	task := e.mustCreate(rec, nil)
	e.clock.Advance(5 * time.Second)
	task = e.list(task)
	if task.Status != providers.StatusRecording {
		t.Fatalf("status %s", task.Status)
	}
	if len(task.Files) != 1 || task.Files[0] != task.ID+"_lecture.m3u8" {
		t.Errorf("query files %v", task.Files)
	}
	// A short break is survived (maxIdleTime 600 s) ...
	e.emu.SetChannelActive("lecture", false)
	e.clock.Advance(5 * time.Minute)
	e.emu.SetChannelActive("lecture", true)
	e.clock.Advance(20 * time.Minute)
	if got := e.list(task); got.Status != providers.StatusRecording {
		t.Fatalf("after a 5-minute break: %s", got.Status)
	}
	// ... a long one is not. The 404 is confirmed by rechecks scheduled at
	// 5, 10 and 15 s (Task.NextCheck), never by a wait inside List.
	e.emu.SetChannelActive("lecture", false)
	e.clock.Advance(601 * time.Second)
	e.sleeps.take()
	got := e.list(task)
	for _, d := range secs(5, 10, 15) {
		if got.Status != providers.StatusRecording {
			t.Fatalf("a 404 not yet confirmed: %s, want the last status seen (recording)", got.Status)
		}
		if want := e.clock.Now().Add(d); !got.NextCheck.Equal(want) {
			t.Fatalf("404 recheck at %s, want %s (+%s)", got.NextCheck, want, d)
		}
		// A List before the recheck is due makes no call.
		before := e.emu.Calls()["query"]
		if again := e.list(task); again.Status != got.Status || e.emu.Calls()["query"] != before {
			t.Fatalf("List before the recheck was due: %s, %d query calls", again.Status, e.emu.Calls()["query"]-before)
		}
		e.clock.Advance(d)
		got = e.list(task)
	}
	gone := got
	if gone.Status != providers.StatusGone || !gone.NextCheck.IsZero() {
		t.Fatalf("after the bot left: %s (next check %s), want gone", gone.Status, gone.NextCheck)
	}
	if got := e.sleeps.take(); len(got) != 0 {
		t.Errorf("List slept %v", got)
	}
	if c := e.emu.Calls()["query"]; c != 6 { // 2 + 4
		t.Errorf("query calls %d", c)
	}
	e.emu.SetChannelActive("lecture", true)
	stops := e.emu.Calls()["stop"]
	again := e.mustCreate(rec, &gone)
	if e.emu.Calls()["stop"] != stops {
		t.Error("a gone recorder was stopped")
	}
	if again.Handle["uid"] != "527842" {
		t.Errorf("restart uid %s, want the backup", again.Handle["uid"])
	}
}

func TestQuery404WhileStartingIsNotGone(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("early", nil), nil)
	task.Handle["sid"] = "0000000000000000000000000000dead" // the service does not know it yet
	if got := e.list(task); got.Status != providers.StatusStarting {
		t.Errorf("404 within 90 s: %s, want starting", got.Status)
	}
	if n := len(e.sleeps.take()); n != 0 {
		t.Errorf("slept %d times inside the start window", n)
	}
}

func TestQuery5xxRechecksOnTheSeedsSchedule(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("dark", nil), nil)
	e.clock.Advance(5 * time.Second)
	e.faults.Set(1, 0, false)
	for _, d := range secs(5, 10, 15, 30, 30) {
		got := e.list(task)
		if got.Status != providers.StatusUnknown {
			t.Errorf("status %s, want unknown", got.Status)
		}
		if want := e.clock.Now().Add(d); !got.NextCheck.Equal(want) {
			t.Fatalf("recheck at %s, want +%s", got.NextCheck.Sub(e.clock.Now()), d)
		}
		e.clock.Advance(d)
	}
	if got := e.sleeps.take(); len(got) != 0 {
		t.Errorf("List slept %v; rechecks are scheduled", got)
	}
	e.faults.Set(0, 0, false)
	if got := e.list(task); got.Status != providers.StatusRecording {
		t.Errorf("after the 5xx: %s, want recording", got.Status)
	}
}

func TestListAuthErrorFailsTheList(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("auth", nil), nil)
	e.doc.Spec.Credentials["customerSecret"] = e.doc.Spec.Credentials["customerId"]
	bad := e.newProvider(e.doc)
	e.clock.Advance(5 * time.Second) // the first query is due 5 s after the sid
	_, err := bad.List(context.Background(), providers.Scope{Managed: []providers.Task{task}})
	if providers.ClassOf(err) != providers.Permanent || !strings.Contains(err.Error(), "customerSecret") {
		t.Errorf("List with bad credentials: %v", err)
	}
}

func TestListReportsEveryManagedTask(t *testing.T) {
	e := newEnv(t)
	var managed []providers.Task
	for _, ch := range []string{"a", "b", "c", "d", "e", "f"} {
		managed = append(managed, e.mustCreate(e.recording(ch, nil), nil))
	}
	managed = append(managed, providers.Task{ID: "orphan", Status: providers.StatusStarting})
	e.clock.Advance(5 * time.Second)
	// Six are due and one List queries ListBudget of them: the next List
	// (the engine requeues at the earliest NextCheck) queries the rest.
	got, err := e.prov.List(context.Background(), providers.Scope{Managed: managed})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(managed) {
		t.Fatalf("%d tasks, want %d", len(got), len(managed))
	}
	if n := countStatus(got, providers.StatusRecording); n != ListBudget {
		t.Fatalf("%d confirmed by one List, want its budget %d", n, ListBudget)
	}
	for _, g := range got[:len(got)-1] {
		if g.Status != providers.StatusRecording && g.NextCheck.After(e.clock.Now()) {
			t.Fatalf("%s left over the budget is not due at once: next %s", g.ID, g.NextCheck)
		}
	}
	got, err = e.prov.List(context.Background(), providers.Scope{Managed: managed})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(managed) {
		t.Fatalf("%d tasks, want %d", len(got), len(managed))
	}
	for i, g := range got {
		want := providers.StatusRecording
		if i == len(got)-1 {
			want = providers.StatusUnknown // no handle: nothing to query
		}
		if g.ID != managed[i].ID || g.Status != want {
			t.Errorf("task %d: %s %s, want %s %s", i, g.ID, g.Status, managed[i].ID, want)
		}
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	e := newEnv(t)
	e.faults.Set(1, 0, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.prov.Create(ctx, providers.CreateRequest{Recording: e.recording("x", nil), Stream: e.recording("x", nil).Spec.Stream})
	if err == nil || providers.IsRetryable(err) {
		t.Errorf("cancelled create: %v", err)
	}
}

func TestUnreachablePrimaryFailsOver(t *testing.T) {
	e := newEnv(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused from now on
	e.doc.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{deadURL, e.fallback.URL}}
	e.prov = e.newProvider(e.doc)
	task := e.mustCreate(e.recording("refused", nil), nil)
	if got := e.sleeps.take(); !sameDurations(got, secs(1, 3)) {
		t.Errorf("sleeps %v, want [1s 3s]", got)
	}
	if e.session(task.ID).UID != "527841" {
		t.Error("wrong recorder")
	}
	// All domains unreachable: Retryable, naming the host, after 1/3/6 s.
	e.doc.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{deadURL}}
	e.prov = e.newProvider(e.doc)
	_, err := e.create(e.recording("refused2", nil), nil)
	if pe := classOf(t, err); pe.Class != providers.Retryable || !strings.Contains(pe.Message, "cannot reach") {
		t.Errorf("unreachable: %v", err)
	}
	if got := e.sleeps.take(); !sameDurations(got, secs(1, 3, 6)) {
		t.Errorf("sleeps %v, want [1s 3s 6s]", got)
	}
}

// A start whose answer is lost may have started a recorder. When the tries
// after it fail with 5xx, switching to the backup uid (the seed's recipe for
// plain 5xx) would put a second bot in the channel: Create returns an error
// of unknown outcome instead, and the engine's retry (Resume) finds the
// lost recorder through the primary uid's 53 and adopts it.
func TestLostStartAnswerNeverSwitchesToBackupUID(t *testing.T) {
	e := newEnv(t)
	starts := 0
	e.tap.after = func(h hit) {
		switch {
		case strings.HasSuffix(h.path, "/acquire") && starts == 0:
			e.faults.SetLostAnswerRate(1) // the first start acts, its answer is lost
		case strings.HasSuffix(h.path, "/start"):
			starts++
			if starts == 1 {
				e.faults.SetLostAnswerRate(0)
				e.emu.FailNextStarts(3) // and every retry of it gets a 5xx
			}
		}
	}
	rec := e.recording("lost", nil)
	_, err := e.create(rec, nil)
	if err == nil || !providers.OutcomeUnknown(err) {
		t.Fatalf("Create = %v, want an error of unknown outcome", err)
	}
	for _, h := range e.tap.take() {
		if strings.Contains(string(h.body), `"uid":"527842"`) {
			t.Fatalf("the backup uid was tried (%s) while the lost start may be recording", h.path)
		}
	}
	if n := len(e.emu.Sessions()); n != 1 {
		t.Fatalf("%d sessions, want the lost one only", n)
	}

	now := e.clock.Now()
	task, err := e.prov.Create(context.Background(), providers.CreateRequest{Key: "lost@" + now.Format(time.RFC3339),
		Recording: rec, Stream: rec.Spec.Stream, Start: now, End: now.Add(time.Hour), Now: now, Resume: true})
	if pe := classOf(t, err); pe.Class != providers.AlreadyExists || task.Handle["uid"] != "527841" {
		t.Fatalf("resumed Create = %+v, %v; want the primary uid's recorder adopted", task, err)
	}
	if n := len(e.emu.Sessions()); n != 1 {
		t.Fatalf("%d sessions after the resumed Create, want 1", n)
	}
}

// The same after the switch: the primary fails with 5xx eight times, the
// backup's start answer is lost and its retries get 5xx. The resumed
// Create asks the backup uid first, whose 53 adopts the lost recorder,
// instead of starting the primary beside it.
func TestLostBackupStartIsFoundOnResume(t *testing.T) {
	e := newEnv(t)
	e.emu.FailNextStarts(8) // the primary's start and its lookup
	acquires, starts := 0, 0
	e.tap.after = func(h hit) {
		switch {
		case strings.HasSuffix(h.path, "/acquire"):
			if acquires++; acquires == 3 {
				e.faults.SetLostAnswerRate(1) // the backup's first start acts, its answer is lost
			}
		case strings.HasSuffix(h.path, "/start"):
			if starts++; starts == 9 {
				e.faults.SetLostAnswerRate(0)
				e.emu.FailNextStarts(3)
			}
		}
	}
	rec := e.recording("lost-backup", nil)
	now := e.clock.Now()
	req := providers.CreateRequest{Key: "lost-backup@" + now.Format(time.RFC3339),
		Recording: rec, Stream: rec.Spec.Stream, Start: now, End: now.Add(time.Hour), Now: now}
	if _, err := e.prov.Create(context.Background(), req); err == nil || !providers.OutcomeUnknown(err) {
		t.Fatalf("Create = %v, want an error of unknown outcome", err)
	}
	if s := e.emu.Sessions(); len(s) != 1 || s[0].UID != "527842" {
		t.Fatalf("sessions %+v, want the backup's lost one", s)
	}
	e.tap.after = nil
	req.Resume = true
	task, err := e.prov.Create(context.Background(), req)
	if pe := classOf(t, err); pe.Class != providers.AlreadyExists || task.Handle["uid"] != "527842" {
		t.Fatalf("resumed Create = %+v, %v; want the backup uid's recorder adopted", task, err)
	}
	if n := len(e.emu.Sessions()); n != 1 {
		t.Fatalf("%d sessions after the resumed Create, want 1", n)
	}
}

func countStatus(ts []providers.Task, s providers.Status) int {
	n := 0
	for _, t := range ts {
		if t.Status == s {
			n++
		}
	}
	return n
}
