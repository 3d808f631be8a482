package agora

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// listAll lists managed and fails the test on an error.
func (e *env) listAll(managed []providers.Task) []providers.Task {
	e.t.Helper()
	got, err := e.prov.List(context.Background(), providers.Scope{Managed: managed})
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	return got
}

// Following NextCheck, a start whose recorder comes up after 40 s is
// confirmed on the short starting cadence, well within the 90 s deadline,
// and nothing sleeps.
func TestStartConfirmedFollowingNextCheck(t *testing.T) {
	e := newEnv(t)
	e.emu.SetStartDelay(40 * time.Second)
	task := e.mustCreate(e.recording("slow", nil), nil)
	started := e.clock.Now()
	got := e.list(task)
	if got.Status != providers.StatusStarting || !got.NextCheck.Equal(started.Add(5*time.Second)) {
		t.Fatalf("right after the start: %s, next check %s; want starting, first query 5 s after the sid", got.Status, got.NextCheck)
	}
	if e.emu.Calls()["query"] != 0 {
		t.Fatal("a query before the first one was due")
	}
	for got.Status != providers.StatusRecording {
		if got.NextCheck.IsZero() || got.NextCheck.Sub(started) > caps.StartDeadline {
			t.Fatalf("no check scheduled within the start deadline: %s next %s", got.Status, got.NextCheck)
		}
		e.clock.Set(got.NextCheck)
		got = e.list(task)
		if got.Status != providers.StatusStarting && got.Status != providers.StatusRecording {
			t.Fatalf("at +%s: %s", e.clock.Now().Sub(started), got.Status)
		}
	}
	if at := e.clock.Now().Sub(started); at > 50*time.Second {
		t.Errorf("confirmed at +%s, want within one starting cadence of the recorder coming up (40 s)", at)
	}
	if q := e.emu.Calls()["query"]; q > 5 {
		t.Errorf("%d queries to confirm one start", q)
	}
	// Confirmed: re-queried once a minute, not on every List.
	if d := got.NextCheck.Sub(e.clock.Now()); d <= 0 || d > RecheckEvery {
		t.Errorf("recording re-queried in %s, want within %s", d, RecheckEvery)
	}
	if s := e.sleeps.take(); len(s) != 0 {
		t.Errorf("slept %v", s)
	}
}

// A start never confirmed is failed by the check scheduled just after the
// deadline.
func TestStartNeverConfirmedFailsAtTheDeadline(t *testing.T) {
	e := newEnv(t)
	e.emu.SetNeverReady(true)
	task := e.mustCreate(e.recording("stuck", nil), nil)
	started := e.clock.Now()
	got := e.list(task)
	for got.Status == providers.StatusStarting {
		e.clock.Set(got.NextCheck)
		got = e.list(task)
	}
	if got.Status != providers.StatusFailed || !got.NextCheck.IsZero() {
		t.Fatalf("%s next %s, want failed with nothing scheduled", got.Status, got.NextCheck)
	}
	if at := e.clock.Now().Sub(started); at <= caps.StartDeadline || at > caps.StartDeadline+time.Second {
		t.Errorf("failed at +%s, want just after the %s deadline", at, caps.StartDeadline)
	}
}

// 100 open recordings listed every second for two minutes: each is queried
// once a minute, the queries spread over the minute (no List makes more
// than a few), and every List stays within its budget.
func TestOpenRecordingsRequeriedOnASpreadCadence(t *testing.T) {
	e := newEnv(t)
	const n = 100
	managed := make([]providers.Task, n)
	for i := range managed {
		managed[i] = e.mustCreate(e.recording(fmt.Sprintf("ch%03d", i), nil), nil)
	}
	e.clock.Advance(5 * time.Second)
	// The first List after the starts confirms them, ListBudget at a time.
	for pending := n; pending > 0; {
		before := e.emu.Calls()["query"]
		got := e.listAll(managed)
		if q := e.emu.Calls()["query"] - before; q > ListBudget {
			t.Fatalf("one List made %d queries, budget %d", q, ListBudget)
		}
		pending = 0
		for _, g := range got {
			if g.Status != providers.StatusRecording {
				pending++
				if g.NextCheck.After(e.clock.Now()) {
					t.Fatalf("a task left over by the budget is not due: next %s", g.NextCheck)
				}
			}
		}
	}
	base := e.emu.Calls()["query"]
	peak := 0
	for s := 0; s < 120; s++ {
		e.clock.Advance(time.Second)
		before := e.emu.Calls()["query"]
		for _, g := range e.listAll(managed) {
			if g.Status != providers.StatusRecording {
				t.Fatalf("%s: %s", g.ID, g.Status)
			}
		}
		peak = max(peak, e.emu.Calls()["query"]-before)
	}
	if q := e.emu.Calls()["query"] - base; q < 2*n-n/10 || q > 2*n+n/10 {
		t.Errorf("%d queries in 2 minutes for %d recordings, want about %d (one a minute each)", q, n, 2*n)
	}
	if peak > 12 { // 100 phases hashed over 60 s: about 1.7 a second; unspread, a List would hit its budget (20)
		t.Errorf("up to %d queries in one List: not spread (%d recordings over 60 s)", peak, n)
	}
	if s := e.sleeps.take(); len(s) != 0 {
		t.Errorf("slept %v", s)
	}
}

