package aliyunemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// rpc sends one signed RPC call (form body) and returns the HTTP status
// and the decoded answer.
func rpc(t *testing.T, e *Emulator, now time.Time, seq *int, params map[string]string) (int, map[string]any) {
	t.Helper()
	*seq++
	p := map[string]string{"Format": "JSON", "Version": APIVersion, "AccessKeyId": DemoAccessKeyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "n" + strconv.Itoa(*seq),
		"Timestamp": now.UTC().Format(TimestampFormat), "RegionId": DemoRegion}
	for k, v := range params {
		p[k] = v
	}
	p["Signature"] = SignRPC("POST", p, DemoAccessKeySecret)
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	r := httptest.NewRequest(http.MethodPost, "http://live.aliyuncs.com/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", params, w.Body.Bytes())
	}
	return w.Code, out
}

// TestPrerequisiteAPIs: a recording configuration made through
// AddLiveAppRecordConfig enables RealTimeRecordCommand and its deletion
// disables it, with Alibaba's codes for duplicates and absent ones;
// DescribeLiveStreamsOnlineList lists the pushed stream until it goes offline.
func TestPrerequisiteAPIs(t *testing.T) {
	now := time.Unix(1800000000, 0)
	e := NewEmulator(emu.Config{Now: func() time.Time { return now }})
	seq := 0
	call := func(params map[string]string) (int, string, map[string]any) {
		st, out := rpc(t, e, now, &seq, params)
		code, _ := out["Code"].(string)
		return st, code, out
	}
	app := map[string]string{"DomainName": "own.example.org", "AppName": "live"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	start := with(app, "Action", "RealTimeRecordCommand", "Command", "start", "StreamName", "s1")
	add := with(app, "Action", "AddLiveAppRecordConfig", "OssEndpoint", "oss-cn-shanghai.aliyuncs.com", "OssBucket", "b")
	del := with(app, "Action", "DeleteLiveAppRecordConfig")

	for _, step := range []struct {
		what   string
		params map[string]string
		status int
		code   string
	}{
		{"start before any configuration", start, 400, CodeConfigNotFound},
		{"add", add, 200, ""},
		{"add again", add, 400, CodeConfigAlreadyExists},
		{"add without a bucket", with(add, "OssBucket", ""), 400, CodeMissingParam},
		{"start", start, 200, ""},
		{"delete", del, 200, ""},
		{"delete again", del, 400, CodeConfigNotFound},
		{"start another stream", with(start, "StreamName", "s2"), 400, CodeConfigNotFound},
	} {
		if st, code, out := call(step.params); st != step.status || code != step.code {
			t.Fatalf("%s: HTTP %d %q (%v), want %d %q", step.what, st, code, out, step.status, step.code)
		}
	}

	online := func() []string {
		_, code, out := call(map[string]string{"Action": "DescribeLiveStreamsOnlineList", "DomainName": "own.example.org"})
		if code != "" {
			t.Fatalf("DescribeLiveStreamsOnlineList: %s", code)
		}
		var names []string
		info, _ := out["OnlineInfo"].(map[string]any)
		list, _ := info["LiveStreamOnlineInfo"].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			names = append(names, m["StreamName"].(string))
		}
		return names
	}
	if got := online(); len(got) != 1 || got[0] != "s1" {
		t.Fatalf("online %v, want [s1]", got)
	}
	e.SetStreamOnline(spec.Stream{Domain: "own.example.org", App: "live", Name: "s1"}, false)
	if got := online(); len(got) != 0 {
		t.Fatalf("online after the stream stopped pushing: %v", got)
	}
	if _, code, _ := call(map[string]string{"Action": "DescribeLiveStreamsOnlineList"}); code != CodeMissingParam {
		t.Fatalf("without DomainName: %q", code)
	}
}
