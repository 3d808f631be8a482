package aliyun

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	rclock "github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// paceCreates is how many creates one apply-like run sends.
const paceCreates = 400

// BenchmarkApplyPacing sends 400 creates (RealTimeRecordCommand start)
// against the emulator at Alibaba's documented 50 requests/s, as apply
// does, with and without 200 ms of provider latency, two ways in the same
// process:
//
//   - baseline: the engine before issue 10, a token bucket at exactly the
//     documented rate with a burst of one second's worth, 8 calls in flight;
//   - paced: a providers.Pacer (95 % of the rate, no burst, throttles slow
//     it) with InFlight() = rate × observed latency calls in flight.
//
// A throttled create is retried after its RetryAfter, as the engine does.
// Reported: each way's achieved share of the documented rate and its
// throttles, and paced/baseline.
func BenchmarkApplyPacing(b *testing.B) {
	for _, lat := range []time.Duration{0, 200 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			b.Setenv("BENCH_ALI_ID", aliyunemu.DemoAccessKeyID)
			b.Setenv("BENCH_ALI_SK", aliyunemu.DemoAccessKeySecret)
			var base, paced paceRun
			for i := 0; i < b.N; i++ {
				base.add(runBaseline(b, paceEmulator(b, lat)))
				paced.add(runPaced(b, paceEmulator(b, lat)))
			}
			doc50 := float64(aliyunemu.DefaultQPS)
			b.ReportMetric(paced.rate()/doc50, "paced_rate/documented")
			b.ReportMetric(float64(paced.throttles)/float64(b.N), "paced_throttles/op")
			b.ReportMetric(base.rate()/doc50, "baseline_rate/documented")
			b.ReportMetric(float64(base.throttles)/float64(b.N), "baseline_throttles/op")
			b.ReportMetric(paced.rate()/base.rate(), "paced/baseline")
		})
	}
}

// paceEmulator starts an emulator of its own (at 50 requests/s, adding
// lat to every request) for one run, so no run inherits the rate window of
// the one before, and returns a Provider document pointing at it.
func paceEmulator(b *testing.B, lat time.Duration) *spec.Provider {
	faults := emu.NewFaults(1)
	faults.Set(0, lat, false)
	hs := httptest.NewServer(aliyunemu.NewEmulator(emu.Config{Faults: faults}))
	b.Cleanup(hs.Close)
	return &spec.Provider{Metadata: spec.Metadata{Name: "bench"}, Spec: spec.ProviderSpec{Type: Type, Config: Config{Region: aliyunemu.DemoRegion, Endpoint: hs.URL},
		Credentials: map[string]spec.SecretRef{"accessKeyId": {Env: "BENCH_ALI_ID"}, "accessKeySecret": {Env: "BENCH_ALI_SK"}}}}
}

// paceRun sums runs: creates, wall time, throttled answers.
type paceRun struct {
	creates   int
	elapsed   time.Duration
	throttles int64
}

func (r *paceRun) add(o paceRun) {
	r.creates += o.creates
	r.elapsed += o.elapsed
	r.throttles += o.throttles
}

func (r paceRun) rate() float64 { return float64(r.creates) / r.elapsed.Seconds() }

// limited is the old engine's transport: a token bucket before each request.
type limited struct {
	base http.RoundTripper
	lim  *rate.Limiter
}

func (l limited) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := l.lim.Wait(r.Context()); err != nil {
		return nil, err
	}
	return l.base.RoundTrip(r)
}

func runBaseline(b *testing.B, doc *spec.Provider) paceRun {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: limited{http.DefaultTransport, rate.NewLimiter(aliyunemu.DefaultQPS, aliyunemu.DefaultQPS)}}
	c, err := NewClient(doc, providers.Options{HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	return drive(b, c, func() int { return 8 })
}

func runPaced(b *testing.B, doc *spec.Provider) paceRun {
	pacer := providers.NewPacer(aliyunemu.DefaultQPS, nil)
	c, err := NewClient(doc, providers.Options{Pacer: pacer})
	if err != nil {
		b.Fatal(err)
	}
	r := drive(b, c, pacer.InFlight)
	if r.throttles != pacer.Throttles() {
		b.Fatalf("%d throttled answers, the pacer counted %d", r.throttles, pacer.Throttles())
	}
	return r
}

// drive creates paceCreates streams, keeping inFlight() calls in flight,
// and retries throttled ones after their RetryAfter.
func drive(b testing.TB, c *Client, inFlight func() int) paceRun {
	ctx := context.Background()
	var throttles atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{}, paceCreates)
	running := 0
	start := time.Now()
	for i := 0; i < paceCreates; i++ {
		for running >= inFlight() {
			<-done
			running--
		}
		running++
		wg.Add(1)
		go func() {
			defer func() { done <- struct{}{}; wg.Done() }()
			s := spec.Stream{Domain: "push.example.com", App: "live", Name: fmt.Sprint("s", i)}
			for {
				_, err := c.Create(ctx, providers.CreateRequest{Key: s.Name, Stream: s})
				if err == nil {
					return
				}
				if providers.ClassOf(err) != providers.Throttled {
					b.Error(err)
					return
				}
				throttles.Add(1)
				rclock.Real.Sleep(ctx, providers.RetryAfter(err))
			}
		}()
	}
	wg.Wait()
	return paceRun{creates: paceCreates, elapsed: time.Since(start), throttles: throttles.Load()}
}
