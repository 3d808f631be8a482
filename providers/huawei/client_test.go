package huawei

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/spec"
)

func TestCreateStartsRecordingOnTheWire(t *testing.T) {
	var got *http.Request
	var body []byte
	clk := newClock()
	emu := huaweiemu.NewEmulator(emu.Config{Now: clk.Now})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r.Clone(r.Context()), b
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("H_AK", huaweiemu.DemoAccessKey)
	t.Setenv("H_SK", huaweiemu.DemoSecretKey)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "h"}, Spec: spec.ProviderSpec{Type: "huawei", Config: Config{Region: "cn-north-4",
		ProjectID: huaweiemu.DemoProjectID, Endpoint: srv.URL},
		Credentials: map[string]spec.SecretRef{"accessKey": {Env: "H_AK"}, "secretKey": {Env: "H_SK"}}}}
	prov, err := providers.New(p, providers.Options{Clock: clk, UserAgent: "recordctl/9.9"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := prov.Create(context.Background(), createReq(news))
	if err != nil {
		t.Fatal(err)
	}
	if task.ID != "push.example.com/live/news" || task.Status != providers.StatusRecording {
		t.Fatalf("task = %+v", task)
	}
	if !emu.IsRecording(news) || emu.Calls("RunRecord/START") != 1 {
		t.Fatal("emulator did not start recording")
	}
	if got.Method != "POST" || got.URL.Path != "/v1/demo/record/control" || got.URL.RawQuery != "action=START" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	if string(body) != `{"publish_domain":"push.example.com","app":"live","stream":"news"}`+"\n" {
		t.Errorf("body = %q", body)
	}
	want := map[string]string{"X-Project-Id": "demo", "X-Sdk-Date": "20261121T110000Z", "User-Agent": "recordctl/9.9",
		"Content-Type": "application/json; charset=UTF-8"}
	for k, v := range want {
		if got.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Header.Get(k), v)
		}
	}
	if !regexp.MustCompile(`^SDK-HMAC-SHA256 Access=` + huaweiemu.DemoAccessKey + `, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$`).
		MatchString(got.Header.Get("Authorization")) {
		t.Errorf("Authorization = %s", got.Header.Get("Authorization"))
	}
}

func TestCreateWhileRecordingAdopts(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	if _, err := f.client.Create(ctx, createReq(news)); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	task, err := f.client.Create(ctx, createReq(news))
	pe := perr(t, err, providers.AlreadyExists)
	if pe.Code != CodeTaskExists || task.ID != news.String() || task.Status != providers.StatusRecording {
		t.Fatalf("adopt: %+v %+v", pe, task)
	}
	if n := len(f.emu.Recordings(news)); n != 1 {
		t.Fatalf("recordings = %d, want 1", n)
	}
}

func TestStreamOfflineAtOpenThenOnline(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	f.emu.SetStreamOnline(news, false)
	task, err := f.client.Create(ctx, createReq(news))
	pe := perr(t, err, providers.StreamOffline)
	if !strings.Contains(pe.Message, "waiting for the stream to be pushed") || task.Status != providers.StatusWaiting {
		t.Fatalf("offline: %+v %+v", pe, task)
	}
	if n := f.emu.Calls("ListRecordRules"); n != 1 {
		t.Fatalf("rule lookups = %d, want 1 (404 disambiguation)", n)
	}
	f.advance(20 * time.Second)
	f.emu.SetStreamOnline(news, true)
	if task, err = f.client.Create(ctx, createReq(news)); err != nil || task.Status != providers.StatusRecording {
		t.Fatalf("online: %+v %v", task, err)
	}
	if !f.emu.IsRecording(news) {
		t.Fatal("not recording")
	}
}

