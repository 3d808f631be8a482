package tencent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

// ops runs each client operation once against a fixture.
func ops(f *fixture) map[string]func(ctx context.Context) error {
	task := providers.Task{ID: "UpTbSomeTask", Stream: news, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}
	return map[string]func(ctx context.Context) error{
		"CreateRecordTask": func(ctx context.Context) error {
			_, err := f.c.Create(ctx, createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
			return err
		},
		"DescribeRecordTask": func(ctx context.Context) error {
			_, err := f.c.List(ctx, providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(time.Hour)})
			return err
		},
		"StopRecordTask":   func(ctx context.Context) error { _, err := f.c.Stop(ctx, task); return err },
		"DeleteRecordTask": func(ctx context.Context) error { return f.c.Delete(ctx, task) },
	}
}

// TestErrorClasses: every documented code reaches the engine with the right
// class and, for permanent ones, a message saying what to fix.
func TestErrorClasses(t *testing.T) {
	cases := []struct {
		code  string
		class providers.Class
		hint  string
	}{
		{"InternalError", providers.Retryable, "will retry"},
		{"InternalError.GetConfigError", providers.Retryable, "will retry"},
		{"InternalError.NetworkError", providers.Retryable, "will retry"},
		{"InternalError.SystemError", providers.Retryable, "will retry"},
		{"ServiceUnavailable", providers.Retryable, "will retry"},
		{"RequestLimitExceeded", providers.Throttled, "rate"},
		{"RequestLimitExceeded.UinLimitExceeded", providers.Throttled, "rate"},
		{"AuthFailure.SignatureExpire", providers.Retryable, "clock"},
		{"AuthFailure.SignatureFailure", providers.Permanent, "secretKey"},
		{"AuthFailure.SecretIdNotFound", providers.Permanent, "secretId"},
		{"AuthFailure.InvalidSecretId", providers.Permanent, "secretId"},
		{"AuthFailure.TokenFailure", providers.Permanent, "token"},
		{"AuthFailure.InvalidAuthorization", providers.Permanent, "secretId"},
		{"AuthFailure.UnauthorizedOperation", providers.Permanent, "CAM"},
		{"AuthFailure.MFAFailure", providers.Permanent, "secretId"},
		{"InvalidParameter", providers.Permanent, "check the Recording"},
		{"InvalidParameterValue", providers.Permanent, "check the Recording"},
		{"InvalidParameter.Something", providers.Permanent, "check the Recording"},
		{"MissingParameter", providers.Permanent, "bug"},
		{"UnknownParameter", providers.Permanent, "bug"},
		{"LimitExceeded.MaximumRunningTask", providers.Permanent, "at most 3 overlapping"},
		{"ResourceUnavailable.InvalidVodStatus", providers.Permanent, "activate VOD"},
		{"ResourceNotFound.ForbidService", providers.Permanent, "forbidden"},
		{"ResourceNotFound.FreezeService", providers.Permanent, "frozen"},
		{"ResourceNotFound.StopService", providers.Permanent, "top up"},
		{"ResourceNotFound.UserDisableService", providers.Permanent, "re-enable"},
		{"UnsupportedOperation", providers.Permanent, "legacy"},
		{"UnsupportedRegion", providers.Permanent, "ap-guangzhou"},
		{"InvalidAction", providers.Permanent, "endpoint"},
		{"NoSuchVersion", providers.Permanent, "endpoint"},
		{"ActionOffline", providers.Permanent, "update"},
		{"UnsupportedProtocol", providers.Permanent, "endpoint"},
		{"SomethingNew.Unheard", providers.Permanent, "unexpected"},
	}
	f := newFixture(t)
	f.emu.SetRateLimit(0)
	for _, tc := range cases {
		for op, run := range ops(f) {
			f.emu.FailNext(op, tc.code)
			err := run(context.Background())
			pe := asProviderError(t, err)
			if pe.Class != tc.class || pe.Code != tc.code || pe.Op != op || pe.Provider != "tencent" || pe.RequestID == "" {
				t.Errorf("%s %s: got class %s code %q op %q request %q", op, tc.code, pe.Class, pe.Code, pe.Op, pe.RequestID)
			}
			if !strings.Contains(pe.Message, tc.hint) {
				t.Errorf("%s %s: message %q lacks %q", op, tc.code, pe.Message, tc.hint)
			}
			if tc.class == providers.Throttled && pe.RetryAfter <= 0 {
				t.Errorf("%s %s: no RetryAfter", op, tc.code)
			}
			if providers.IsRetryable(err) != (tc.class == providers.Retryable || tc.class == providers.Throttled) {
				t.Errorf("%s %s: IsRetryable disagrees with class", op, tc.code)
			}
		}
	}
}

