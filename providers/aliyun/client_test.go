package aliyun

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

func TestCreateStartsRecording(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	task, err := f.client.Create(context.Background(), createReq(news, false))
	if err != nil {
		t.Fatal(err)
	}
	if task.ID != "push.example.com/live/news" || task.Status != providers.StatusRecording || task.Stream != news {
		t.Fatalf("task = %+v", task)
	}
	if task.Handle != nil {
		t.Fatalf("handle without finalizeImmediately = %v, want none", task.Handle)
	}
	if !f.emu.IsRecording(news) {
		t.Fatal("emulator is not recording after Create")
	}
	if n := f.emu.Calls("RealTimeRecordCommand/start"); n != 1 {
		t.Fatalf("start calls = %d, want 1", n)
	}
}

func TestCreateWhileRecordingAdopts(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	if _, err := f.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatal(err)
	}
	task, err := f.client.Create(ctx, createReq(news, false))
	pe := perr(t, err, providers.AlreadyExists)
	if pe.Code != CodeTaskAlreadyStarted || pe.HTTP != 409 {
		t.Fatalf("error = %+v", pe)
	}
	if task.ID != "push.example.com/live/news" || task.Status != providers.StatusRecording {
		t.Fatalf("adoptable task = %+v", task)
	}
	if n := len(f.emu.Recordings(news)); n != 1 {
		t.Fatalf("recordings = %d, want 1 (no duplicate)", n)
	}
}

func TestStreamOfflineAtOpenThenOnline(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	f.emu.SetStreamOnline(news, false)
	task, err := f.client.Create(ctx, createReq(news, false))
	pe := perr(t, err, providers.StreamOffline)
	if !strings.Contains(pe.Message, "waiting for the stream to be pushed") || pe.Code != CodeStreamNotFound {
		t.Fatalf("error = %+v", pe)
	}
	if task.Status != providers.StatusWaiting || task.ID == "" {
		t.Fatalf("task = %+v, want waiting", task)
	}
	if f.emu.IsRecording(news) {
		t.Fatal("recording an offline stream")
	}
	f.emu.SetStreamOnline(news, true)
	if task, err = f.client.Create(ctx, createReq(news, false)); err != nil || task.Status != providers.StatusRecording {
		t.Fatalf("after the stream came online: %+v, %v", task, err)
	}
	if !f.emu.IsRecording(news) {
		t.Fatal("not recording once the stream is pushed")
	}
}

func TestMissingRecordConfigIsPermanentWithAdvice(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	s := spec.Stream{Domain: "other.example.org", App: "live", Name: "x"}
	_, err := f.client.Create(context.Background(), createReq(s, false))
	pe := perr(t, err, providers.Permanent)
	if pe.Code != CodeConfigNotFound {
		t.Fatalf("code = %s", pe.Code)
	}
	for _, want := range []string{"recording configuration", "OnDemand=7", "AddLiveAppRecordConfig"} {
		if !strings.Contains(pe.Message, want) {
			t.Errorf("message %q lacks %q", pe.Message, want)
		}
	}
	// Adding the configuration fixes it.
	f.emu.AddRecordConfig("other.example.org", "live")
	if _, err := f.client.Create(context.Background(), createReq(s, false)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStream(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	if err := f.client.CheckStream(ctx, news); err != nil {
		t.Fatalf("demo domain: %v", err)
	}
	for i := 0; i < 40; i++ { // more than one page
		f.emu.AddRecordConfig("many.example.com", "app"+string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	if err := f.client.CheckStream(ctx, spec.Stream{Domain: "many.example.com", App: "appbn", Name: "s"}); err != nil {
		t.Fatalf("config on page 2 not found: %v", err)
	}
	f.emu.RemoveRecordConfig("push.example.com", "*")
	if err := f.client.CheckStream(ctx, news); err != nil {
		t.Fatalf("within ConfigTTL the configuration read is trusted: %v", err)
	}
	f.clk.Advance(ConfigTTL)
	pe := perr(t, f.client.CheckStream(ctx, news), providers.Permanent)
	if !strings.Contains(pe.Message, "OnDemand=7") {
		t.Fatalf("message = %q", pe.Message)
	}
}

func TestStopFileAppearsAfter180s(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news, false))
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(30 * time.Minute)
	stopped, err := f.client.Stop(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != providers.StatusStopped || !stopped.Stopped.Equal(f.clk.Now()) {
		t.Fatalf("stopped task = %+v", stopped)
	}
	if f.emu.IsRecording(news) {
		t.Fatal("still recording after stop")
	}
	if n := f.emu.Calls("RealTimeRecordCommand/cancel_delay"); n != 0 {
		t.Fatalf("cancel_delay sent without finalizeImmediately (%d)", n)
	}
	f.clk.Advance(179 * time.Second)
	if files := f.emu.Files(news); len(files) != 0 {
		t.Fatalf("file finalised before 180 s: %v", files)
	}
	f.clk.Advance(time.Second)
	if files := f.emu.Files(news); len(files) != 1 {
		t.Fatalf("files after 180 s = %v, want 1", files)
	}
}

func TestStopFinalizeImmediately(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news, true))
	if err != nil {
		t.Fatal(err)
	}
	if task.Handle[HandleFinalize] != "1" {
		t.Fatalf("handle = %v, want finalize=1", task.Handle)
	}
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatal(err)
	}
	if files := f.emu.Files(news); len(files) != 1 {
		t.Fatalf("files right after stop+cancel_delay = %v, want 1", files)
	}
	if n := f.emu.Calls("RealTimeRecordCommand/cancel_delay"); n != 1 {
		t.Fatalf("cancel_delay calls = %d", n)
	}
}

