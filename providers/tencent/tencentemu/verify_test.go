package tencentemu

import (
	"bytes"
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
	Host        string            `json:"host"`
	Timestamp   int64             `json:"timestamp"`
	SecretID    string            `json:"secret_id"`
	SecretKey   string            `json:"secret_key"`
	HeadersSent map[string]string `json:"headers_sent"`
	Body        string            `json:"body"`
}

func loadVectors(t *testing.T) []vector {
	var f struct {
		Algorithm string   `json:"algorithm"`
		Vectors   []vector `json:"vectors"`
	}
	if err := json.Unmarshal(emu.Vectors(t, "tencent.json"), &f); err != nil {
		t.Fatal(err)
	}
	if f.Algorithm != Algorithm || len(f.Vectors) == 0 {
		t.Fatalf("unexpected vector file: %q, %d vectors", f.Algorithm, len(f.Vectors))
	}
	return f.Vectors
}

// request rebuilds what the SDK put on the wire for v.
func (v vector) request(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+v.Host+"/", strings.NewReader(body))
	for k, val := range v.HeadersSent {
		r.Header.Set(k, val)
	}
	r.Host = v.Host
	return r
}

func (v vector) verify(r *http.Request, body string, key string) *apiErr {
	keys := func(id string) (string, bool) { return key, id == v.SecretID }
	return verifyTC3(r, []byte(body), keys, time.Unix(v.Timestamp, 0).Add(time.Minute))
}

// TestVerifierAcceptsSDKVectors: the emulator's own TC3 check accepts every
// request the official Go SDK signed, and refuses each with one byte changed.
func TestVerifierAcceptsSDKVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if err := v.verify(v.request(v.Body), v.Body, v.SecretKey); err != nil {
				t.Fatalf("SDK-signed request refused: %+v", err)
			}
			tampered := strings.Replace(v.Body, `"`, `'`, 1)
			cases := map[string]struct {
				r    *http.Request
				body string
				key  string
				code string
			}{
				"body byte":     {v.request(tampered), tampered, v.SecretKey, CodeSignatureFailure},
				"wrong key":     {v.request(v.Body), v.Body, v.SecretKey + "x", CodeSignatureFailure},
				"other host":    {v.withHost("evil.example.com"), v.Body, v.SecretKey, CodeSignatureFailure},
				"signature":     {v.withHeader("Authorization", flipLast(v.HeadersSent["Authorization"])), v.Body, v.SecretKey, CodeSignatureFailure},
				"content type":  {v.withHeader("Content-Type", "application/json; charset=utf-8"), v.Body, v.SecretKey, CodeSignatureFailure},
				"unknown id":    {v.withHeader("Authorization", strings.Replace(v.HeadersSent["Authorization"], v.SecretID, v.SecretID+"X", 1)), v.Body, v.SecretKey, CodeSecretIDNotFound},
				"scope service": {v.withHeader("Authorization", strings.Replace(v.HeadersSent["Authorization"], "/live/", "/cvm/", 1)), v.Body, v.SecretKey, CodeSignatureFailure},
			}
			for name, c := range cases {
				err := v.verify(c.r, c.body, c.key)
				if err == nil || err.Code != c.code {
					t.Errorf("%s: got %+v, want %s", name, err, c.code)
				}
			}
		})
	}
}

func (v vector) withHost(h string) *http.Request {
	r := v.request(v.Body)
	r.Host = h
	return r
}

func (v vector) withHeader(k, val string) *http.Request {
	r := v.request(v.Body)
	r.Header.Set(k, val)
	return r
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-1] == '0' {
		b[len(b)-1] = '1'
	} else {
		b[len(b)-1] = '0'
	}
	return string(b)
}

// TestVerifierAcceptsNodeSDKScope: the Node.js SDK pointed at
// http://127.0.0.1:PORT signs scope service "127" and host without the
// port; the emulator accepts exactly that and nothing looser.
func TestVerifierAcceptsNodeSDKScope(t *testing.T) {
	const id, key, ts = "AKIDnode", "node-key", int64(1700000000)
	body := []byte(`{"TaskId":"x"}`)
	sign := func(service, host string) string {
		sig := tc3Signature(key, service, "POST", "/", "", []header{{"content-type", "application/json"}, {"host", host}}, hashHex(body), ts)
		return Algorithm + " Credential=" + id + "/2023-11-14/" + service + "/tc3_request, SignedHeaders=content-type;host, Signature=" + sig
	}
	keys := func(got string) (string, bool) { return key, got == id }
	for _, c := range []struct {
		service, signedHost string
		ok                  bool
	}{
		{"127", "127.0.0.1", true},
		{"127", "127.0.0.1:8080", true},
		{"live", "127.0.0.1:8080", true},
		{"live", "127.0.0.1", true},
		{"128", "127.0.0.1", false},
		{"127", "127.0.0.2", false},
		{"127", "127.0.0.1:8081", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-TC-Timestamp", "1700000000")
		r.Header.Set("Authorization", sign(c.service, c.signedHost))
		err := verifyTC3(r, body, keys, time.Unix(ts, 0))
		if (err == nil) != c.ok {
			t.Errorf("service %q host %q: got %+v, want ok=%v", c.service, c.signedHost, err, c.ok)
		}
	}
}
