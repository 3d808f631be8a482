package tencent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
)

func unix(d time.Duration) int64 { return t0.Add(d).Unix() }

// TestEmulatorValidatesCreate: the service's own checks, bypassing the
// client's local ones.
func TestEmulatorValidatesCreate(t *testing.T) {
	f := newFixture(t)
	body := func(extra string) string {
		return `{"StreamName":"news","DomainName":"push.example.com","AppName":"live"` + extra + `}`
	}
	cases := []struct {
		name, body, code, msg string
	}{
		{"missing EndTime", body(""), CodeMissingParameter, "`EndTime`"},
		{"missing StreamName", fmt.Sprintf(`{"DomainName":"d","AppName":"a","EndTime":%d}`, unix(time.Hour)), CodeMissingParameter, "`StreamName`"},
		{"empty AppName", fmt.Sprintf(`{"StreamName":"n","DomainName":"d","AppName":"","EndTime":%d}`, unix(time.Hour)), CodeInvalidParameter, "`AppName`"},
		{"unknown field", body(fmt.Sprintf(`,"EndTime":%d,"Colour":"red"`, unix(time.Hour))), CodeUnknownParameter, "`Colour`"},
		{"string time", body(fmt.Sprintf(`,"EndTime":"%d"`, unix(time.Hour))), CodeInvalidParamValue, "`EndTime`"},
		{"negative time", body(`,"EndTime":-5`), CodeInvalidParamValue, "`EndTime`"},
		{"end in past", body(fmt.Sprintf(`,"StartTime":%d,"EndTime":%d`, unix(-2*time.Hour), unix(-time.Hour))), CodeInvalidParameter, "current time"},
		{"end before start", body(fmt.Sprintf(`,"StartTime":%d,"EndTime":%d`, unix(2*time.Hour), unix(time.Hour))), CodeInvalidParameter, "later than StartTime"},
		{"7 days", body(fmt.Sprintf(`,"StartTime":%d,"EndTime":%d`, unix(6*24*time.Hour+time.Hour), unix(7*24*time.Hour))), CodeInvalidParameter, "7 days"},
		{"24 hours", body(fmt.Sprintf(`,"StartTime":%d,"EndTime":%d`, unix(time.Hour), unix(25*time.Hour+time.Second))), CodeInvalidParameter, "24 hours"},
		{"stream type", body(fmt.Sprintf(`,"EndTime":%d,"StreamType":3`, unix(time.Hour))), CodeInvalidParameter, "StreamType"},
		{"not json", `{"StreamName":`, CodeInvalidParameter, "JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.rawCall(t, "CreateRecordTask", tc.body, nil)
			msg, _ := resp["Error"].(map[string]any)["Message"].(string)
			if errCode(resp) != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("got %v, want %s mentioning %q", resp, tc.code, tc.msg)
			}
		})
	}
	if len(f.emu.Tasks()) != 0 {
		t.Fatalf("invalid requests created tasks")
	}
	// Without StartTime the task starts now.
	resp := f.rawCall(t, "CreateRecordTask", body(fmt.Sprintf(`,"EndTime":%d`, unix(time.Hour))), nil)
	id, _ := resp["TaskId"].(string)
	task, ok := f.emu.Task(id)
	if !ok || !task.StartTime.Equal(t0) || task.Status != providers.StatusRecording {
		t.Errorf("immediate task: %v %+v", resp, task)
	}
}

