package huawei

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
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

func TestAdminEndpoints(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	ctx := context.Background()
	sq := url.Values{"domain": {news.Domain}, "app": {news.App}, "name": {news.Name}}
	adminCall(t, f, "POST", "/_emulator/streams/offline", sq)
	_, err := f.client.Create(ctx, createReq(news))
	perr(t, err, providers.StreamOffline)
	if b, _ := json.Marshal(adminCall(t, f, "GET", "/_emulator/streams", nil)); !strings.Contains(string(b), `"online":false`) {
		t.Fatalf("streams = %s", b)
	}
	adminCall(t, f, "POST", "/_emulator/streams/online", sq)
	if _, err := f.client.Create(ctx, createReq(news)); err != nil {
		t.Fatal(err)
	}

	out := adminCall(t, f, "DELETE", "/_emulator/rules", url.Values{"publish_domain": {"push.example.com"}})
	if out["removed"].(float64) != 1 {
		t.Fatalf("removed = %v", out)
	}
	other := spec.Stream{Domain: "push.example.com", App: "live", Name: "other"}
	_, err = f.client.Create(ctx, createReq(other))
	if pe := perr(t, err, providers.Permanent); !strings.Contains(pe.Message, "COMMAND_RECORD") {
		t.Fatalf("after removing the rule: %+v", pe)
	}
	added := adminCall(t, f, "POST", "/_emulator/rules", url.Values{"publish_domain": {"push.example.com"}, "app": {"live"}})
	if added["id"] == "" {
		t.Fatal("no rule id")
	}
	if _, err := f.client.Create(ctx, createReq(other)); err != nil {
		t.Fatal(err)
	}
	rules := adminCall(t, f, "GET", "/_emulator/rules", nil)
	if l := rules["rules"].([]any); len(l) != len(huaweiemu.DemoDomains) {
		t.Fatalf("rules = %v", rules)
	}
	recs := adminCall(t, f, "GET", "/_emulator/recordings", sq)
	if l := recs["recordings"].([]any); len(l) != 1 {
		t.Fatalf("recordings = %v", recs)
	}
	calls := adminCall(t, f, "GET", "/_emulator/calls", nil)
	if calls["RunRecord/START"].(float64) != 4 {
		t.Fatalf("calls = %v", calls)
	}
}

func TestListRecordRulesValidatesPaging(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	var out struct {
		Total int          `json:"total"`
		Rules []RecordRule `json:"record_config"`
	}
	err := f.client.do(context.Background(), "ListRecordRules", "GET", "/record/rules", url.Values{"limit": {"101"}}, nil, &out)
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeIllegal || pe.HTTP != 400 {
		t.Fatalf("limit 101: %+v", pe)
	}
	err = f.client.do(context.Background(), "ListRecordRules", "GET", "/record/rules", url.Values{"offset": {"1"}, "limit": {"1"}}, nil, &out)
	if err != nil || out.Total != len(huaweiemu.DemoDomains) || len(out.Rules) != 1 || out.Rules[0].PublishDomain != huaweiemu.DemoDomains[1] {
		t.Fatalf("page = %+v %v", out, err)
	}
	err = f.client.do(context.Background(), "X", "GET", "/no/such/api", nil, nil, nil)
	if pe := perr(t, err, providers.Permanent); pe.HTTP != 404 {
		t.Fatalf("unknown API: %+v", pe)
	}
	err = f.client.do(context.Background(), "X", "POST", "/record/control", url.Values{"action": {"PAUSE"}}, controlBody{"a", "b", "c"}, nil)
	if pe := perr(t, err, providers.Permanent); pe.Code != CodeIllegal || pe.HTTP != 400 {
		t.Fatalf("bad action: %+v", pe)
	}
}

func TestEmulatorRejectsUnsignedRequests(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	resp, err := http.Post(f.srv.URL+"/v1/demo/record/control?action=START", "application/json",
		strings.NewReader(`{"publish_domain":"push.example.com","app":"live","stream":"news"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Code != CodeAuthFailed || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, body)
	}
	if f.emu.IsRecording(news) {
		t.Fatal("unsigned START executed")
	}
}

func TestRegistered(t *testing.T) {
	r, ok := providers.Lookup(Type)
	if !ok || r.Capabilities != capabilities {
		t.Fatalf("registration = %+v", r)
	}
	emu := huaweiemu.NewEmulator(emu.Config{})
	cfg := r.PointAt(Config{ProjectID: "mine"}, []string{"http://127.0.0.1:1"}, emu.DemoFields()).(Config)
	if cfg.ProjectID != huaweiemu.DemoProjectID || cfg.Region != huaweiemu.DemoRegion || cfg.Endpoint != "http://127.0.0.1:1" ||
		emu.DemoCredentials()["secretKey"] != huaweiemu.DemoSecretKey {
		t.Fatalf("pointed at the emulator: %+v", cfg)
	}
}
