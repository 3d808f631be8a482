package aliyunemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
)

type rpcVector struct {
	Name              string            `json:"name"`
	SignedParams      map[string]string `json:"signed_params"`
	Timestamp         string            `json:"timestamp"`
	AccessKeyID       string            `json:"access_key_id"`
	AccessKeySecret   string            `json:"access_key_secret"`
	RawQuerySent      string            `json:"raw_query_sent"`
	ExpectedSignature string            `json:"expected_signature"`
}

func loadVectors(t *testing.T) []rpcVector {
	var f struct {
		RPC []rpcVector `json:"rpc_v1_vectors"`
	}
	if err := json.Unmarshal(emu.Vectors(t, "aliyun.json"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.RPC) == 0 {
		t.Fatal("no rpc_v1_vectors")
	}
	return f.RPC
}

// send posts query (and form, if any) to an emulator whose clock is the
// vector's timestamp and that knows the vector's key, and returns the Code
// of the answer ("" for success).
func (v rpcVector) send(t *testing.T, query, form string) string {
	t.Helper()
	ts, err := time.Parse(TimestampFormat, v.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEmulator(emu.Config{Now: func() time.Time { return ts.Add(time.Minute) }})
	e.keys[v.AccessKeyID] = v.AccessKeySecret
	e.AddRecordConfig(v.SignedParams["DomainName"], v.SignedParams["AppName"])
	r := httptest.NewRequest(http.MethodPost, "http://live.aliyuncs.com/?"+query, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var body struct{ Code string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return body.Code
}

// TestVerifierAcceptsSDKVectors: the emulator's own signature version 1.0
// check reproduces every signature the official Go SDK made, accepts the
// request as the SDK sent it (query string) and as pop-core sends it (form
// body), and refuses it with one byte changed.
func TestVerifierAcceptsSDKVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if got := SignRPC("POST", v.SignedParams, v.AccessKeySecret); got != v.ExpectedSignature {
				t.Fatalf("signature %s, SDK made %s", got, v.ExpectedSignature)
			}
			if code := v.send(t, v.RawQuerySent, ""); isAuthCode(code) {
				t.Fatalf("SDK query refused: %s", code)
			}
			if code := v.send(t, "", v.RawQuerySent); isAuthCode(code) {
				t.Fatalf("same parameters as a form body refused: %s", code)
			}
			q, _ := url.ParseQuery(v.RawQuerySent)
			for _, k := range []string{"StreamName", "Command", "Timestamp", "SignatureNonce", "Signature"} {
				tq := cloneValues(q)
				val := []byte(tq.Get(k))
				val[len(val)-2]++
				tq.Set(k, string(val))
				want := CodeSignatureDoesNotMatch
				if k == "Timestamp" {
					want = CodeTimestampFormat // 2026-...:1:Z no longer parses
					if _, err := time.Parse(TimestampFormat, string(val)); err == nil {
						want = CodeSignatureDoesNotMatch
					}
				}
				if code := v.send(t, tq.Encode(), ""); code != want {
					t.Errorf("%s changed: got %q, want %s", k, code, want)
				}
			}
			wrong := v
			wrong.AccessKeySecret += "x"
			if got := SignRPC("POST", v.SignedParams, wrong.AccessKeySecret); got == v.ExpectedSignature {
				t.Error("the signature does not depend on the secret")
			}
			tq := cloneValues(q)
			tq.Set("AccessKeyId", "LTAIunknown")
			if code := v.send(t, tq.Encode(), ""); code != CodeAccessKeyNotFound {
				t.Errorf("unknown key: got %q", code)
			}
		})
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func isAuthCode(c string) bool {
	switch c {
	case CodeSignatureDoesNotMatch, CodeAccessKeyNotFound, CodeTimestampExpired, CodeTimestampFormat, CodeMissingParam, CodeNonceUsed:
		return true
	}
	return false
}
