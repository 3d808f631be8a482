package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// quiet drops the servers' handshake-failure logs (the failures are the point).
var quiet = log.New(io.Discard, "", 0)

// countingTransport counts round trips (each one a TLS handshake attempt).
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// expiredServer serves https with a certificate for 127.0.0.1 that expired
// an hour ago, and returns it with a pool that trusts that certificate.
func expiredServer(t *testing.T) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired test"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = quiet
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return srv, pool
}

// TestTLSFailuresArePermanent: an endpoint whose certificate is self-signed,
// names another host or has expired fails once, as a Permanent error that
// names the endpoint and the reason (not a Retryable one retried for minutes).
func TestTLSFailuresArePermanent(t *testing.T) {
	selfSigned := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	selfSigned.Config.ErrorLog = quiet
	selfSigned.StartTLS()
	t.Cleanup(selfSigned.Close)
	trusted := selfSigned.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	expired, expiredPool := expiredServer(t)
	port := selfSigned.URL[strings.LastIndex(selfSigned.URL, ":")+1:]

	cases := []struct {
		name, url string
		roots     *x509.CertPool // nil: the system's
		reason    string
	}{
		{"self-signed", selfSigned.URL, nil, "unknown authority"},
		// httptest's certificate names example.com and 127.0.0.1, not localhost.
		{"name mismatch", "https://localhost:" + port, trusted, "does not name this host"},
		{"expired", expired.URL, expiredPool, "has expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := &countingTransport{base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tc.roots}}}
			hc := providers.Options{HTTPClient: &http.Client{Transport: ct}}.Client()
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, tc.url+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = providers.Exchange(context.Background(), hc, req, "test", "Op", tc.url)
			if err == nil {
				t.Fatal("request succeeded")
			}
			if c := providers.ClassOf(err); c != providers.Permanent || providers.IsRetryable(err) {
				t.Errorf("class %v, want permanent: %v", c, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.url) || !strings.Contains(msg, "TLS") || !strings.Contains(msg, tc.reason) {
				t.Errorf("message must name the endpoint %s, TLS and %q: %s", tc.url, tc.reason, msg)
			}
			if n := ct.n.Load(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
}

// TestTLSReasonIgnoresOtherErrors: a refused connection stays retryable.
func TestTLSReasonIgnoresOtherErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	_, _, err = providers.Exchange(context.Background(), http.DefaultClient, req, "test", "Op", "https://"+addr)
	if err == nil || providers.ClassOf(err) != providers.Retryable || providers.TLSReason(err) != "" {
		t.Errorf("refused connection: class %v, TLS reason %q: %v", providers.ClassOf(err), providers.TLSReason(err), err)
	}
}

// BenchmarkTLSFailure: how long a request to an untrusted endpoint takes to
// fail, against a request that completes through the same TLS handshake to
// a trusted one (keep-alives off: every request handshakes). The issue's
// ~104 s came from retrying; one failure costs about one handshake.
func BenchmarkTLSFailure(b *testing.B) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = quiet
	srv.StartTLS()
	b.Cleanup(srv.Close)
	untrusted := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	trusted := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}}
	call := func(hc *http.Client) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		_, _, err := providers.Exchange(context.Background(), hc, req, "test", "Op", srv.URL)
		return err
	}
	var tFail, tOK time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := call(untrusted); providers.ClassOf(err) != providers.Permanent {
			b.Fatalf("untrusted endpoint: %v", err)
		}
		t1 := time.Now()
		if err := call(trusted); err != nil {
			b.Fatal(err)
		}
		tFail, tOK = tFail+t1.Sub(t0), tOK+time.Since(t1)
	}
	b.ReportMetric(float64(tFail.Microseconds())/float64(b.N)/1000, "ms/failure")
	b.ReportMetric(float64(tFail)/float64(tOK), "failure/success")
}
