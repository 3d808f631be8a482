package tencent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

// TestListPaging: with two tasks per page the client follows ScrollToken
// to the end, returns each task once and only for the streams asked.
func TestListPaging(t *testing.T) {
	f := newFixture(t)
	f.emu.SetPageSize(2) // paging must be followed
	want := map[string]bool{}
	for i := range 7 {
		s := t0.Add(time.Duration(i) * time.Hour)
		want[f.emu.InjectTask(news, s, s.Add(30*time.Minute)).TaskID] = true
	}
	f.emu.InjectTask(sports, t0, t0.Add(time.Hour))
	tasks, err := f.c.List(context.Background(), providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range tasks {
		if got[x.ID] || !want[x.ID] || x.Stream != news {
			t.Errorf("unexpected or duplicate task %+v", x)
		}
		got[x.ID] = true
	}
	if len(got) != len(want) {
		t.Errorf("listed %d of %d tasks", len(got), len(want))
	}
	if n := f.emu.Calls()["DescribeRecordTask"]; n < 4 {
		t.Errorf("%d DescribeRecordTask calls: paging (2 per page, 7 tasks) not followed", n)
	}
	// Sorted by start, as the engine prints them.
	for i := 1; i < len(tasks); i++ {
		if tasks[i].Start.Before(tasks[i-1].Start) {
			t.Errorf("tasks not sorted by start")
		}
	}
}

// TestListLongRange: a scope longer than a week is queried in windows the
// service accepts, and tasks straddling window edges (or starting before
// From) are found exactly once; tasks outside the scope are left out.
func TestListLongRange(t *testing.T) {
	f := newFixture(t)
	f.emu.SetPageSize(5)
	f.emu.SetRateLimit(0)
	from, to := t0.Add(-20*24*time.Hour), t0.Add(5*24*time.Hour)
	want := map[string]bool{}
	var all []tencentemu.EmuTask
	// A 20-hour task every 13 hours: many straddle any boundary.
	for s := from.Add(-3 * 24 * time.Hour); s.Before(to.Add(3 * 24 * time.Hour)); s = s.Add(13 * time.Hour) {
		task := f.emu.InjectTask(news, s, s.Add(20*time.Hour))
		all = append(all, task)
		if task.StartTime.Before(to) && task.EndTime.After(from) {
			want[task.TaskID] = true
		}
	}
	tasks, err := f.c.List(context.Background(), providers.Scope{Streams: []spec.Stream{news}, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, x := range tasks {
		got[x.ID]++
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("task %s listed %d times", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %d tasks, want %d (of %d)", len(got), len(want), len(all))
	}
}

// TestListManaged: managed tasks are reported whatever the scope's range
// (the service is asked about their own times); a managed task the service
// no longer returns is Gone, one without times Unknown; unmanaged tasks are
// reported as they are.
func TestListManaged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old, err := f.c.Create(ctx, createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(30 * 24 * time.Hour) // a month later the scope is far from it
	foreign := f.emu.InjectTask(news, f.clk.Now().Add(time.Hour), f.clk.Now().Add(3*time.Hour))
	ghost := providers.Task{ID: "UpTbNeverExisted", Stream: news, Start: t0, End: t0.Add(time.Hour), Handle: map[string]string{"k": "v"}}
	noTimes := providers.Task{ID: "UpTbNoTimes", Stream: news}
	scope := providers.Scope{Streams: []spec.Stream{news}, From: f.clk.Now(), To: f.clk.Now().Add(24 * time.Hour),
		Managed: []providers.Task{old, ghost, noTimes}}
	tasks, err := f.c.List(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 4 {
		t.Fatalf("listed %+v", tasks)
	}
	byID := map[string]providers.Task{}
	for _, x := range tasks {
		byID[x.ID] = x
	}
	if x := byID[old.ID]; x.Status != providers.StatusFinished || !x.Start.Equal(old.Start) {
		t.Errorf("old managed task: %+v", x)
	}
	if x := byID[ghost.ID]; x.Status != providers.StatusGone || x.Handle["k"] != "v" {
		t.Errorf("vanished managed task: %+v", x)
	}
	if x := byID[noTimes.ID]; x.Status != providers.StatusUnknown {
		t.Errorf("managed task without times: %+v", x)
	}
	if x := byID[foreign.TaskID]; x.Status != providers.StatusScheduled || !x.Start.Equal(foreign.StartTime) {
		t.Errorf("unmanaged task: %+v", x)
	}
}

// TestListModifiesNothing: List only reads.
func TestListModifiesNothing(t *testing.T) {
	f := newFixture(t)
	f.emu.InjectTask(news, t0.Add(-time.Hour), t0.Add(time.Hour))
	before := f.emu.Tasks()
	if _, err := f.c.List(context.Background(), providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	after := f.emu.Tasks()
	if len(before) != 1 || len(after) != 1 || before[0] != after[0] {
		t.Errorf("List changed tasks: %+v -> %+v", before, after)
	}
	for action, n := range f.emu.Calls() {
		if action != "DescribeRecordTask" && n > 0 {
			t.Errorf("List called %s", action)
		}
	}
}

// TestWindowsCoverEveryTask: for random spans, any task of at most 24 h
// inside a span lies wholly inside one query window of at most a week.
func TestWindowsCoverEveryTask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		from := t0.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		sp := span{from, from.Add(time.Duration(rng.Int64N(int64(40*24*time.Hour))) + time.Second)}
		ws := windows([]span{sp})
		for _, w := range ws {
			if w.to.Sub(w.from) > MaxQueryWindow || !w.to.After(w.from) {
				t.Fatalf("window %v..%v", w.from, w.to)
			}
		}
		for range 50 {
			d := time.Duration(rng.Int64N(int64(MaxTaskDuration))) + time.Second
			if sp.to.Sub(sp.from) < d {
				continue
			}
			s := sp.from.Add(time.Duration(rng.Int64N(int64(sp.to.Sub(sp.from)-d) + 1))).Truncate(time.Second)
			if s.Before(sp.from) {
				s = s.Add(time.Second)
			}
			e := s.Add(d)
			if e.After(sp.to) {
				continue
			}
			covered := false
			for _, w := range ws {
				covered = covered || (!s.Before(w.from) && !e.After(w.to))
			}
			if !covered {
				t.Fatalf("task %v..%v of span %v..%v in no window %v", s, e, sp.from, sp.to, ws)
			}
		}
	}
}

// TestListAcrossEmulatorBoundsQuery: every DescribeRecordTask request the
// client sends respects the one-week window (seen from the wire).
func TestListQueryWindows(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var spans []int64
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var q describeRequest
		_ = json.Unmarshal(b, &q)
		mu.Lock()
		spans = append(spans, q.EndTime-q.StartTime)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.emu.ServeHTTP(w, r)
	}))
	defer spy.Close()
	setEndpoint(f.doc, spy.URL)
	c := f.client(t, providers.Options{})
	if _, err := c.List(context.Background(), providers.Scope{Streams: []spec.Stream{news, sports}, From: t0.Add(-10 * 24 * time.Hour), To: t0.Add(2 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(spans) < 2 {
		t.Fatalf("only %d queries over 14 days: one week-long window cannot cover it", len(spans))
	}
	for _, s := range spans {
		if s <= 0 || s > int64(MaxQueryWindow/time.Second) {
			t.Errorf("query window of %d s", s)
		}
	}
}

// TestListManyStreams: a fleet of streams on one push domain is listed with
// one paged query per week-window, not one per stream, and a paced client
// (the Provider's rateLimit) stays under the service's 20 requests/s even
// when paging takes more requests than that.
func TestListManyStreams(t *testing.T) {
	var streams []spec.Stream
	fleet := func() *fixture {
		f := newFixture(t)
		streams = streams[:0]
		for i := 0; i < 40; i++ {
			s := spec.Stream{Domain: "push.example.com", App: "live", Name: fmt.Sprintf("cam-%02d", i)}
			streams = append(streams, s)
			f.emu.InjectTask(s, t0.Add(time.Hour), t0.Add(2*time.Hour))
		}
		f.emu.InjectTask(spec.Stream{Domain: "push.example.com", App: "live", Name: "not-ours"}, t0.Add(time.Hour), t0.Add(2*time.Hour))
		return f
	}
	f := fleet()
	scope := providers.Scope{Streams: streams, From: t0, To: t0.Add(24 * time.Hour)}

	f.emu.SetPageSize(10)
	before := f.emu.Calls()["DescribeRecordTask"]
	got, err := f.c.List(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Fatalf("listed %d tasks, want the 40 of the streams in scope", len(got))
	}
	if n := f.emu.Calls()["DescribeRecordTask"] - before; n > 6 {
		t.Fatalf("%d DescribeRecordTask calls for 40 streams on one domain: queries are not shared", n)
	}

	// A paced client alone on the account (the unpaced one above has
	// spent part of this second's allowance).
	f = fleet()
	f.emu.SetPageSize(1) // 41 pages: more requests than the 20/s limit allows at once
	paced := f.client(t, providers.Options{Pacer: providers.NewPacer(RateLimit, nil)})
	if got, err = paced.List(context.Background(), scope); err != nil || len(got) != 40 {
		t.Fatalf("paced client: %d tasks, %v", len(got), err)
	}
}
