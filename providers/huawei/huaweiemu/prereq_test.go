package huaweiemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
)

// send signs (with the emulator's own computation; the signing itself is
// pinned by the SDK vectors elsewhere) and serves one request.
func send(t *testing.T, e *Emulator, now time.Time, method, path, body string) (int, apiError, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:9"+path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Project-Id", DemoProjectID)
	r.Header.Set(HeaderSdkDate, now.UTC().Format(DateFormat))
	signed := []string{"x-project-id", "x-sdk-date"}
	sig := expectedSignature(r, []byte(body), signed, DemoSecretKey)
	r.Header.Set("Authorization", algorithm+" Access="+DemoAccessKey+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var ae apiError
	_ = json.Unmarshal(w.Body.Bytes(), &ae)
	return w.Code, ae, w.Body.Bytes()
}

// TestRecordRuleAPIs: a COMMAND_RECORD rule made through CreateRecordRule
// enables RunRecord for its streams and DeleteRecordRule removes it again.
func TestRecordRuleAPIs(t *testing.T) {
	now := time.Unix(1800000000, 0)
	e := NewEmulator(emu.Config{Now: func() time.Time { return now }})
	base := "/v1/" + DemoProjectID
	stream := `{"publish_domain":"own.example.org","app":"live","stream":"s1"}`
	if st, ae, _ := send(t, e, now, "POST", base+"/record/control?action=START", stream); st != 404 || ae.Code != CodeIllegal {
		t.Fatalf("START without a rule: %d %+v", st, ae)
	}
	rule := `{"publish_domain":"own.example.org","app":"live","stream":"*","record_type":"COMMAND_RECORD"}`
	st, _, body := send(t, e, now, "POST", base+"/record/rules", rule)
	var created RecordRule
	if err := json.Unmarshal(body, &created); st != http.StatusCreated || err != nil || created.ID == "" || created.RecordType != "COMMAND_RECORD" {
		t.Fatalf("CreateRecordRule: %d %s", st, body)
	}
	if st, ae, _ := send(t, e, now, "POST", base+"/record/rules", rule); st != 400 || ae.Code != CodeIllegal {
		t.Fatalf("the same rule again: %d %+v", st, ae)
	}
	if st, ae, _ := send(t, e, now, "POST", base+"/record/rules", `{"publish_domain":"own.example.org","app":"live"}`); st != 400 || ae.Code != CodeIllegal {
		t.Fatalf("without stream: %d %+v", st, ae)
	}
	if st, _, body := send(t, e, now, "POST", base+"/record/control?action=START", stream); st != 200 {
		t.Fatalf("START with the rule: %d %s", st, body)
	}
	if st, _, body := send(t, e, now, "POST", base+"/record/control?action=STOP", stream); st != 200 {
		t.Fatalf("STOP: %d %s", st, body)
	}
	if st, _, body := send(t, e, now, "DELETE", base+"/record/rules/"+created.ID, ""); st != http.StatusNoContent {
		t.Fatalf("DeleteRecordRule: %d %s", st, body)
	}
	if st, ae, _ := send(t, e, now, "DELETE", base+"/record/rules/"+created.ID, ""); st != 404 || ae.Code != CodeIllegal {
		t.Fatalf("DeleteRecordRule again: %d %+v", st, ae)
	}
	now = now.Add(time.Minute) // past the 10 s restart gap
	if st, ae, _ := send(t, e, now, "POST", base+"/record/control?action=START", stream); st != 404 || ae.Code != CodeIllegal {
		t.Fatalf("START after the rule was deleted: %d %+v", st, ae)
	}
}
