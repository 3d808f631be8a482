package agora

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/agora/agoraemu"
)

// raw sends one request to a listener and decodes the JSON answer.
func (e *env) raw(t *testing.T, base, method, path, body string, auth bool, ctype string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(agoraemu.DemoCustomerID, agoraemu.DemoCustomerSecret)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

const jsonCT = "application/json;charset=utf-8"

func api(path string) string { return "/v1/apps/" + agoraemu.DemoAppID + "/cloud_recording" + path }

func (e *env) acquireRaw(t *testing.T, cname, uid string) string {
	t.Helper()
	st, out := e.raw(t, e.primary.URL, "POST", api("/acquire"),
		`{"cname":"`+cname+`","uid":"`+uid+`","clientRequest":{"scene":0}}`, true, jsonCT)
	if st != 200 {
		t.Fatalf("acquire: %d %v", st, out)
	}
	return out["resourceId"].(string)
}

func startBodyRaw(cname, uid string) string {
	return `{"cname":"` + cname + `","uid":"` + uid + `","clientRequest":{"recordingConfig":{"channelType":1,"maxIdleTime":60},` +
		`"storageConfig":{"vendor":2,"region":0,"bucket":"b","accessKey":"a","secretKey":"s"}}}`
}

func code(out map[string]any) int {
	c, _ := out["code"].(float64)
	return int(c)
}

func TestEmulatorGateway(t *testing.T) {
	e := newEnv(t)
	body := `{"cname":"c","uid":"1","clientRequest":{}}`
	cases := []struct {
		name, method, path, body, ctype string
		auth                            bool
		status, code                    int
		msg                             string
	}{
		{"no auth", "POST", api("/acquire"), body, jsonCT, false, 401, 0, "Unauthorized"},
		{"unknown appid", "POST", "/v1/apps/nope/cloud_recording/acquire", body, jsonCT, true, 400, 0, "appid is invalid"},
		{"no route", "GET", "/v2/other", "", "", true, 404, 0, "no Route matched with those values"},
		{"wrong method", "GET", api("/acquire"), "", "", true, 400, 8, ""},
		{"no cloud_recording", "POST", "/v1/apps/" + agoraemu.DemoAppID + "/acquire", body, jsonCT, true, 400, 8, ""},
		{"wrong content type", "POST", api("/acquire"), body, "text/plain", true, 400, 8, ""},
		{"numeric uid", "POST", api("/acquire"), `{"cname":"c","uid":1,"clientRequest":{}}`, jsonCT, true, 400, 2, ""},
		{"uid out of range", "POST", api("/acquire"), `{"cname":"c","uid":"0","clientRequest":{}}`, jsonCT, true, 400, 2, ""},
		{"bad cname", "POST", api("/acquire"), `{"cname":"a/b","uid":"1","clientRequest":{}}`, jsonCT, true, 400, 1013, ""},
		{"ok", "POST", api("/acquire"), body, jsonCT, true, 200, 0, ""},
	}
	for _, tc := range cases {
		st, out := e.raw(t, e.primary.URL, tc.method, tc.path, tc.body, tc.auth, tc.ctype)
		if st != tc.status || code(out) != tc.code || (tc.msg != "" && out["message"] != tc.msg) {
			t.Errorf("%s: %d %v, want %d code %d %q", tc.name, st, out, tc.status, tc.code, tc.msg)
		}
	}
	req, _ := http.NewRequest("POST", e.primary.URL+api("/acquire"), strings.NewReader(body))
	req.SetBasicAuth(agoraemu.DemoCustomerID, "wrong")
	req.Header.Set("Content-Type", jsonCT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d", resp.StatusCode)
	}
}

func TestEmulatorSessionRules(t *testing.T) {
	e := newEnv(t)
	rid := e.acquireRaw(t, "room", "11")
	startPath := api("/resourceid/" + rid + "/mode/mix/start")

	if st, out := e.raw(t, e.primary.URL, "POST", startPath, startBodyRaw("room", "12"), true, jsonCT); code(out) != 432 {
		t.Errorf("uid mismatch: %d %v", st, out)
	}
	st, out := e.raw(t, e.primary.URL, "POST", startPath, startBodyRaw("room", "11"), true, jsonCT)
	if st != 200 || out["sid"] == nil {
		t.Fatalf("start: %d %v", st, out)
	}
	sid := out["sid"].(string)
	if _, out := e.raw(t, e.fallback.URL, "POST", startPath, startBodyRaw("room", "11"), true, jsonCT); code(out) != 7 {
		t.Errorf("repeat start: %v", out)
	}
	rid2 := e.acquireRaw(t, "room", "11")
	if _, out := e.raw(t, e.primary.URL, "POST", api("/resourceid/"+rid2+"/mode/mix/start"), startBodyRaw("room", "11"), true, jsonCT); code(out) != 53 {
		t.Errorf("busy uid: %v", out)
	}
	rid3 := e.acquireRaw(t, "room", "13")
	e.clock.Advance(5*time.Minute + time.Second)
	if _, out := e.raw(t, e.primary.URL, "POST", api("/resourceid/"+rid3+"/mode/mix/start"), startBodyRaw("room", "13"), true, jsonCT); code(out) != 433 {
		t.Errorf("expired resource: %v", out)
	}
	if _, out := e.raw(t, e.primary.URL, "POST", api("/resourceid/garbage/mode/mix/start"), startBodyRaw("room", "13"), true, jsonCT); code(out) != 1001 {
		t.Errorf("unknown resource: %v", out)
	}

	qPath := api("/resourceid/" + rid + "/sid/" + sid + "/mode/mix/query")
	if st, out := e.raw(t, e.primary.URL, "GET", qPath, "", true, ""); st != 200 || out["serverResponse"].(map[string]any)["status"] != 5.0 {
		t.Errorf("query: %d %v", st, out)
	}
	stopPath := api("/resourceid/" + rid + "/sid/" + sid + "/mode/mix/stop")
	stopBody := `{"cname":"room","uid":"11","clientRequest":{}}`
	st, out = e.raw(t, e.primary.URL, "POST", stopPath, stopBody, true, jsonCT)
	if sr, _ := out["serverResponse"].(map[string]any); st != 200 || sr["fileList"] != sid+"_room.m3u8" {
		t.Errorf("stop: %d %v", st, out)
	}
	if _, out := e.raw(t, e.primary.URL, "POST", stopPath, stopBody, true, jsonCT); code(out) != 49 {
		t.Errorf("second stop: %v", out)
	}
	if st, out := e.raw(t, e.primary.URL, "GET", qPath, "", true, ""); st != 404 || code(out) != 404 {
		t.Errorf("query after stop: %d %v", st, out)
	}
}

func TestEmulatorStatusAndIdleExit(t *testing.T) {
	e := newEnv(t)
	e.emu.SetStartDelay(10 * time.Second)
	rid := e.acquireRaw(t, "idle", "5")
	_, out := e.raw(t, e.primary.URL, "POST", api("/resourceid/"+rid+"/mode/mix/start"), startBodyRaw("idle", "5"), true, jsonCT)
	sid := out["sid"].(string)
	status := func() int { return e.session(sid).Status }
	for _, step := range []struct {
		adv  time.Duration
		want int
	}{{0, 1}, {5 * time.Second, 2}, {5 * time.Second, 5}} {
		e.clock.Advance(step.adv)
		if got := status(); got != step.want {
			t.Errorf("after +%s: status %d, want %d", step.adv, got, step.want)
		}
	}
	e.emu.SetChannelActive("idle", false)
	e.clock.Advance(59 * time.Second) // maxIdleTime 60
	if status() != 5 {
		t.Error("left before maxIdleTime")
	}
	e.clock.Advance(time.Second)
	if status() != 8 {
		t.Errorf("status %d after maxIdleTime, want 8 (exited)", status())
	}
	// A broadcaster coming back does not revive a recorder that left.
	e.emu.SetChannelActive("idle", true)
	if status() != 8 {
		t.Error("the recorder came back to life")
	}
	// And the uid is free again.
	rid2 := e.acquireRaw(t, "idle", "5")
	if st, out := e.raw(t, e.primary.URL, "POST", api("/resourceid/"+rid2+"/mode/mix/start"), startBodyRaw("idle", "5"), true, jsonCT); st != 200 {
		t.Errorf("restart on the freed uid: %d %v", st, out)
	}
}

func TestEmulatorAdminAPI(t *testing.T) {
	e := newEnv(t)
	post := func(path string) int {
		st, _ := e.raw(t, e.fallback.URL, "POST", path, "", false, "")
		return st
	}
	if post("/_emulator/primary?down=true") != 200 {
		t.Fatal("primary switch")
	}
	if st, _ := e.raw(t, e.primary.URL, "POST", api("/acquire"), `{"cname":"c","uid":"1","clientRequest":{}}`, true, jsonCT); st != 503 {
		t.Errorf("primary down answered %d", st)
	}
	// The admin API still works on a downed primary.
	if st, _ := e.raw(t, e.primary.URL, "POST", "/_emulator/primary?down=false", "", false, ""); st != 200 {
		t.Errorf("admin on the downed primary: %d", st)
	}
	if post("/_emulator/starts/fail?n=1") != 200 || post("/_emulator/starts/never-ready?on=true") != 200 ||
		post("/_emulator/start-delay?d=1s") != 200 || post("/_emulator/channels?cname=x&active=false") != 200 {
		t.Fatal("admin controls")
	}
	rid := e.acquireRaw(t, "x", "9")
	sp := api("/resourceid/" + rid + "/mode/mix/start")
	if st, _ := e.raw(t, e.primary.URL, "POST", sp, startBodyRaw("x", "9"), true, jsonCT); st != 500 {
		t.Errorf("failed start answered %d", st)
	}
	if st, _ := e.raw(t, e.primary.URL, "POST", sp, startBodyRaw("x", "9"), true, jsonCT); st != 200 {
		t.Errorf("start after the failure answered %d", st)
	}
	if post("/_emulator/advance?d=30s") != 200 {
		t.Fatal("advance")
	}
	req, _ := http.NewRequest("GET", e.primary.URL+"/_emulator/sessions", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ss []agoraemu.Session
	_ = json.NewDecoder(resp.Body).Decode(&ss)
	resp.Body.Close()
	if len(ss) != 1 || ss[0].Status != 2 || ss[0].UID != "9" || ss[0].Channel != "x" {
		t.Errorf("sessions = %+v (never-ready keeps status 2)", ss)
	}
	// 30 s past start with maxIdleTime 60 in an empty channel: still there; 31 s more: gone.
	post("/_emulator/advance?d=31s")
	if s := e.emu.Sessions()[0]; s.Status != 8 {
		t.Errorf("status %d, want 8", s.Status)
	}
	st, out := e.raw(t, e.primary.URL, "GET", "/_emulator/calls", "", false, "")
	ops, _ := out["ops"].(map[string]any)
	ls, _ := out["listeners"].(map[string]any)
	if st != 200 || ops["acquire"] != 2.0 || ops["start"] != 2.0 || ls["primary"] != 4.0 || ls["fallback"] != 0.0 {
		t.Errorf("calls = %v", out)
	}
	if post("/_emulator/primary?down=maybe") != 400 || post("/_emulator/nope") != 404 {
		t.Error("bad admin requests accepted")
	}
}

func TestEmulatorFaults(t *testing.T) {
	e := newEnv(t)
	e.faults.Set(0, 0, true)
	st, out := e.raw(t, e.primary.URL, "POST", api("/acquire"), `{"cname":"c","uid":"1","clientRequest":{}}`, true, jsonCT)
	if st != 429 || out["message"] != "API rate limit exceeded" {
		t.Errorf("throttle: %d %v", st, out)
	}
	e.faults.Set(1, 0, false)
	if st, _ := e.raw(t, e.fallback.URL, "GET", api("/resourceid/r/sid/s/mode/mix/query"), "", true, ""); st != 500 {
		t.Errorf("error fault: %d", st)
	}
}