// TestEmulatorProtocol: wrong method, content type, headers, version,
// action or signature get the service's error codes.
func TestEmulatorProtocol(t *testing.T) {
	f := newFixture(t)
	valid := `{"TaskId":"x"}`
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		code   string
	}{
		{"GET", func(r *http.Request) { r.Method = http.MethodGet }, CodeUnsupportedProtocol},
		{"form body", func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, CodeInvalidParameter},
		{"no action", func(r *http.Request) { r.Header.Del("X-TC-Action") }, CodeMissingParameter},
		{"no region", func(r *http.Request) { r.Header.Del("X-TC-Region") }, CodeMissingParameter},
		{"old version", func(r *http.Request) { r.Header.Set("X-TC-Version", "2017-03-12") }, CodeNoSuchVersion},
		{"unknown action", func(r *http.Request) { r.Header.Set("X-TC-Action", "CreateLiveRecord") }, CodeInvalidAction},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, CodeInvalidAuthorization},
		{"HMAC-SHA1", func(r *http.Request) { r.Header.Set("Authorization", "HmacSHA1 abc") }, CodeInvalidAuthorization},
		{"other id", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), tencentemu.DemoSecretID, "AKIDother", 1))
		}, CodeSecretIDNotFound},
		{"tampered signature", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}, CodeSignatureFailure},
		{"tampered body", func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
		}, CodeSignatureFailure},
		{"signed for another host", func(r *http.Request) { r.Host = "live.tencentcloudapi.com" }, CodeSignatureFailure},
		{"old timestamp", func(r *http.Request) {
			ts := strconv.FormatInt(t0.Add(-10*time.Minute).Unix(), 10)
			r.Header.Set("X-TC-Timestamp", ts)
		}, CodeSignatureExpire},
		{"bad timestamp", func(r *http.Request) { r.Header.Set("X-TC-Timestamp", "soon") }, CodeInvalidParamValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := errCode(f.rawCall(t, "StopRecordTask", valid, tc.mutate)); got != tc.code {
				t.Errorf("got %q, want %q", got, tc.code)
			}
		})
	}
	// The untouched request reaches the action (unknown task).
	if got := errCode(f.rawCall(t, "StopRecordTask", valid, nil)); got != CodeTaskNotFound {
		t.Errorf("valid request answered %q", got)
	}
	// UNSIGNED-PAYLOAD is honoured as in the SDK.
	unsigned := func(r *http.Request) {
		r.Header.Set("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD")
		h := header{"content-type", "application/json"}
		_, sig := Signer{SecretID: tencentemu.DemoSecretID, SecretKey: tencentemu.DemoSecretKey}.sign("POST", "/", "", []header{h, {"host", r.Host}}, hashHex([]byte("UNSIGNED-PAYLOAD")), t0.Unix())
		a := r.Header.Get("Authorization")
		r.Header.Set("Authorization", a[:strings.LastIndex(a, "=")+1]+sig)
	}
	if got := errCode(f.rawCall(t, "StopRecordTask", valid, unsigned)); got != CodeTaskNotFound {
		t.Errorf("unsigned payload answered %q", got)
	}
}

