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

type vector struct {
	Name        string            `json:"name"`
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Host        string            `json:"host"`
	XSdkDate    string            `json:"x_sdk_date"`
	AK          string            `json:"ak"`
	SK          string            `json:"sk"`
	ProjectID   string            `json:"project_id"`
	HeadersSent map[string]string `json:"headers_sent"`
	Body        string            `json:"body"`
}

func loadVectors(t *testing.T) []vector {
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(emu.Vectors(t, "huawei.json"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

// send replays the SDK's request (optionally altered) into an emulator
// that knows the vector's key and project, on the vector's clock, and
// returns the answer's HTTP status and error_code.
func (v vector) send(t *testing.T, alter func(r *http.Request), body, sk string) (int, string) {
	t.Helper()
	date, err := time.Parse(DateFormat, v.XSdkDate)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEmulator(emu.Config{Now: func() time.Time { return date.Add(time.Minute) }})
	e.keys[v.AK] = sk
	e.projects[v.ProjectID] = true
	r := httptest.NewRequest(v.Method, v.URL, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.TLS = nil
	for k, val := range v.HeadersSent {
		r.Header.Set(k, val)
	}
	r.Host = v.Host
	if alter != nil {
		alter(r)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var ae apiError
	_ = json.Unmarshal(w.Body.Bytes(), &ae)
	return w.Code, ae.Code
}

// TestVerifierAcceptsSDKVectors: the emulator's own SDK-HMAC-SHA256 check
// accepts every request the official Go SDK signed and refuses it, with
// APIGW.0301, when one byte of what is signed changes or the key is wrong.
func TestVerifierAcceptsSDKVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if status, code := v.send(t, nil, v.Body, v.SK); code == CodeAuthFailed || status == http.StatusUnauthorized {
				t.Fatalf("SDK-signed request refused: %d %s", status, code)
			}
			alterations := map[string]func(r *http.Request){
				"user agent": func(r *http.Request) { r.Header.Set("User-Agent", r.Header.Get("User-Agent")+"x") },
				"date": func(r *http.Request) {
					d, _ := time.Parse(DateFormat, v.XSdkDate)
					r.Header.Set(HeaderSdkDate, d.Add(time.Second).Format(DateFormat))
				},
				"query": func(r *http.Request) { r.URL.RawQuery += "&x=1" },
				"path":  func(r *http.Request) { r.URL.Path += "s" },
				"signature": func(r *http.Request) {
					a := r.Header.Get("Authorization")
					r.Header.Set("Authorization", a[:len(a)-1]+string("01"[(a[len(a)-1]-'0'+1)%2]))
				},
			}
			for name, alter := range alterations {
				if status, code := v.send(t, alter, v.Body, v.SK); code != CodeAuthFailed || status != http.StatusUnauthorized {
					t.Errorf("%s changed: got %d %q, want 401 %s", name, status, code, CodeAuthFailed)
				}
			}
			if v.Body != "" {
				tampered := strings.Replace(v.Body, "live", "livf", 1)
				if tampered == v.Body {
					tampered = v.Body[:len(v.Body)-1]
				}
				if _, code := v.send(t, nil, tampered, v.SK); code != CodeAuthFailed {
					t.Errorf("body changed: got %q", code)
				}
			}
			if _, code := v.send(t, nil, v.Body, v.SK+"x"); code != CodeAuthFailed {
				t.Errorf("wrong key: got %q", code)
			}
		})
	}
}