func TestStopWhenNotRecordingIsNoError(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	task := providers.Task{ID: news.String(), Stream: news, Handle: map[string]string{HandleFinalize: "1"}}
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatalf("stop of an idle stream: %v", err)
	}
	f.emu.SetStreamOnline(news, false)
	if _, err := f.client.Stop(ctx, task); err != nil {
		t.Fatalf("stop of an offline stream: %v", err)
	}
}

func TestReassertAfterInterruption(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	task, err := f.client.Create(ctx, createReq(news, false))
	if err != nil {
		t.Fatal(err)
	}
	task, restarted, err := f.client.Reassert(ctx, task)
	if err != nil || restarted || task.Status != providers.StatusRecording {
		t.Fatalf("reassert while recording: %+v restarted=%v err=%v", task, restarted, err)
	}
	f.clk.Advance(10 * time.Minute)
	f.emu.SetStreamOnline(news, false) // the broadcaster drops
	if f.emu.IsRecording(news) {
		t.Fatal("manual recording survived the interruption")
	}
	task, restarted, err = f.client.Reassert(ctx, task)
	perr(t, err, providers.StreamOffline)
	if restarted || task.Status != providers.StatusWaiting {
		t.Fatalf("reassert while offline: %+v restarted=%v", task, restarted)
	}
	f.clk.Advance(2 * time.Minute)
	f.emu.SetStreamOnline(news, true)
	if f.emu.IsRecording(news) {
		t.Fatal("manual recording resumed by itself; seed 003 says it does not")
	}
	task, restarted, err = f.client.Reassert(ctx, task)
	if err != nil || !restarted || task.Status != providers.StatusRecording {
		t.Fatalf("reassert after the stream came back: %+v restarted=%v err=%v", task, restarted, err)
	}
	recs := f.emu.Recordings(news)
	if len(recs) != 2 || recs[0].EndReason != "interrupted" || !recs[1].Ended.IsZero() {
		t.Fatalf("recordings = %+v", recs)
	}
}