// TestEmulatorDescribe: the week rule, filters, paging tokens.
func TestEmulatorDescribe(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.emu.InjectTask(news, t0.Add(time.Duration(i)*time.Hour), t0.Add(time.Duration(i)*time.Hour+time.Minute))
	}
	f.emu.InjectTask(sports, t0, t0.Add(time.Hour))
	f.emu.InjectTask(news, t0.Add(-time.Hour), t0.Add(time.Hour)) // starts before the window

	q := func(extra string) string {
		return fmt.Sprintf(`{"StartTime":%d,"EndTime":%d%s}`, unix(0), unix(24*time.Hour), extra)
	}
	if got := errCode(f.rawCall(t, "DescribeRecordTask", fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, unix(0), unix(7*24*time.Hour+time.Second)), nil)); got != CodeInvalidParameter {
		t.Errorf("8-day window answered %q", got)
	}
	if got := errCode(f.rawCall(t, "DescribeRecordTask", fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, unix(-91*24*time.Hour), unix(-90*24*time.Hour)), nil)); got != CodeInvalidParameter {
		t.Errorf("window 91 days back answered %q", got)
	}
	if got := errCode(f.rawCall(t, "DescribeRecordTask", `{"EndTime":1}`, nil)); got != CodeMissingParameter {
		t.Errorf("no StartTime answered %q", got)
	}
	f.emu.SetPageSize(2)
	var ids []string
	tok := ""
	pages := 0
	for {
		extra := `,"StreamName":"news"`
		if tok != "" {
			extra += `,"ScrollToken":"` + tok + `"`
		}
		resp := f.rawCall(t, "DescribeRecordTask", q(extra), nil)
		if errCode(resp) != "" {
			t.Fatalf("page %d: %v", pages, resp)
		}
		list, _ := resp["TaskList"].([]any)
		if len(list) > 2 {
			t.Fatalf("page of %d", len(list))
		}
		for _, x := range list {
			ids = append(ids, x.(map[string]any)["TaskId"].(string))
		}
		pages++
		tok, _ = resp["ScrollToken"].(string)
		if tok == "" {
			break
		}
	}
	if len(ids) != 5 || pages != 3 {
		t.Errorf("read %d tasks in %d pages, want 5 in 3", len(ids), pages)
	}
	// A token is tied to its query.
	resp := f.rawCall(t, "DescribeRecordTask", q(`,"StreamName":"news"`), nil)
	tok, _ = resp["ScrollToken"].(string)
	if got := errCode(f.rawCall(t, "DescribeRecordTask", q(`,"StreamName":"sports","ScrollToken":"`+tok+`"`), nil)); got != CodeInvalidParameter {
		t.Errorf("foreign token answered %q", got)
	}
	if got := errCode(f.rawCall(t, "DescribeRecordTask", q(`,"ScrollToken":"garbage!"`), nil)); got != CodeInvalidParameter {
		t.Errorf("garbage token answered %q", got)
	}
}

// TestEmulatorFaults: the shared injector's error and throttle decisions
// become InternalError and RequestLimitExceeded.
func TestEmulatorFaults(t *testing.T) {
	f := newFixture(t)
	f.faults.Set(1, 0, false)
	if got := errCode(f.rawCall(t, "StopRecordTask", `{"TaskId":"x"}`, nil)); got != CodeInternalError {
		t.Errorf("error fault answered %q", got)
	}
	f.faults.Set(0, 0, true)
	if got := errCode(f.rawCall(t, "StopRecordTask", `{"TaskId":"x"}`, nil)); got != CodeRequestLimitExceeded {
		t.Errorf("throttle fault answered %q", got)
	}
	f.faults.Set(0, 0, false)
	if got := f.emu.Calls()["StopRecordTask"]; got != 2 {
		t.Errorf("counted %d calls", got)
	}
}

