package aliyun

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// clock is a manual clock shared by client and emulator.
type clock struct{ *clocktest.Fake }

func newClock() *clock { return &clock{clocktest.New(time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC))} }

func (c *clock) Advance(d time.Duration) { c.Step(d) }

type fixture struct {
	emu    *aliyunemu.Emulator
	client *Client
	clk    *clock
	faults *emu.Faults
	srv    *httptest.Server
}

// newFixture serves an emulator on loopback and points a client at it with
// the given secret (use aliyunemu.DemoAccessKeySecret for a valid one).
func newFixture(t *testing.T, secret string) *fixture {
	t.Helper()
	clk := newClock()
	faults := emu.NewFaults(1)
	emu := aliyunemu.NewEmulator(emu.Config{Now: clk.Now, Faults: faults})
	srv := httptest.NewServer(emu.Handlers()[0])
	t.Cleanup(srv.Close)
	t.Setenv("RECORDCTL_TEST_ALIYUN_AK", aliyunemu.DemoAccessKeyID)
	t.Setenv("RECORDCTL_TEST_ALIYUN_SK", secret)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "ali-test"}, Spec: spec.ProviderSpec{
		Type: Type, Config: Config{Region: aliyunemu.DemoRegion, Endpoint: srv.URL},
		Credentials: map[string]spec.SecretRef{
			"accessKeyId":     {Env: "RECORDCTL_TEST_ALIYUN_AK"},
			"accessKeySecret": {Env: "RECORDCTL_TEST_ALIYUN_SK"},
		},
	}}
	c, err := NewClient(p, providers.Options{Clock: clk, HTTPClient: srv.Client(), UserAgent: "recordctl-test/1"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{emu: emu, client: c, clk: clk, faults: faults, srv: srv}
}

var news = spec.Stream{Domain: "push.example.com", App: "live", Name: "news"}

func createReq(s spec.Stream, finalize bool) providers.CreateRequest {
	rec := &spec.Recording{Metadata: spec.Metadata{Name: "evening-news"}}
	rec.Spec.Options = Options{FinalizeImmediately: finalize}
	now := newClock().Now()
	return providers.CreateRequest{Key: "evening-news@x", Recording: rec, Stream: s, Start: now, End: now.Add(time.Hour), Now: now}
}

// perr asserts err is a *providers.Error of class want and returns it.
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
