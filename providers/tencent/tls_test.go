package tencent

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recordctl/recordctl/providers"
)

// TestSelfSignedEndpointFailsOnce: an https endpoint whose certificate this
// machine does not trust is a permanent error naming the endpoint and the
// reason after one attempt, for every operation (not a retryable one).
func TestSelfSignedEndpointFailsOnce(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request got through the handshake")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f := newFixture(t)
	setEndpoint(f.doc, srv.URL)
	var attempts atomic.Int32
	f.c = f.client(t, providers.Options{HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}})
	for op, call := range ops(f) {
		attempts.Store(0)
		err := call(context.Background())
		pe := asProviderError(t, err)
		if pe.Class != providers.Permanent || providers.IsRetryable(err) {
			t.Errorf("%s: class %v, want permanent: %v", op, pe.Class, err)
		}
		if msg := err.Error(); !strings.Contains(msg, srv.URL) || !strings.Contains(msg, "TLS") || !strings.Contains(msg, "unknown authority") {
			t.Errorf("%s: message does not name the endpoint and the reason: %s", op, msg)
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("%s: %d attempts, want 1", op, n)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
