package tencent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

// t0 is the tests' fixed "now" (a Tuesday, 10:00 UTC).
var t0 = time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by client and emulator.
type fakeClock struct{ *clocktest.Fake }

func (c *fakeClock) Advance(d time.Duration) { c.Step(d) }

// skewed is c seen from a machine whose clock is off by d.
type skewed struct {
	clock.Clock
	d time.Duration
}

func (s skewed) Now() time.Time { return s.Clock.Now().Add(s.d) }

// fixture is a client talking to an emulator over loopback HTTP.
type fixture struct {
	clk    *fakeClock
	faults *emu.Faults
	emu    *tencentemu.Emulator
	srv    *httptest.Server
	c      *Client
	doc    *spec.Provider
}

// newFixture starts an emulator on t0 and a client with the demo
// credentials, read from the environment as a user would configure them.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clk: &fakeClock{clocktest.New(t0)}, faults: emu.NewFaults(7)}
	f.emu = tencentemu.NewEmulator(emu.Config{Now: f.clk.Now, Faults: f.faults})
	f.srv = httptest.NewServer(f.emu.Handlers()[0])
	t.Cleanup(f.srv.Close)
	t.Setenv("TEST_TC_SECRET_ID", tencentemu.DemoSecretID)
	t.Setenv("TEST_TC_SECRET_KEY", tencentemu.DemoSecretKey)
	f.doc = &spec.Provider{
		Metadata: spec.Metadata{Name: "tc"},
		Spec: spec.ProviderSpec{
			Type:   Type,
			Config: Config{Region: "ap-guangzhou", Endpoint: f.srv.URL},
			Credentials: map[string]spec.SecretRef{
				"secretId":  {Env: "TEST_TC_SECRET_ID"},
				"secretKey": {Env: "TEST_TC_SECRET_KEY"},
			},
		},
	}
	f.c = f.client(t, providers.Options{})
	return f
}

// client builds another client for the fixture's document and clock.
func (f *fixture) client(t testing.TB, opts providers.Options) *Client {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = f.clk
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "recordctl/test"
	}
	c, err := NewClient(f.doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	news   = spec.Stream{Domain: "push.example.com", App: "live", Name: "news"}
	sports = spec.Stream{Domain: "push.example.com", App: "live", Name: "sports"}
)

func createReq(s spec.Stream, start, end time.Time) providers.CreateRequest {
	return providers.CreateRequest{Key: "rec@" + start.Format(time.RFC3339), Stream: s, Start: start, End: end, Now: t0}
}

// classOf asserts err is a *providers.Error and returns it.
func asProviderError(t testing.TB, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	noSecrets(t, err)
	return pe
}

// noSecrets fails if any credential value is in the error text.
func noSecrets(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{tencentemu.DemoSecretKey, tencentemu.DemoSecretID, wrongKey} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a credential: %v", err)
		}
	}
}

const wrongKey = "not-the-demo-secret-key-123456789"

// rawCall signs body with the demo credentials at the emulator's clock and
// POSTs it as action, after mutate had its say; it returns the decoded
// Response object.
func (f *fixture) rawCall(t testing.TB, action, body string, mutate func(*http.Request)) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, f.srv.URL+"/", strings.NewReader(body))
	host := strings.TrimPrefix(f.srv.URL, "http://")
	ts := f.clk.Now().Unix()
	auth, _ := Signer{SecretID: tencentemu.DemoSecretID, SecretKey: tencentemu.DemoSecretKey}.Sign(host, "application/json", []byte(body), ts)
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", APIVersion)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", tencentemu.DefaultRegion)
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct{ Response map[string]any }
	if err := json.Unmarshal(raw, &env); err != nil || env.Response == nil {
		t.Fatalf("response is not {\"Response\":...}: %s", raw)
	}
	if env.Response["RequestId"] == "" || env.Response["RequestId"] == nil {
		t.Errorf("response without RequestId: %s", raw)
	}
	return env.Response
}

// errCode returns Response.Error.Code or "".
func errCode(resp map[string]any) string {
	e, _ := resp["Error"].(map[string]any)
	code, _ := e["Code"].(string)
	return code
}

// setEndpoint points doc at url.
func setEndpoint(doc *spec.Provider, url string) {
	c := configOf(doc)
	c.Endpoint = url
	doc.Spec.Config = c
}

// setRegion changes doc's region.
func setRegion(doc *spec.Provider, region string) {
	c := configOf(doc)
	c.Region = region
	doc.Spec.Config = c
}
