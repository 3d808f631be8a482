package aliyun

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

func adminCall(t *testing.T, f *fixture, method, path string, q url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path+"?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func streamQuery(s spec.Stream) url.Values {
	return url.Values{"domain": {s.Domain}, "app": {s.App}, "name": {s.Name}}
}

func TestAdminEndpoints(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	adminCall(t, f, "POST", "/_emulator/streams/offline", streamQuery(news))
	_, err := f.client.Create(ctx, createReq(news, false))
	perr(t, err, providers.StreamOffline)
	out := adminCall(t, f, "GET", "/_emulator/streams", nil)
	if b, _ := json.Marshal(out); !strings.Contains(string(b), `"online":false`) {
		t.Fatalf("streams = %s", b)
	}
	adminCall(t, f, "POST", "/_emulator/streams/online", streamQuery(news))
	if _, err := f.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatal(err)
	}

	adminCall(t, f, "DELETE", "/_emulator/configs", url.Values{"domain": {"push.example.com"}})
	s2 := spec.Stream{Domain: "push.example.com", App: "live", Name: "other"}
	_, err = f.client.Create(ctx, createReq(s2, false))
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeConfigNotFound {
		t.Fatalf("after removing the config: %+v", pe)
	}
	adminCall(t, f, "POST", "/_emulator/configs", url.Values{"domain": {"push.example.com"}, "app": {"live"}})
	if _, err := f.client.Create(ctx, createReq(s2, false)); err != nil {
		t.Fatal(err)
	}
	cfgs := adminCall(t, f, "GET", "/_emulator/configs", nil)
	if b, _ := json.Marshal(cfgs); !strings.Contains(string(b), "push.example.com/live") {
		t.Fatalf("configs = %s", b)
	}

	recs := adminCall(t, f, "GET", "/_emulator/recordings", streamQuery(news))
	if l, _ := recs["recordings"].([]any); len(l) != 1 {
		t.Fatalf("recordings = %v", recs)
	}
	calls := adminCall(t, f, "GET", "/_emulator/calls", nil)
	if calls["RealTimeRecordCommand/start"].(float64) != 4 {
		t.Fatalf("calls = %v", calls)
	}
	adminCall(t, f, "POST", "/_emulator/ratelimit", url.Values{"qps": {"1"}})
	s3 := spec.Stream{Domain: "push.example.com", App: "live", Name: "third"}
	f.clk.Advance(time.Second)
	if _, err := f.client.Create(ctx, createReq(s3, false)); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.Create(ctx, createReq(s3, false))
	perr(t, err, providers.Throttled)
}

func TestEmulatorRejectsUnsignedAndUnknownActions(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	resp, err := http.Post(f.srv.URL+"/?Action=RealTimeRecordCommand&Command=start", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Code, RequestID string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body.Code != CodeMissingParam || body.RequestID == "" {
		t.Fatalf("unsigned: HTTP %d %+v", resp.StatusCode, body)
	}
	err = f.client.call(context.Background(), "X", map[string]string{"Action": "DeleteEverything"}, nil)
	if pe := perr(t, err, providers.Permanent); pe.Code != "InvalidAction.NotFound" {
		t.Fatalf("unknown action: %+v", pe)
	}
	if n := f.emu.Calls("DeleteEverything"); n != 1 {
		t.Fatalf("calls = %d", n)
	}
}

func TestRestartCommandEmitsFileAndContinues(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	ctx := context.Background()
	if _, err := f.client.Create(ctx, createReq(news, false)); err != nil {
		t.Fatal(err)
	}
	if err := f.client.command(ctx, "restart", news); err != nil {
		t.Fatal(err)
	}
	if !f.emu.IsRecording(news) || len(f.emu.Files(news)) != 1 {
		t.Fatalf("restart: recording=%v files=%v", f.emu.IsRecording(news), f.emu.Files(news))
	}
}

func TestRegistered(t *testing.T) {
	r, ok := providers.Lookup(Type)
	if !ok || r.Capabilities != capabilities {
		t.Fatalf("registration = %+v", r)
	}
	emu := aliyunemu.NewEmulator(emu.Config{})
	if emu.DemoCredentials()["accessKeyId"] != aliyunemu.DemoAccessKeyID || len(emu.Handlers()) != 1 {
		t.Fatal("emulator registration incomplete")
	}
}