// A throttled query ends the List's querying without failing it: the
// unqueried tasks keep their last status and stay due, and the throttle
// reaches the Pacer.
func TestThrottledQueryLeavesTheRestDue(t *testing.T) {
	e := newEnv(t)
	pacer := providers.NewPacer(0, e.clock)
	p, err := New(e.doc, providers.Options{HTTPClient: e.prov.client, Clock: sleepingClock{e.clock.Fake, e.sleeps}, Pacer: pacer})
	if err != nil {
		t.Fatal(err)
	}
	e.prov = p.(*Provider)
	managed := []providers.Task{e.mustCreate(e.recording("a", nil), nil), e.mustCreate(e.recording("b", nil), nil)}
	e.clock.Advance(5 * time.Second)
	e.faults.Set(0, 0, true)
	got := e.listAll(managed)
	for _, g := range got {
		if g.Status != providers.StatusStarting || g.NextCheck.After(e.clock.Now()) {
			t.Errorf("%s: %s next %s, want starting and still due", g.ID, g.Status, g.NextCheck)
		}
	}
	if pacer.Throttles() == 0 {
		t.Error("the throttle was not reported to the pacer")
	}
	e.faults.Set(0, 0, false)
	for _, g := range e.listAll(managed) {
		if g.Status != providers.StatusRecording {
			t.Errorf("%s after the throttle: %s", g.ID, g.Status)
		}
	}
}

// An Agora that accepts connections and never answers holds one List for
// ListTimeout at most: the queries in flight end as unknown, rechecked on
// the seed's 5xx schedule, and the List returns every task.
func TestListIsBoundedWhenAgoraNeverAnswers(t *testing.T) {
	e := newEnv(t)
	managed := []providers.Task{e.mustCreate(e.recording("a", nil), nil), e.mustCreate(e.recording("b", nil), nil)}
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	doc := *e.doc
	cfg := doc.Spec.Config.(Config)
	cfg.Endpoints = []string{hang.URL}
	doc.Spec.Config = cfg
	p := e.newProvider(&doc)
	p.listTimeout = 50 * time.Millisecond // ListTimeout, shortened: the test waits for it
	e.clock.Advance(5 * time.Second)
	got, err := p.List(context.Background(), providers.Scope{Managed: managed})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, g := range got {
		if g.Status != providers.StatusUnknown || !g.NextCheck.Equal(e.clock.Now().Add(5*time.Second)) {
			t.Errorf("%s: %s next %s, want unknown, rechecked in 5 s", g.ID, g.Status, g.NextCheck)
		}
	}
}

// Paced at Agora's 10 requests/s, a List makes no more status queries than
// the pacer's background share lets go at once (3), so it never waits in
// the pacer while a window edge or an edit waits for the worker; the
// rest stay due for the next List.
func TestListStaysWithinThePacersBackgroundShare(t *testing.T) {
	e := newEnv(t)
	managed := make([]providers.Task, 10)
	for i := range managed {
		managed[i] = e.mustCreate(e.recording(fmt.Sprintf("ch%03d", i), nil), nil)
	}
	e.clock.Advance(5 * time.Second) // every start's first query is due
	pacer := providers.NewPacer(10, e.clock.Fake)
	p, err := New(e.doc, providers.Options{HTTPClient: &http.Client{Transport: e.tap, Timeout: 10 * time.Second},
		Clock: e.clock.Fake, Pacer: pacer})
	if err != nil {
		t.Fatal(err)
	}
	before := e.emu.Calls()["query"]
	done := make(chan error, 1)
	go func() {
		_, err := p.List(providers.Background(context.Background()), providers.Scope{Managed: managed})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // the fake clock never moves: a wait in the pacer never ends
		t.Fatal("the List waited in the pacer")
	}
	if q := e.emu.Calls()["query"] - before; q != 3 {
		t.Errorf("one paced List made %d queries, want 3 (the background share of a second)", q)
	}
	// Within the same second the share is spent: the next List queries
	// nothing and leaves the rest due.
	before = e.emu.Calls()["query"]
	if _, err := p.List(providers.Background(context.Background()), providers.Scope{Managed: managed}); err != nil {
		t.Fatal(err)
	}
	if q := e.emu.Calls()["query"] - before; q != 0 || pacer.BackgroundRoom() != 0 {
		t.Errorf("a second List in the same second made %d queries (room %d), want none", q, pacer.BackgroundRoom())
	}
	e.clock.Advance(time.Second)
	if r := pacer.BackgroundRoom(); r != 3 {
		t.Errorf("a second later the room is %d, want 3", r)
	}
}