func TestMissingCommandRuleIsPermanentWithAdvice(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	s := spec.Stream{Domain: "other.example.org", App: "live", Name: "x"}
	f.emu.AddRule("other.example.org", "*", "*", "CONTINUOUS_RECORD") // wrong type does not count
	_, err := f.client.Create(ctx, createReq(s))
	pe := perr(t, err, providers.Permanent)
	if pe.Code != CodeIllegal || !strings.Contains(pe.Message, "COMMAND_RECORD") || !strings.Contains(pe.Message, "other.example.org") {
		t.Fatalf("error = %+v", pe)
	}
	if err := f.client.CheckStream(ctx, s); err == nil {
		t.Fatal("CheckStream found a rule")
	}
	f.emu.AddRule("other.example.org", "live", "*", "")
	f.clk.Advance(RulesTTL) // the domain's rules are cached for RulesTTL
	if err := f.client.CheckStream(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Create(ctx, createReq(s)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStreamPagesThroughRules(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	for i := 0; i < 150; i++ {
		f.emu.AddRule("many.example.com", "app"+strings.Repeat("x", i%7)+string(rune('A'+i%26)), "*", "")
	}
	f.emu.AddRule("many.example.com", "target", "*", "")
	if err := f.client.CheckStream(context.Background(), spec.Stream{Domain: "many.example.com", App: "target", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Calls("ListRecordRules"); n != 2 {
		t.Fatalf("ListRecordRules calls = %d, want 2 pages", n)
	}
}

func TestStartWithin10sOfStopIsRetryableWithoutCalling(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatal(err)
	}
	f.advance(4 * time.Second)
	starts := f.emu.Calls("RunRecord/START")
	before := f.clk.Now()
	_, err = f.client.Create(ctx, createReq(news))
	if !f.clk.Now().Equal(before) || f.clk.Waiters() != 0 {
		t.Fatal("Create waited for the gap; it must return it (RetryAfter) for the engine to defer")
	}
	pe := perr(t, err, providers.Retryable)
	if remaining := 6 * time.Second; pe.RetryAfter < remaining || pe.RetryAfter > remaining+time.Second {
		t.Fatalf("RetryAfter = %v, want ≈ %v", pe.RetryAfter, remaining)
	}
	if f.emu.Calls("RunRecord/START") != starts {
		t.Fatal("START was sent inside the 10 s gap")
	}
	f.advance(pe.RetryAfter)
	if _, err := f.client.Create(ctx, createReq(news)); err != nil {
		t.Fatalf("after the gap: %v", err)
	}
}

func TestServerGapRuleAfterOwnStopIsRetryable(t *testing.T) {
	f := newFixture(t, fixtureOpt{splitClocks: true})
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatal(err)
	}
	// Our clock says 10.5 s passed, Huawei's only 9 s: the server still refuses.
	f.clk.Advance(10500 * time.Millisecond)
	f.emuClk.Advance(9 * time.Second)
	_, err = f.client.Create(ctx, createReq(news))
	pe := perr(t, err, providers.Retryable)
	if pe.Code != CodeTaskExists || pe.RetryAfter <= 0 || pe.RetryAfter > 2*time.Second {
		t.Fatalf("error = %+v", pe)
	}
	if f.emu.IsRecording(news) {
		t.Fatal("recording despite the gap")
	}
}

func TestReassertAfterInterruption(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news))
	if err != nil {
		t.Fatal(err)
	}
	if task, restarted, err := f.client.Reassert(ctx, task); err != nil || restarted || task.Status != providers.StatusRecording {
		t.Fatalf("while recording: %+v %v %v", task, restarted, err)
	}
	// A short drop (under the threshold) does not end the recording.
	f.emu.SetStreamOnline(news, false)
	f.advance(3 * time.Second)
	if task, restarted, err := f.client.Reassert(ctx, task); err != nil || restarted {
		t.Fatalf("3 s into a drop: %+v %v %v", task, restarted, err)
	}
	f.emu.SetStreamOnline(news, true)
	if !f.emu.IsRecording(news) {
		t.Fatal("a 3 s drop ended the recording")
	}
	// A long drop ends it for good.
	f.emu.SetStreamOnline(news, false)
	f.advance(11 * time.Second)
	if f.emu.IsRecording(news) {
		t.Fatal("recording survived an 11 s interruption")
	}
	task, restarted, err := f.client.Reassert(ctx, task)
	perr(t, err, providers.StreamOffline)
	if restarted || task.Status != providers.StatusWaiting {
		t.Fatalf("offline: %+v %v", task, restarted)
	}
	f.advance(time.Minute)
	f.emu.SetStreamOnline(news, true)
	if f.emu.IsRecording(news) {
		t.Fatal("recording resumed by itself; seed 002 says it does not")
	}
	task, restarted, err = f.client.Reassert(ctx, task)
	if err != nil || !restarted || task.Status != providers.StatusRecording {
		t.Fatalf("after the stream came back: %+v %v %v", task, restarted, err)
	}
	recs := f.emu.Recordings(news)
	if len(recs) != 2 || recs[0].EndReason != "interrupted" || !recs[1].Ended.IsZero() {
		t.Fatalf("recordings = %+v", recs)
	}
}

func TestReassertWithin10sOfStopWaitsOutTheGap(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	task, _ := f.client.Create(ctx, createReq(news))
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatal(err)
	}
	f.advance(7 * time.Second)
	_, restarted, err := f.client.Reassert(ctx, task)
	pe := perr(t, err, providers.Retryable)
	if restarted || pe.RetryAfter < 3*time.Second || pe.RetryAfter > 4*time.Second {
		t.Fatalf("RetryAfter = %v restarted=%v", pe.RetryAfter, restarted)
	}
	f.advance(pe.RetryAfter)
	if _, restarted, err := f.client.Reassert(ctx, task); err != nil || !restarted {
		t.Fatalf("after the gap: %v %v", restarted, err)
	}
}

