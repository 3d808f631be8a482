package tencentemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
)

// TestRegionsAsDocumented: the recording-task APIs answer in the documented
// regions and refuse ap-shanghai and ap-beijing with UnsupportedRegion.
func TestRegionsAsDocumented(t *testing.T) {
	now := time.Unix(1700000000, 0)
	e := NewEmulator(emu.Config{Now: func() time.Time { return now }})
	call := func(region string) string {
		body := `{"TaskId":"none"}`
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9/", strings.NewReader(body))
		r.Host = "127.0.0.1:9"
		r.Header.Set("Content-Type", "application/json")
		for k, v := range map[string]string{"Action": "StopRecordTask", "Version": APIVersion, "Region": region,
			"Timestamp": strconv.FormatInt(now.Unix(), 10)} {
			r.Header.Set("X-TC-"+k, v)
		}
		sig := tc3Signature(DemoSecretKey, Service, "POST", "/", "", []header{{"content-type", "application/json"}, {"host", r.Host}},
			hashHex([]byte(body)), now.Unix())
		r.Header.Set("Authorization", Algorithm+" Credential="+DemoSecretID+"/"+now.UTC().Format("2006-01-02")+
			"/live/tc3_request, SignedHeaders=content-type;host, Signature="+sig)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		var out struct {
			Response struct{ Error struct{ Code string } }
		}
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return out.Response.Error.Code
	}
	if code := call("ap-guangzhou"); code != CodeTaskNotFound && !strings.HasPrefix(code, CodeInvalidParameter) {
		t.Errorf("ap-guangzhou: %q, want the task to be looked up", code)
	}
	for _, region := range []string{"ap-shanghai", "ap-beijing"} {
		if code := call(region); code != CodeUnsupportedRegion {
			t.Errorf("%s: %q, want %s", region, code, CodeUnsupportedRegion)
		}
	}
}