// TestTaskNotFound: Stop and Delete of a task the service does not know
// succeed (the task is gone), while Describe never says NotFound.
func TestTaskNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unknown := providers.Task{ID: "UpTbUnknown", Stream: news}
	got, err := f.c.Stop(ctx, unknown)
	if err != nil || got.Status != providers.StatusGone {
		t.Fatalf("Stop unknown: %+v, %v", got, err)
	}
	if err := f.c.Delete(ctx, unknown); err != nil {
		t.Fatalf("Delete unknown: %v", err)
	}
	// The raw answer is ResourceNotFound.TaskId, classified NotFound.
	resp := f.rawCall(t, "StopRecordTask", `{"TaskId":"UpTbUnknown"}`, nil)
	if errCode(resp) != CodeTaskNotFound {
		t.Fatalf("emulator answered %v", resp)
	}
	// An InvalidParameter saying the task does not exist counts as gone too.
	f.emu.FailNext("StopRecordTask", CodeInvalidParameter)
	if _, err := f.c.Stop(ctx, unknown); err == nil {
		t.Fatalf("a plain InvalidParameter must not be swallowed")
	}
	if !isGone(f.c.classify("StopRecordTask", CodeInvalidParameter, "TaskId not exist.", "r")) {
		t.Errorf("InvalidParameter 'TaskId not exist' not treated as gone")
	}
}

// TestAuthFailures: wrong key, unknown id and a skewed clock, end to end
// through the emulator's signature check.
func TestAuthFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	t.Setenv("TEST_TC_SECRET_KEY", wrongKey)
	c := f.client(t, providers.Options{})
	_, err := c.Create(ctx, createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
	if pe := asProviderError(t, err); pe.Code != CodeSignatureFailure || pe.Class != providers.Permanent || !strings.Contains(pe.Message, "secretKey") {
		t.Errorf("wrong key: %v", err)
	}

	t.Setenv("TEST_TC_SECRET_KEY", tencentemu.DemoSecretKey)
	t.Setenv("TEST_TC_SECRET_ID", "AKIDnobodyHasThisId000000000000000000")
	c = f.client(t, providers.Options{})
	_, err = c.List(ctx, providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(time.Hour)})
	if pe := asProviderError(t, err); pe.Code != CodeSecretIDNotFound || pe.Class != providers.Permanent {
		t.Errorf("unknown id: %v", err)
	}
	if strings.Contains(err.Error(), "AKIDnobodyHasThisId") {
		t.Errorf("error shows the secretId: %v", err)
	}

	t.Setenv("TEST_TC_SECRET_ID", tencentemu.DemoSecretID)
	for _, skew := range []time.Duration{6 * time.Minute, -6 * time.Minute} {
		c = f.client(t, providers.Options{Clock: skewed{f.clk, skew}})
		_, err = c.Stop(ctx, providers.Task{ID: "x"})
		if pe := asProviderError(t, err); pe.Code != CodeSignatureExpire || pe.Class != providers.Retryable || !strings.Contains(pe.Message, "clock") {
			t.Errorf("skew %v: %v", skew, err)
		}
	}
	c = f.client(t, providers.Options{Clock: skewed{f.clk, 4 * time.Minute}})
	if _, err := c.Stop(ctx, providers.Task{ID: "x"}); err != nil {
		t.Errorf("4 minutes of skew are tolerated: %v", err)
	}
}

// TestRegionRejected: a region without the task API (ap-shanghai is a CSS
// region, but not one of the task API's) is a permanent error listing the
// allowed ones.
func TestRegionRejected(t *testing.T) {
	for _, region := range []string{"ap-nowhere", "ap-shanghai"} {
		f := newFixture(t)
		setRegion(f.doc, region)
		c := f.client(t, providers.Options{})
		_, err := c.Stop(context.Background(), providers.Task{ID: "x"})
		pe := asProviderError(t, err)
		if pe.Code != CodeUnsupportedRegion || pe.Class != providers.Permanent || !strings.Contains(pe.Message, region) ||
			!strings.Contains(pe.Message, "ap-singapore") || strings.Contains(pe.Message, "ap-beijing") {
			t.Errorf("%s: got %v", region, err)
		}
	}
}