func TestCreateHonoursPreviousTaskStopTime(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	req := createReq(news)
	req.Previous = &providers.Task{Stream: news, Stopped: f.clk.Now().Add(-2 * time.Second)}
	_, err := f.client.Create(context.Background(), req)
	if pe := perr(t, err, providers.Retryable); pe.RetryAfter < 8*time.Second || pe.RetryAfter > 9*time.Second {
		t.Fatalf("RetryAfter = %v", pe.RetryAfter)
	}
}

func TestStopWhenNotRecordingIsNoError(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	task := providers.Task{ID: news.String(), Stream: news}
	stopped, err := f.client.Stop(ctx, task)
	if err != nil || stopped.Status != providers.StatusStopped || stopped.Stopped.IsZero() {
		t.Fatalf("idle stop: %+v %v", stopped, err)
	}
	gone := spec.Stream{Domain: "norule.example.org", App: "a", Name: "b"}
	if _, err := f.client.Stop(ctx, providers.Task{Stream: gone}); err != nil {
		t.Fatalf("stop without a rule: %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	f.faults.Set(1, 0, false)
	_, err := f.client.Create(ctx, createReq(news))
	if pe := perr(t, err, providers.Retryable); pe.HTTP != 500 || pe.RequestID == "" {
		t.Fatalf("500: %+v", pe)
	}
	f.faults.Set(0, 0, true)
	_, err = f.client.Create(ctx, createReq(news))
	if pe := perr(t, err, providers.Throttled); pe.Code != CodeThrottled || pe.HTTP != 429 {
		t.Fatalf("429: %+v", pe)
	}
	f.faults.Set(0, 0, false)
	if _, err := f.client.Create(ctx, createReq(news)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticationErrors(t *testing.T) {
	const secret = "wrong-sk-DO-NOT-LEAK-4242"
	f := newFixture(t, fixtureOpt{secret: secret})
	ctx := context.Background()
	_, err := f.client.Create(ctx, createReq(news))
	pe := perr(t, err, providers.Permanent)
	if pe.HTTP != 401 || pe.Code != CodeAuthFailed || !strings.Contains(pe.Message, "accessKey/secretKey") {
		t.Fatalf("bad sk: %+v", pe)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("secret in error")
	}
	if f.emu.IsRecording(news) {
		t.Fatal("unsigned request was executed")
	}

	g := newFixture(t, fixtureOpt{})
	g.client.now = func() time.Time { return g.clk.Now().Add(16 * time.Minute) }
	_, err = g.client.Create(ctx, createReq(news))
	if pe := perr(t, err, providers.Permanent); !strings.Contains(pe.Message, "clock") || !strings.Contains(pe.Message, "expired") {
		t.Fatalf("skew: %+v", pe)
	}
	g.client.now = g.clk.Now
	g.client.projectID = "someone-elses-project"
	_, err = g.client.Create(ctx, createReq(news))
	if pe := perr(t, err, providers.Permanent); !strings.Contains(pe.Message, "project") {
		t.Fatalf("project: %+v", pe)
	}
}

func TestHTTPSRequiredOffLoopback(t *testing.T) {
	f := newFixture(t, fixtureOpt{remoteAddr: "203.0.113.7:40000"})
	_, err := f.client.Create(context.Background(), createReq(news))
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeHTTPSRequired || !strings.Contains(pe.Message, "https://") {
		t.Fatalf("error = %+v", pe)
	}
}

func TestSecretNeverInErrorsOrTasks(t *testing.T) {
	const secret = "leak-canary-huawei-9f8e7d"
	f := newFixture(t, fixtureOpt{secret: secret})
	ctx := context.Background()
	var out []string
	task, err := f.client.Create(ctx, createReq(news))
	out = append(out, err.Error())
	b, _ := json.Marshal(task)
	out = append(out, string(b))
	_, err = f.client.Stop(ctx, providers.Task{Stream: news})
	out = append(out, err.Error())
	out = append(out, f.client.CheckStream(ctx, news).Error())
	f.srv.Close()
	_, err = f.client.Create(ctx, createReq(spec.Stream{Domain: "a", App: "b", Name: "c"}))
	perr(t, err, providers.Retryable)
	out = append(out, err.Error())
	for _, s := range out {
		if strings.Contains(s, secret) {
			t.Fatalf("secret in output: %s", s)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.Create(ctx, createReq(news))
	perr(t, err, providers.Permanent)
	if f.emu.IsRecording(news) {
		t.Fatal("cancelled call reached the emulator")
	}
}

func TestDeleteListCapabilities(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	perr(t, f.client.Delete(ctx, providers.Task{}), providers.Permanent)
	got, err := f.client.List(ctx, providers.Scope{Managed: []providers.Task{{ID: "x", Stream: news, Status: providers.StatusRecording}}})
	if err != nil || len(got) != 1 || got[0].ID != "x" || got[0].Status != providers.StatusUnknown {
		t.Fatalf("List = %+v %v", got, err)
	}
	c := f.client.Capabilities()
	if c.ScheduleAhead || c.CanList || c.MinRestartGap != 10*time.Second || c.DefaultRateLimit != 20 {
		t.Fatalf("capabilities = %+v", c)
	}
}

func TestNewValidatesDocument(t *testing.T) {
	t.Setenv("H_AK", "ak")
	t.Setenv("H_SK", "sk")
	p := &spec.Provider{Metadata: spec.Metadata{Name: "h"}, Spec: spec.ProviderSpec{Type: "huawei", Config: Config{Region: "cn-north-4"},
		Credentials: map[string]spec.SecretRef{"accessKey": {Env: "H_AK"}, "secretKey": {Env: "H_SK"}}}}
	if _, err := New(p, providers.Options{}); err == nil || !strings.Contains(err.Error(), "projectId") {
		t.Fatalf("err = %v", err)
	}
	p.Spec.Config = Config{Region: "cn-north-4", ProjectID: "p1"}
	c, err := NewClient(p, providers.Options{})
	if err != nil || c.endpoint != "https://live.cn-north-4.myhuaweicloud.com" {
		t.Fatalf("client = %+v, %v", c, err)
	}
	delete(p.Spec.Credentials, "secretKey")
	if _, err := New(p, providers.Options{}); err == nil || !strings.Contains(err.Error(), "secretKey") {
		t.Fatalf("err = %v", err)
	}
}