func TestThrottlingAt50QPS(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	f.clk.Advance(300 * time.Millisecond)
	for i := 0; i < aliyunemu.DefaultQPS; i++ {
		s := spec.Stream{Domain: "push.example.com", App: "live", Name: "s" + string(rune('A'+i))}
		if _, err := f.client.Create(ctx, createReq(s, false)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := f.client.Create(ctx, createReq(news, false))
	pe := perr(t, err, providers.Throttled)
	if pe.Code != CodeThrottlingUser || pe.RetryAfter != 700*time.Millisecond {
		t.Fatalf("throttle error = %+v, want Throttling.User with RetryAfter 700ms", pe)
	}
	f.clk.Advance(pe.RetryAfter)
	if _, err := f.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	f.faults.Set(1, 0, false)
	_, err := f.client.Create(ctx, createReq(news, false))
	if pe := perr(t, err, providers.Retryable); pe.Code != CodeInternalError || pe.HTTP != 500 || pe.RequestID == "" {
		t.Fatalf("error = %+v", pe)
	}
	f.faults.Set(0, 0, true)
	_, err = f.client.Create(ctx, createReq(news, false))
	perr(t, err, providers.Throttled)
	f.faults.Set(0, 0, false)
	if _, err := f.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticationErrors(t *testing.T) {
	const secret = "wrong-secret-DO-NOT-LEAK-7731"
	f := newFixture(t, secret)
	ctx := context.Background()
	var msgs []string
	_, err := f.client.Create(ctx, createReq(news, false))
	pe := perr(t, err, providers.Permanent)
	if pe.Code != CodeSignatureDoesNotMatch || !strings.Contains(pe.Message, "accessKeySecret") {
		t.Fatalf("bad secret: %+v", pe)
	}
	msgs = append(msgs, err.Error())

	g := newFixture(t, aliyunemu.DemoAccessKeySecret)
	g.client.keyID = "LTAIunknown"
	_, err = g.client.Create(ctx, createReq(news, false))
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeAccessKeyNotFound {
		t.Fatalf("unknown key: %+v", pe)
	}
	g.client.keyID = aliyunemu.DemoAccessKeyID

	skewed := newClock()
	g.client.now = func() time.Time { return skewed.Now().Add(-16 * time.Minute) }
	_, err = g.client.Create(ctx, createReq(news, false))
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeTimestampExpired || !strings.Contains(pe.Message, "clock") {
		t.Fatalf("skewed clock: %+v", pe)
	}
	g.client.now = g.clk.Now

	g.client.nonce = func() string { return "0123456789abcdef0123456789abcdef" }
	if _, err := g.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatal(err)
	}
	_, err = g.client.Create(ctx, createReq(news, false))
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeNonceUsed {
		t.Fatalf("reused nonce: %+v", pe)
	}
	g.client.nonce = newNonce

	err = g.client.call(ctx, "RealTimeRecordCommand", map[string]string{"Action": "RealTimeRecordCommand", "Command": "start", "DomainName": "push.example.com"}, nil)
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeMissingParam || !strings.Contains(pe.Message, "AppName") {
		t.Fatalf("missing param: %+v", pe)
	}
	err = g.client.call(ctx, "RealTimeRecordCommand", map[string]string{"Action": "RealTimeRecordCommand", "Command": "pause",
		"DomainName": "d", "AppName": "a", "StreamName": "s"}, nil)
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeMalformedParam {
		t.Fatalf("malformed: %+v", pe)
	}
	for _, m := range msgs {
		if strings.Contains(m, secret) {
			t.Fatalf("secret leaked into error: %s", m)
		}
	}
}

func TestSecretNeverInErrorsOrTasks(t *testing.T) {
	const secret = "leak-canary-0e1f2a3b4c5d"
	f := newFixture(t, secret)
	ctx := context.Background()
	var out []string
	task, err := f.client.Create(ctx, createReq(news, true))
	out = append(out, err.Error())
	b, _ := json.Marshal(task)
	out = append(out, string(b))
	_, err = f.client.Stop(ctx, providers.Task{ID: news.String(), Stream: news})
	out = append(out, err.Error())
	f.srv.Close()
	_, err = f.client.Create(ctx, createReq(news, false))
	perr(t, err, providers.Retryable)
	out = append(out, err.Error())
	if strings.Contains(err.Error(), "Signature=") {
		t.Fatalf("transport error echoes the signed URL: %v", err)
	}
	for _, s := range out {
		if strings.Contains(s, secret) {
			t.Fatalf("secret in output: %s", s)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.Create(ctx, createReq(news, false))
	perr(t, err, providers.Permanent)
	if f.emu.IsRecording(news) {
		t.Fatal("cancelled call reached the emulator")
	}
}

func TestDeleteAndList(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	perr(t, f.client.Delete(ctx, providers.Task{ID: "x"}), providers.Permanent)
	managed := []providers.Task{{ID: news.String(), Stream: news, Status: providers.StatusRecording, Handle: map[string]string{HandleFinalize: "1"}}}
	got, err := f.client.List(ctx, providers.Scope{Managed: managed})
	if err != nil || len(got) != 1 || got[0].Status != providers.StatusUnknown || got[0].Handle[HandleFinalize] != "1" {
		t.Fatalf("List = %+v, %v", got, err)
	}
	if c := f.client.Capabilities(); c.ScheduleAhead || c.CanList || c.DefaultRateLimit != 50 || c.StopFinalizeDelay != 180*time.Second {
		t.Fatalf("capabilities = %+v", c)
	}
}

func TestWireFormat(t *testing.T) {
	clk := newClock()
	emu := aliyunemu.NewEmulator(emu.Config{Now: clk.Now})
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(r.Context())
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("A_ID", aliyunemu.DemoAccessKeyID)
	t.Setenv("A_SK", aliyunemu.DemoAccessKeySecret)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "a"}, Spec: spec.ProviderSpec{Type: "aliyun", Config: Config{Region: "cn-beijing", Endpoint: srv.URL},
		Credentials: map[string]spec.SecretRef{"accessKeyId": {Env: "A_ID"}, "accessKeySecret": {Env: "A_SK"}}}}
	prov, err := providers.New(p, providers.Options{Clock: clk, UserAgent: "recordctl/9.9"})
	if err != nil {
		t.Fatal(err)
	}
	odd := spec.Stream{Domain: "push.example.com", App: "app/1", Name: "room 42*~"}
	if _, err := prov.Create(context.Background(), createReq(odd, false)); err != nil {
		t.Fatal(err)
	}
	if !emu.IsRecording(odd) {
		t.Fatal("stream name with space, * and ~ did not round-trip")
	}
	q := got.URL.Query()
	checks := map[string]string{"Format": "JSON", "Version": "2016-11-01", "RegionId": "cn-beijing", "Action": "RealTimeRecordCommand",
		"Command": "start", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Timestamp": "2026-11-21T11:00:00Z"}
	for k, want := range checks {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(q.Get("SignatureNonce")) {
		t.Errorf("nonce %q is not 32 hex", q.Get("SignatureNonce"))
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		got.Header.Get("User-Agent") != "recordctl/9.9" {
		t.Errorf("method %s, headers %v", got.Method, got.Header)
	}
}

func TestNewRequiresCredentials(t *testing.T) {
	t.Setenv("A_ID", "id")
	p := &spec.Provider{Metadata: spec.Metadata{Name: "a"}, Spec: spec.ProviderSpec{Type: "aliyun",
		Credentials: map[string]spec.SecretRef{"accessKeyId": {Env: "A_ID"}}}}
	if _, err := New(p, providers.Options{}); err == nil || !strings.Contains(err.Error(), "accessKeySecret") {
		t.Fatalf("err = %v", err)
	}
	p.Spec.Credentials["accessKeySecret"] = spec.SecretRef{Env: "A_UNSET_VARIABLE"}
	if _, err := New(p, providers.Options{}); err == nil || !strings.Contains(err.Error(), "A_UNSET_VARIABLE") {
		t.Fatalf("err = %v", err)
	}
}

// TestFinalizeImmediatelyIsACapability: the planner learns from the
// provider, not from Alibaba's option, that the file appears at once.
func TestFinalizeImmediatelyIsACapability(t *testing.T) {
	for _, tc := range []struct {
		opts spec.RecordingOptions
		want time.Duration
	}{{nil, 180 * time.Second}, {Options{}, 180 * time.Second}, {Options{FinalizeImmediately: true}, 0}} {
		rec := &spec.Recording{Spec: spec.RecordingSpec{Options: tc.opts}}
		c := providers.CapabilitiesFor(capabilities, rec)
		if c.StopFinalizeDelay != tc.want || (c.StopFinalizeHint == "") != (tc.want == 0) {
			t.Errorf("options %+v: finalize delay %s (hint %q), want %s", tc.opts, c.StopFinalizeDelay, c.StopFinalizeHint, tc.want)
		}
	}
	if capabilities.StopFinalizeDelay != 180*time.Second {
		t.Error("CapabilitiesFor changed the type's capabilities")
	}
}