// TestVODInactive: without VOD nothing can be created, and the user is told.
func TestVODInactive(t *testing.T) {
	f := newFixture(t)
	f.emu.SetVODActive(false)
	_, err := f.c.Create(context.Background(), createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
	pe := asProviderError(t, err)
	if pe.Code != CodeInvalidVodStatus || pe.Class != providers.Permanent || !strings.Contains(pe.Message, "activate VOD") {
		t.Errorf("got %v", err)
	}
	if len(f.emu.Tasks()) != 0 {
		t.Errorf("a task was created")
	}
}

// TestRateLimit: the 21st request within one second of the emulator clock
// is throttled; a second later requests pass again.
func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	f.emu.SetWallClock(f.clk.Now) // make the bucket follow only the test clock
	f.emu.SetRateLimit(20)
	ctx := context.Background()
	stop := func() error { _, err := f.c.Stop(ctx, providers.Task{ID: "x"}); return err }
	for i := range 20 {
		if err := stop(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := stop()
	if pe := asProviderError(t, err); pe.Class != providers.Throttled || pe.Code != CodeRequestLimitExceeded || pe.RetryAfter != time.Second {
		t.Fatalf("21st request: %v", err)
	}
	// Limits are per action.
	if err := f.c.Delete(ctx, providers.Task{ID: "x"}); err != nil {
		t.Fatalf("other action throttled: %v", err)
	}
	f.clk.Advance(time.Second)
	if err := stop(); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

// TestTransportErrors: non-200 answers, garbage, closed ports and timeouts
// are retryable; a cancelled context is not.
func TestTransportErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	serve := func(status int, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, tc := range map[string]struct {
		endpoint string
		class    providers.Class
		http     int
	}{
		"502":         {serve(502, "bad gateway"), providers.Retryable, 502},
		"429":         {serve(429, ""), providers.Throttled, 429},
		"not json":    {serve(200, "<html>"), providers.Retryable, 200},
		"no Response": {serve(200, `{"foo":1}`), providers.Retryable, 200},
		"closed port": {closed.URL, providers.Retryable, 0},
	} {
		setEndpoint(f.doc, tc.endpoint)
		c := f.client(t, providers.Options{})
		_, err := c.Stop(ctx, providers.Task{ID: "x"})
		pe := asProviderError(t, err)
		if pe.Class != tc.class || pe.HTTP != tc.http {
			t.Errorf("%s: class %s http %d: %v", name, pe.Class, pe.HTTP, err)
		}
	}

	setEndpoint(f.doc, f.srv.URL)
	f.faults.SetTimeoutRate(1)
	c := f.client(t, providers.Options{HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	_, err := c.Stop(ctx, providers.Task{ID: "x"})
	if pe := asProviderError(t, err); pe.Class != providers.Retryable {
		t.Errorf("timeout: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = f.c.Stop(cctx, providers.Task{ID: "x"})
	if pe := asProviderError(t, err); pe.Class != providers.Permanent || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	dctx, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, err = f.c.Stop(dctx, providers.Task{ID: "x"})
	if pe := asProviderError(t, err); pe.Class != providers.Retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	f.faults.SetTimeoutRate(0)
}

// TestSecretsScrubbed: even a service echoing credentials in its messages
// does not get them into errors.
func TestSecretsScrubbed(t *testing.T) {
	f := newFixture(t)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad %s with key %s"},"RequestId":"r"}}`,
			r.Header.Get("Authorization"), tencentemu.DemoSecretKey)
	}))
	defer echo.Close()
	setEndpoint(f.doc, echo.URL)
	c := f.client(t, providers.Options{})
	_, err := c.Stop(context.Background(), providers.Task{ID: "x"})
	if err == nil || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("got %v", err)
	}
	noSecrets(t, err)
}

// TestInjectedFaults: with 30% injected errors and forced throttling phases,
// every failure is Retryable or Throttled (never Permanent), and retrying
// converges to exactly one task per window.
func TestInjectedFaults(t *testing.T) {
	f := newFixture(t)
	f.emu.SetRateLimit(0)
	f.faults.Set(0.3, 0, false)
	ctx := context.Background()
	failures := 0
	retry := func(op func() error) {
		for attempt := 0; ; attempt++ {
			err := op()
			if err == nil {
				return
			}
			failures++
			noSecrets(t, err)
			if c := providers.ClassOf(err); c != providers.Retryable && c != providers.Throttled {
				t.Fatalf("injected fault classified %s: %v", c, err)
			}
			if attempt == 5 {
				f.faults.Set(0.3, 0, false) // end a throttling phase
			}
			if attempt > 50 {
				t.Fatalf("no success after 50 attempts: %v", err)
			}
		}
	}
	var created []providers.Task
	for i := range 30 {
		if i%10 == 5 {
			f.faults.Set(0.3, 0, true) // a burst of throttling
		}
		start := t0.Add(time.Duration(i+1) * time.Hour)
		var task providers.Task
		retry(func() (err error) {
			task, err = f.c.Create(ctx, createReq(news, start, start.Add(30*time.Minute)))
			return err
		})
		created = append(created, task)
	}
	var listed []providers.Task
	retry(func() (err error) {
		listed, err = f.c.List(ctx, providers.Scope{Streams: []spec.Stream{news}, From: t0, To: t0.Add(48 * time.Hour), Managed: created})
		return err
	})
	for _, task := range created[:10] {
		retry(func() error { _, err := f.c.Stop(ctx, task); return err })
		retry(func() error { return f.c.Delete(ctx, task) })
	}
	if failures < 10 {
		t.Errorf("only %d failures injected; the test did not exercise faults", failures)
	}
	if n := len(f.emu.Tasks()); n != 30 {
		t.Errorf("emulator holds %d tasks for 30 windows", n)
	}
	if len(listed) != 30 {
		t.Errorf("listed %d tasks", len(listed))
	}
}
