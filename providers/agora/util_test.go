package agora

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// Distinctive secret values; tests grep every output for them.
const (
	testToken     = "tok-S3CRET-6d1f0a"
	testAccessKey = "AK-S3CRET-9b2e44"
	testSecretKey = "SK-S3CRET-77c1d5"
)

// fakeClock is a settable clock shared by the provider and the emulator.
type fakeClock struct{ *clocktest.Fake }

func (c *fakeClock) Advance(d time.Duration) { c.Step(d) }

// sleepRec records requested waits and advances the clock instead of sleeping.
type sleepRec struct {
	mu    sync.Mutex
	ds    []time.Duration
	clock *fakeClock
}

func (s *sleepRec) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	s.clock.Advance(d)
	return ctx.Err()
}

// sleepingClock is the provider's clock.Clock: the fake clock, whose
// sleeps are recorded and move the clock at once.
type sleepingClock struct {
	*clocktest.Fake
	rec *sleepRec
}

func (c sleepingClock) Sleep(ctx context.Context, d time.Duration) error { return c.rec.Sleep(ctx, d) }

// take returns the recorded waits and forgets them.
func (s *sleepRec) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.ds
	s.ds = nil
	return out
}

// hit is one request seen on the wire.
type hit struct {
	listener string // primary | fallback
	method   string
	path     string
	body     []byte
	status   int
}

// tap is an http.RoundTripper that records requests and can run a hook
// after each answer.
type tap struct {
	mu    sync.Mutex
	hits  []hit
	names map[string]string // host -> listener name
	after func(h hit)
}

func (t *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	h := hit{listener: t.names[r.URL.Host], method: r.Method, path: r.URL.Path, body: body}
	if err == nil {
		h.status = resp.StatusCode
	}
	t.mu.Lock()
	t.hits = append(t.hits, h)
	after := t.after
	t.mu.Unlock()
	if after != nil {
		after(h)
	}
	return resp, err
}

func (t *tap) take() []hit {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.hits
	t.hits = nil
	return out
}

// env is an emulator on two loopback listeners and a provider pointed at them.
type env struct {
	t        testing.TB
	clock    *fakeClock
	sleeps   *sleepRec
	faults   *emu.Faults
	emu      *agoraemu.Emulator
	primary  *httptest.Server
	fallback *httptest.Server
	tap      *tap
	prov     *Provider
	doc      *spec.Provider
	dir      string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, clock: &fakeClock{clocktest.New(time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC))}, faults: emu.NewFaults(1),
		dir: t.TempDir()}
	e.sleeps = &sleepRec{clock: e.clock}
	e.emu = agoraemu.NewEmulator(emu.Config{Now: e.clock.Now, Faults: e.faults})
	hs := e.emu.Handlers()
	e.primary, e.fallback = httptest.NewServer(e.faults.LoseAnswers(hs[0])), httptest.NewServer(e.faults.LoseAnswers(hs[1]))
	t.Cleanup(e.primary.Close)
	t.Cleanup(e.fallback.Close)
	e.tap = &tap{names: map[string]string{
		strings.TrimPrefix(e.primary.URL, "http://"):  "primary",
		strings.TrimPrefix(e.fallback.URL, "http://"): "fallback",
	}}
	e.doc = &spec.Provider{Metadata: spec.Metadata{Name: "agora-test"}, Spec: spec.ProviderSpec{
		Type: Type, Config: Config{AppID: agoraemu.DemoAppID, Endpoints: []string{e.primary.URL, e.fallback.URL}},
		Credentials: map[string]spec.SecretRef{},
	}}
	for k, v := range e.emu.DemoCredentials() {
		e.doc.Spec.Credentials[k] = spec.SecretRef{File: e.secretFile(k, v)}
	}
	e.prov = e.newProvider(e.doc)
	return e
}

// secretFile writes a secret to a file and returns its path.
func (e *env) secretFile(name, value string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) newProvider(doc *spec.Provider) *Provider {
	e.t.Helper()
	p, err := New(doc, providers.Options{
		HTTPClient: &http.Client{Transport: e.tap, Timeout: 10 * time.Second},
		UserAgent:  "recordctl-test", Clock: sleepingClock{e.clock.Fake, e.sleeps},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.(*Provider)
}

// recording is a Recording of channel with storage and token by reference.
func (e *env) recording(channel string, mod func(*Options)) *spec.Recording {
	o := Options{
		Token: &spec.SecretRef{File: e.secretFile("token", testToken)},
		Storage: &Storage{Vendor: 2, Region: 0, Bucket: "rec-bucket",
			AccessKey:      spec.SecretRef{File: e.secretFile("ak", testAccessKey)},
			SecretKey:      spec.SecretRef{File: e.secretFile("sk", testSecretKey)},
			FileNamePrefix: []string{"rec", "news"}},
	}
	if mod != nil {
		mod(&o)
	}
	return &spec.Recording{Metadata: spec.Metadata{Name: "rec-" + channel},
		Spec: spec.RecordingSpec{Provider: "agora-test", Stream: spec.Stream{Channel: channel}, Options: o}}
}

func (e *env) create(rec *spec.Recording, prev *providers.Task) (providers.Task, error) {
	now := e.clock.Now()
	return e.prov.Create(context.Background(), providers.CreateRequest{Key: rec.Name() + "@" + now.Format(time.RFC3339),
		Recording: rec, Stream: rec.Spec.Stream, Start: now, End: now.Add(time.Hour), Now: now, Previous: prev})
}

func (e *env) mustCreate(rec *spec.Recording, prev *providers.Task) providers.Task {
	e.t.Helper()
	task, err := e.create(rec, prev)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return task
}

// list returns the status of one managed task.
func (e *env) list(task providers.Task) providers.Task {
	e.t.Helper()
	got, err := e.prov.List(context.Background(), providers.Scope{Streams: []spec.Stream{task.Stream}, Managed: []providers.Task{task}})
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	if len(got) != 1 {
		e.t.Fatalf("List returned %d tasks, want 1", len(got))
	}
	return got[0]
}

// session returns the emulator's session with sid.
func (e *env) session(sid string) agoraemu.Session {
	e.t.Helper()
	for _, s := range e.emu.Sessions() {
		if s.SID == sid {
			return s
		}
	}
	e.t.Fatalf("emulator has no session %s", sid)
	return agoraemu.Session{}
}

func classOf(t testing.TB, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !asErr(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

func secs(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v) * time.Second
	}
	return out
}

func sameDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
