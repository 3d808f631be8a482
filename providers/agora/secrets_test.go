package agora

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/spec"
)

// TestSecretsNeverInOutput drives every path that returns something (tasks,
// handles, errors) and greps their JSON and text for the secret values,
// after checking the values did reach the service.
func TestSecretsNeverInOutput(t *testing.T) {
	e := newEnv(t)
	var outputs []any
	record := func(task providers.Task, err error) providers.Task {
		outputs = append(outputs, task)
		if err != nil {
			outputs = append(outputs, err.Error(), classOf(t, err))
		}
		return task
	}
	rec := e.recording("secrets", nil)
	task := record(e.create(rec, nil))
	e.clock.Advance(5 * time.Second)
	lst, err := e.prov.List(context.Background(), providers.Scope{Managed: []providers.Task{task}})
	outputs = append(outputs, lst)
	if err != nil {
		t.Fatal(err)
	}
	record(e.create(rec, nil)) // backup uid
	record(e.create(rec, nil)) // both busy: error
	record(e.prov.Stop(context.Background(), task))
	record(e.prov.Stop(context.Background(), task)) // code 49
	record(e.create(e.recording("secrets2", func(o *Options) {
		o.Token = &spec.SecretRef{File: e.secretFile("badtok", "invalid-"+testToken)}
	}), nil)) // code 110
	e.faults.Set(1, 0, false)
	record(e.create(rec, nil)) // 500s
	e.faults.Set(0, 0, true)
	record(e.create(rec, nil)) // 429s

	var sentSK bool
	for _, h := range e.tap.take() {
		sentSK = sentSK || strings.Contains(string(h.body), testSecretKey)
	}
	if !sentSK {
		t.Fatal("the storage secret never reached the service; the test would prove nothing")
	}
	blob, err := json.Marshal(outputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testToken, testAccessKey, testSecretKey, agoraemu.DemoCustomerSecret} {
		if strings.Contains(string(blob), s) {
			t.Errorf("secret %q appears in output: %s", s, blob)
		}
	}
	if !strings.Contains(string(blob), "renew the RTC token") {
		t.Error("the outputs do not include the token error; coverage lost")
	}
}

// A service that echoes a secret in its error text must not leak it.
func TestEchoedSecretIsRedacted(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/acquire") {
			_, _ = io.WriteString(w, `{"resourceId":"R"}`)
			return
		}
		var in startRequest
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": codeInvalidParam, "reason": "bad storageConfig secretKey=" +
			in.ClientRequest.StorageConfig.SecretKey + " token=" + in.ClientRequest.Token})
	}))
	defer srv.Close()
	e.doc.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{srv.URL}}
	e.prov = e.newProvider(e.doc)
	_, err := e.create(e.recording("echo", nil), nil)
	if err == nil {
		t.Fatal("create succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, testSecretKey) || strings.Contains(msg, testToken) || !strings.Contains(msg, "secretKey=***") {
		t.Errorf("error text %q", msg)
	}
}