// TestEmulatorAdmin: the unsigned /_emulator API mirrors the Go methods.
func TestEmulatorAdmin(t *testing.T) {
	f := newFixture(t)
	do := func(method, path, body string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, b := do("POST", "/_emulator/tasks", `{"stream":{"domain":"push.example.com","app":"live","name":"news"},"startTime":"2026-11-17T11:00:00Z","endTime":"2026-11-17T12:00:00Z"}`)
	var injected tencentemu.EmuTask
	if resp.StatusCode != 201 || json.Unmarshal(b, &injected) != nil || injected.TaskID == "" || !injected.Injected || injected.Stream != news {
		t.Fatalf("inject: %d %s", resp.StatusCode, b)
	}
	if resp, _ := do("POST", "/_emulator/tasks", `{"stream":{"domain":"d"}}`); resp.StatusCode != 400 {
		t.Errorf("incomplete inject: %d", resp.StatusCode)
	}
	resp, b = do("GET", "/_emulator/tasks", "")
	var tasks []tencentemu.EmuTask
	if resp.StatusCode != 200 || json.Unmarshal(b, &tasks) != nil || len(tasks) != 1 || tasks[0].TaskID != injected.TaskID || tasks[0].Status != providers.StatusScheduled {
		t.Fatalf("tasks: %d %s", resp.StatusCode, b)
	}
	if resp, _ := do("POST", "/_emulator/fail?action=StopRecordTask&code=InternalError.NetworkError", ""); resp.StatusCode != 204 {
		t.Fatalf("fail: %d", resp.StatusCode)
	}
	if got := errCode(f.rawCall(t, "StopRecordTask", `{"TaskId":"x"}`, nil)); got != "InternalError.NetworkError" {
		t.Errorf("forced code: %q", got)
	}
	if resp, _ := do("POST", "/_emulator/config", `{"pageSize":1,"vodActive":false}`); resp.StatusCode != 204 {
		t.Fatalf("config: %d", resp.StatusCode)
	}
	if got := errCode(f.rawCall(t, "StopRecordTask", `{"TaskId":"`+injected.TaskID+`"}`, nil)); got != CodeInvalidVodStatus {
		t.Errorf("vod off answered %q", got)
	}
	resp, b = do("GET", "/_emulator/calls", "")
	var calls map[string]int
	if json.Unmarshal(b, &calls) != nil || calls["StopRecordTask"] != 2 {
		t.Errorf("calls: %s", b)
	}
	if resp, b := do("GET", "/_emulator/", ""); resp.StatusCode != 200 || !strings.Contains(string(b), "/_emulator/tasks") {
		t.Errorf("help: %d %s", resp.StatusCode, b)
	}
	if resp, _ := do("DELETE", "/_emulator/tasks", ""); resp.StatusCode != 404 {
		t.Errorf("unknown admin call: %d", resp.StatusCode)
	}
}

// TestEmulatorPushSettle: a task that would record a stream at once, created
// within 3 s of the stream's push, fails with the retryable InternalError
// (the docs ask for a 3 s wait); a task scheduled ahead, another stream, or
// the same request 3 s later succeeds.
func TestEmulatorPushSettle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, err := http.Post(f.srv.URL+"/_emulator/push?stream=push.example.com/live/news", "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("admin push: %v %v", resp, err)
	}
	resp.Body.Close()
	f.clk.Advance(2 * time.Second)
	_, err = f.c.Create(ctx, createReq(news, t0.Add(-time.Minute), t0.Add(time.Hour)))
	pe := asProviderError(t, err)
	if pe.Code != CodeInternalError || pe.Class != providers.Retryable {
		t.Fatalf("create 2 s after the push: %v (class %v), want retryable InternalError", err, pe.Class)
	}
	if _, err := f.c.Create(ctx, createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour))); err != nil {
		t.Fatalf("a task scheduled ahead is not affected by the push: %v", err)
	}
	if _, err := f.c.Create(ctx, createReq(sports, t0.Add(-time.Minute), t0.Add(time.Hour))); err != nil {
		t.Fatalf("another stream is not affected by the push: %v", err)
	}
	f.clk.Advance(time.Second)
	if _, err := f.c.Create(ctx, createReq(news, t0.Add(-time.Minute), t0.Add(time.Hour))); err != nil {
		t.Fatalf("create 3 s after the push: %v", err)
	}
	if n := len(f.emu.Tasks()); n != 3 {
		t.Fatalf("%d tasks, want 3 (the failed attempt created none)", n)
	}
}

// TestEmulatorFailAfter: /_emulator/fail?after=1 carries the request out
// and then answers with the error (a 5xx that hides a created task).
func TestEmulatorFailAfter(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Post(f.srv.URL+"/_emulator/fail?action=CreateRecordTask&code=InternalError&after=1", "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("admin fail: %v %v", resp, err)
	}
	resp.Body.Close()
	_, err = f.c.Create(context.Background(), createReq(news, t0.Add(time.Hour), t0.Add(2*time.Hour)))
	if pe := asProviderError(t, err); pe.Code != CodeInternalError {
		t.Fatalf("create: %v, want InternalError", err)
	}
	if tasks := f.emu.Tasks(); len(tasks) != 1 || !tasks[0].StartTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("tasks %+v, want the one the failed create made", tasks)
	}
}
