package agora

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
)

// selfSigned is an https server with httptest's certificate, which this
// machine does not trust.
func selfSigned(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request got through the handshake")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestUntrustedEndpointsFailAtOnce: a domain whose certificate fails is
// tried once, without the retry waits; the next domain is tried at once;
// when all fail so, the error is permanent and names the endpoint and the
// reason.
func TestUntrustedEndpointsFailAtOnce(t *testing.T) {
	e := newEnv(t)
	a, b := selfSigned(t), selfSigned(t)
	e.doc.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{a.URL, b.URL}}
	e.prov = e.newProvider(e.doc)
	_, err := e.create(e.recording("tls", nil), nil)
	pe := classOf(t, err)
	if pe.Class != providers.Permanent || providers.IsRetryable(err) {
		t.Fatalf("class %v, want permanent: %v", pe.Class, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "TLS") || !strings.Contains(msg, "unknown authority") ||
		!strings.Contains(msg, a.URL) && !strings.Contains(msg, b.URL) {
		t.Errorf("message does not name the endpoint and the reason: %s", msg)
	}
	if got := e.sleeps.take(); len(got) != 0 {
		t.Errorf("waited %v before giving up", got)
	}
	if n := len(e.tap.take()); n != 2 {
		t.Errorf("%d attempts, want one per domain", n)
	}

	// A good fallback domain is used right after the primary's failure.
	e.doc.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{a.URL, e.fallback.URL}}
	e.prov = e.newProvider(e.doc)
	task, err := e.create(e.recording("tls2", nil), nil)
	if err != nil || task.ID == "" {
		t.Fatalf("Create with a good fallback: %v", err)
	}
	if got := e.sleeps.take(); len(got) != 0 {
		t.Errorf("waited %v after a certificate failure", got)
	}
}
