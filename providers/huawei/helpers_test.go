package huawei

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/spec"
)

// clock is a manual clock.
type clock struct{ *clocktest.Fake }

func newClock() *clock { return &clock{clocktest.New(time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC))} }

func (c *clock) Advance(d time.Duration) { c.Step(d) }

type fixture struct {
	emu    *huaweiemu.Emulator
	client *Client
	clk    *clock // client clock
	emuClk *clock // emulator clock
	faults *emu.Faults
	srv    *httptest.Server
}

// advance moves both clocks.
func (f *fixture) advance(d time.Duration) {
	f.clk.Advance(d)
	if f.emuClk != f.clk {
		f.emuClk.Advance(d)
	}
}

type fixtureOpt struct {
	secret      string
	splitClocks bool
	remoteAddr  string
}

func newFixture(t *testing.T, o fixtureOpt) *fixture {
	t.Helper()
	if o.secret == "" {
		o.secret = huaweiemu.DemoSecretKey
	}
	f := &fixture{clk: newClock(), faults: emu.NewFaults(1)}
	f.emuClk = f.clk
	if o.splitClocks {
		f.emuClk = newClock()
	}
	f.emu = huaweiemu.NewEmulator(emu.Config{Now: f.emuClk.Now, Faults: f.faults})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.remoteAddr != "" {
			r.RemoteAddr = o.remoteAddr
		}
		f.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	t.Setenv("RECORDCTL_TEST_HW_AK", huaweiemu.DemoAccessKey)
	t.Setenv("RECORDCTL_TEST_HW_SK", o.secret)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "hw-test"}, Spec: spec.ProviderSpec{
		Type: Type, Config: Config{Region: huaweiemu.DemoRegion, ProjectID: huaweiemu.DemoProjectID, Endpoint: f.srv.URL},
		Credentials: map[string]spec.SecretRef{
			"accessKey": {Env: "RECORDCTL_TEST_HW_AK"},
			"secretKey": {Env: "RECORDCTL_TEST_HW_SK"},
		},
	}}
	c, err := NewClient(p, providers.Options{Clock: f.clk, HTTPClient: f.srv.Client(), UserAgent: "recordctl-test/1"})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

var news = spec.Stream{Domain: "push.example.com", App: "live", Name: "news"}

func createReq(s spec.Stream) providers.CreateRequest {
	now := newClock().Now()
	return providers.CreateRequest{Key: "evening-news@x", Recording: &spec.Recording{}, Stream: s, Start: now, End: now.Add(time.Hour), Now: now}
}

func perr(t *testing.T, err error, want providers.Class) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	if pe.Class != want {
		t.Fatalf("class = %v, want %v (error: %v)", pe.Class, want, err)
	}
	return pe
}
