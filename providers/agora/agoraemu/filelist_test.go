package agoraemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/providers/emu"
)

// TestMixFileListShapes: in mix mode, avFileType ["hls","mp4"] is answered
// with fileListMode "json" and an array of file objects, ["hls"] with
// "string", on query and on stop, as Agora documents.
func TestMixFileListShapes(t *testing.T) {
	e := NewEmulator(emu.Config{})
	e.SetStartDelay(0)
	h := e.Handlers()[0]
	base := "/v1/apps/" + DemoAppID + "/cloud_recording"
	call := func(method, path, body string) map[string]any {
		t.Helper()
		r := httptest.NewRequest(method, "http://127.0.0.1:9"+base+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json;charset=utf-8")
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(DemoCustomerID+":"+DemoCustomerSecret)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.Bytes())
		}
		return out
	}
	for _, c := range []struct {
		avFileType, mode string
		files            int
	}{{`["hls","mp4"]`, "json", 2}, {`["hls"]`, "string", 1}} {
		cname := "ch_" + c.mode
		head := `"cname":"` + cname + `","uid":"527841"`
		rid := call("POST", "/acquire", `{`+head+`,"clientRequest":{}}`)["resourceId"].(string)
		sid := call("POST", "/resourceid/"+rid+"/mode/mix/start", `{`+head+`,"clientRequest":{"recordingFileConfig":{"avFileType":`+
			c.avFileType+`},"storageConfig":{"vendor":2,"region":0,"bucket":"b","accessKey":"a","secretKey":"s"}}}`)["sid"].(string)
		for _, step := range []string{"query", "stop"} {
			var out map[string]any
			if step == "query" {
				out = call("GET", "/resourceid/"+rid+"/sid/"+sid+"/mode/mix/query", "")
			} else {
				out = call("POST", "/resourceid/"+rid+"/sid/"+sid+"/mode/mix/stop", `{`+head+`,"clientRequest":{}}`)
			}
			sr := out["serverResponse"].(map[string]any)
			if sr["fileListMode"] != c.mode {
				t.Fatalf("%s %s: fileListMode %v", c.avFileType, step, sr["fileListMode"])
			}
			switch fl := sr["fileList"].(type) {
			case []any:
				if c.mode != "json" || len(fl) != c.files {
					t.Fatalf("%s %s: fileList %v", c.avFileType, step, fl)
				}
				for _, f := range fl {
					m := f.(map[string]any)
					if m["fileName"] == "" || m["uid"] != "0" || m["mixedAllUser"] != true || m["isPlayable"] != true {
						t.Errorf("%s: file object %v", step, m)
					}
				}
			case string:
				if c.mode != "string" || !strings.HasSuffix(fl, ".m3u8") {
					t.Fatalf("%s %s: fileList %q", c.avFileType, step, fl)
				}
			default:
				t.Fatalf("%s %s: fileList %T", c.avFileType, step, fl)
			}
		}
	}
}
