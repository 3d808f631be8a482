package tencent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

// TestTaskLifecycle walks one task through create, scheduled, recording,
// stop (twice), and another through delete, checking client and emulator agree.
func TestTaskLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tmpl, st := int64(1234), int64(0)
	req := createReq(news, t0.Add(2*time.Hour), t0.Add(3*time.Hour+30*time.Minute))
	req.Recording = &spec.Recording{Spec: spec.RecordingSpec{Options: Options{TemplateID: &tmpl, StreamType: &st, Extension: "x"}}}

	task, err := f.c.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if task.ID == "" || !task.Start.Equal(req.Start) || !task.End.Equal(req.End) || task.Status != providers.StatusScheduled || task.Stream != news {
		t.Fatalf("created task = %+v", task)
	}
	held, ok := f.emu.Task(task.ID)
	if !ok || !held.StartTime.Equal(req.Start) || !held.EndTime.Equal(req.End) || held.TemplateID != 1234 || held.Extension != "x" || held.Stream != news || held.Injected {
		t.Fatalf("emulator holds %+v", held)
	}

	scope := providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(24 * time.Hour), Managed: []providers.Task{task}}
	if got := listOne(t, f, scope, task.ID); got.Status != providers.StatusScheduled {
		t.Fatalf("before start: %s", got.Status)
	}
	f.clk.Advance(2*time.Hour + time.Minute)
	if got := listOne(t, f, scope, task.ID); got.Status != providers.StatusRecording {
		t.Fatalf("inside window: %s", got.Status)
	}

	stopped, err := f.c.Stop(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != providers.StatusStopped || stopped.Stopped.IsZero() {
		t.Fatalf("Stop returned %+v", stopped)
	}
	held, _ = f.emu.Task(task.ID)
	if !held.Stopped.Equal(f.clk.Now()) || held.Status != providers.StatusStopped {
		t.Fatalf("emulator after stop: %+v", held)
	}
	if got := listOne(t, f, scope, task.ID); got.Status != providers.StatusStopped || !got.Stopped.Equal(held.Stopped) {
		t.Fatalf("listed after stop: %+v", got)
	}
	f.clk.Advance(time.Minute)
	if _, err := f.c.Stop(ctx, stopped); err != nil {
		t.Fatalf("stopping a stopped task: %v", err)
	}
	if again, _ := f.emu.Task(task.ID); !again.Stopped.Equal(held.Stopped) {
		t.Fatalf("second stop moved Stopped from %v to %v", held.Stopped, again.Stopped)
	}

	// A second task is deleted before it starts and disappears from List.
	later, err := f.c.Create(ctx, createReq(news, t0.Add(20*time.Hour), t0.Add(21*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.Delete(ctx, later); err != nil {
		t.Fatal(err)
	}
	if held, _ := f.emu.Task(later.ID); !held.Deleted || held.Status != providers.StatusGone {
		t.Fatalf("emulator after delete: %+v", held)
	}
	scope.Managed = []providers.Task{task, later}
	if got := listOne(t, f, scope, later.ID); got.Status != providers.StatusGone || got.ID != later.ID || !got.Start.Equal(later.Start) {
		t.Fatalf("deleted task listed as %+v", got)
	}
	if err := f.c.Delete(ctx, later); err != nil {
		t.Fatalf("deleting a deleted task: %v", err)
	}
	gone, err := f.c.Stop(ctx, later)
	if err != nil || gone.Status != providers.StatusGone {
		t.Fatalf("stopping a deleted task: %+v, %v", gone, err)
	}

	// Past its end, an untouched task is finished.
	f.clk.Advance(48 * time.Hour)
	third := f.emu.InjectTask(news, t0.Add(49*time.Hour), t0.Add(50*time.Hour))
	scope = providers.Scope{Streams: []spec.Stream{news}, From: t0.Add(45 * time.Hour), To: t0.Add(53 * time.Hour)}
	if got := listOne(t, f, scope, third.TaskID); got.Status != providers.StatusFinished {
		t.Fatalf("past end: %s", got.Status)
	}
	calls := f.emu.Calls()
	if calls["CreateRecordTask"] != 2 || calls["StopRecordTask"] != 3 || calls["DeleteRecordTask"] != 2 {
		t.Errorf("call counts %v", calls)
	}
}

// listOne lists scope and returns the task with id, failing if absent or duplicated.
func listOne(t *testing.T, f *fixture, scope providers.Scope, id string) providers.Task {
	t.Helper()
	tasks, err := f.c.List(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	var found []providers.Task
	for _, x := range tasks {
		if x.ID == id {
			found = append(found, x)
		}
	}
	if len(found) != 1 {
		t.Fatalf("task %s listed %d times in %+v", id, len(found), tasks)
	}
	return found[0]
}

// TestCreateStartingNow: a window already open is sent with StartTime=now,
// and the Task says so (the engine matches the service's times).
func TestCreateStartingNow(t *testing.T) {
	f := newFixture(t)
	task, err := f.c.Create(context.Background(), createReq(news, t0.Add(-10*time.Minute), t0.Add(50*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	held, _ := f.emu.Task(task.ID)
	if !task.Start.Equal(t0) || !held.StartTime.Equal(t0) || task.Status != providers.StatusRecording {
		t.Fatalf("task %+v, emulator %+v", task, held)
	}
}

// TestCreateRefusedLocally: requests the service would refuse never leave
// the process, and the message says what is wrong.
func TestCreateRefusedLocally(t *testing.T) {
	f := newFixture(t)
	bad := int64(2)
	cases := []struct {
		name string
		req  providers.CreateRequest
		want string
	}{
		{"longer than 24h", createReq(news, t0.Add(time.Hour), t0.Add(26*time.Hour)), "24 h"},
		{"end 7 days ahead", createReq(news, t0.Add(6*24*time.Hour+time.Hour), t0.Add(7*24*time.Hour+time.Hour)), "7 days"},
		{"already ended", createReq(news, t0.Add(-2*time.Hour), t0.Add(-time.Hour)), "already ended"},
		{"end before start", createReq(news, t0.Add(2*time.Hour), t0.Add(time.Hour)), "after the start"},
		{"no stream name", createReq(spec.Stream{Domain: "d", App: "a"}, t0.Add(time.Hour), t0.Add(2*time.Hour)), "name"},
		{"bad streamType", func() providers.CreateRequest {
			r := createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour))
			r.Recording = &spec.Recording{Spec: spec.RecordingSpec{Options: Options{StreamType: &bad}}}
			return r
		}(), "streamType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.Create(context.Background(), tc.req)
			pe := asProviderError(t, err)
			if pe.Class != providers.Permanent || !strings.Contains(pe.Message, tc.want) {
				t.Fatalf("got %v (class %s), want permanent mentioning %q", err, pe.Class, tc.want)
			}
		})
	}
	if n := f.emu.Calls()["CreateRecordTask"]; n != 0 {
		t.Errorf("%d CreateRecordTask calls reached the service", n)
	}
	// The limits themselves are allowed: exactly 24 h, ending just under 7 days ahead.
	for _, r := range []providers.CreateRequest{
		createReq(news, t0.Add(time.Hour), t0.Add(25*time.Hour)),
		createReq(sports, t0.Add(6*24*time.Hour), t0.Add(7*24*time.Hour-time.Second)),
	} {
		if _, err := f.c.Create(context.Background(), r); err != nil {
			t.Errorf("create [%v, %v): %v", r.Start, r.End, err)
		}
	}
}

// TestOverlapLimit: a fourth overlapping task of one stream is refused with
// a message naming the limit; stopped tasks and other streams do not count.
func TestOverlapLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var tasks []providers.Task
	for i := range 3 {
		task, err := f.c.Create(ctx, createReq(news, t0.Add(time.Duration(i+1)*time.Hour), t0.Add(10*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	_, err := f.c.Create(ctx, createReq(news, t0.Add(9*time.Hour), t0.Add(11*time.Hour)))
	pe := asProviderError(t, err)
	if pe.Class != providers.Permanent || pe.Code != CodeMaxRunningTask || !strings.Contains(pe.Message, "at most 3 overlapping") {
		t.Fatalf("fourth overlapping task: %v", err)
	}
	// Touching is not overlapping; another stream has its own limit.
	if _, err := f.c.Create(ctx, createReq(news, t0.Add(10*time.Hour), t0.Add(11*time.Hour))); err != nil {
		t.Fatalf("adjacent task: %v", err)
	}
	if _, err := f.c.Create(ctx, createReq(sports, t0.Add(2*time.Hour), t0.Add(3*time.Hour))); err != nil {
		t.Fatalf("other stream: %v", err)
	}
	// Deleting one frees a slot.
	if err := f.c.Delete(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Create(ctx, createReq(news, t0.Add(9*time.Hour), t0.Add(10*time.Hour))); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

// TestHeaders: every request names recordctl in User-Agent and carries the
// X-TC-* headers and the Host of the endpoint.
func TestHeaders(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var seen []http.Header
	var hosts []string
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		hosts = append(hosts, r.Host)
		mu.Unlock()
		f.emu.ServeHTTP(w, r)
	}))
	defer spy.Close()
	setEndpoint(f.doc, spy.URL)
	c := f.client(t, providers.Options{UserAgent: "recordctl/1.2.3"})
	ctx := context.Background()
	task, err := c.Create(ctx, createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stop(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, task); err != nil {
		t.Fatal(err)
	}
	want := []string{"CreateRecordTask", "DescribeRecordTask", "StopRecordTask", "DeleteRecordTask"}
	if len(seen) != len(want) {
		t.Fatalf("%d requests, want %d", len(seen), len(want))
	}
	for i, h := range seen {
		if h.Get("X-TC-Action") != want[i] || h.Get("X-TC-Version") != "2018-08-01" || h.Get("X-TC-Region") != "ap-guangzhou" ||
			h.Get("X-TC-Timestamp") != strconv.FormatInt(t0.Unix(), 10) || h.Get("Content-Type") != "application/json" ||
			h.Get("User-Agent") != "recordctl/1.2.3" || !strings.HasPrefix(h.Get("Authorization"), "TC3-HMAC-SHA256 Credential="+tencentemu.DemoSecretID+"/2026-11-17/live/tc3_request, SignedHeaders=content-type;host, Signature=") {
			t.Errorf("request %d headers: %v", i, h)
		}
		if hosts[i] != strings.TrimPrefix(spy.URL, "http://") {
			t.Errorf("request %d Host %q", i, hosts[i])
		}
	}
}

// TestNewRejectsBadDocuments: configuration errors name the field and
// never the secret value.
func TestNewRejectsBadDocuments(t *testing.T) {
	f := newFixture(t)
	mod := func(m func(p *spec.Provider)) *spec.Provider {
		p := *f.doc
		p.Spec.Credentials = map[string]spec.SecretRef{}
		for k, v := range f.doc.Spec.Credentials {
			p.Spec.Credentials[k] = v
		}
		m(&p)
		return &p
	}
	cases := map[string]struct {
		doc  *spec.Provider
		want string
	}{
		"no region":    {mod(func(p *spec.Provider) { setRegion(p, "") }), "region"},
		"bad endpoint": {mod(func(p *spec.Provider) { setEndpoint(p, "ftp://x") }), "endpoint"},
		"no secretKey": {mod(func(p *spec.Provider) { delete(p.Spec.Credentials, "secretKey") }), "credentials.secretKey"},
		"unset env":    {mod(func(p *spec.Provider) { p.Spec.Credentials["secretId"] = spec.SecretRef{Env: "TEST_TC_UNSET_VAR"} }), "TEST_TC_UNSET_VAR"},
		"missing file": {mod(func(p *spec.Provider) { p.Spec.Credentials["secretKey"] = spec.SecretRef{File: "/nonexistent/key"} }), "/nonexistent/key"},
	}
	for name, tc := range cases {
		_, err := New(tc.doc, providers.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want mention of %q", name, err, tc.want)
		}
		noSecrets(t, err)
	}
	c, err := New(f.doc, providers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Capabilities() != capabilities {
		t.Errorf("capabilities %+v", c.Capabilities())
	}
}

// TestRegistration: the type is registered with its capabilities, factory
// and points a document at the emulator, keeping a region it names.
func TestRegistration(t *testing.T) {
	r, ok := providers.Lookup("tencent")
	if !ok || r.New == nil {
		t.Fatalf("registration %+v", r)
	}
	want := providers.Capabilities{ScheduleAhead: true, MaxLookahead: 6 * 24 * time.Hour, MaxTaskDuration: 24 * time.Hour,
		CanList: true, MaxOverlapPerStream: 3, DefaultRateLimit: 20}
	if r.Capabilities != want {
		t.Errorf("capabilities %+v", r.Capabilities)
	}
	emu := tencentemu.NewEmulator(emu.Config{})
	cfg := r.PointAt(nil, []string{"http://127.0.0.1:1"}, emu.DemoFields()).(Config)
	if cfg.Region != "ap-guangzhou" || cfg.Endpoint != "http://127.0.0.1:1" {
		t.Errorf("PointAt gave %+v, want the emulator's URL and region", cfg)
	}
	if c := emu.DemoCredentials(); c["secretId"] != tencentemu.DemoSecretID || c["secretKey"] != tencentemu.DemoSecretKey || len(c) != 2 {
		t.Errorf("demo credentials %v", c)
	}
	if cfg := r.PointAt(Config{Region: "ap-tokyo"}, []string{"http://127.0.0.1:1"}, emu.DemoFields()).(Config); cfg.Region != "ap-tokyo" {
		t.Errorf("PointAt overwrote a region: %+v", cfg)
	}
}
