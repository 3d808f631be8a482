package emulate_test

import (
	"context"
	"github.com/recordctl/recordctl/providers/tencent"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/spec"
)

// hangingEndpoint accepts connections and never answers.
func hangingEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// slowEndpoint forwards to target after d of wall-clock latency per call.
func slowEndpoint(t *testing.T, target string, d time.Duration) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Isolation: while the Tencent account never answers (or answers every
// call 1.5 s late), the daemon starts every Alibaba, Huawei and Agora
// window on time: the start each provider accepted (its emulator's
// record, on the shared fake clock) is within 1 s of the window's start,
// and the stops follow the window's end. The daemon runs on the fake
// clock; the test moves it from edge to edge and waits for the events.
func TestGuaranteeSlowProviderNeverDelaysOthers(t *testing.T) {
	t.Parallel() // slow (many worlds, timeouts): overlap with the rest
	for _, c := range []struct {
		name string
		tc   func(t *testing.T, w *world) string
	}{
		{"tencent never answers", func(t *testing.T, w *world) string { return hangingEndpoint(t) }},
		{"tencent 1.5s latency", func(t *testing.T, w *world) string {
			return slowEndpoint(t, w.srv.URLs["tencent"][0], 1500*time.Millisecond)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, "2026-11-21T10:00:00Z")
			w.exec.CallTimeout = time.Minute // the hanging call outlasts the test
			w.open()
			tcURL := c.tc(t, w)
			type win struct {
				name, prov string
				start, end time.Time
			}
			base := w.clk.Now()
			var wins []win
			var docs strings.Builder
			docs.WriteString(recDoc("tc-news", "tc", tcStreamYAML("news"), "", window{base.Add(time.Minute), base.Add(time.Hour)}))
			for i, p := range []string{"ali", "hw", "ag"} {
				for k := 0; k < 2; k++ {
					s := base.Add(time.Duration(1+2*k)*time.Minute + time.Duration(i)*10*time.Second)
					x := win{p + "-" + string(rune('a'+k)), p, s, s.Add(90 * time.Second)}
					wins = append(wins, x)
					stream, opts := "{domain: push.example.com, app: live, name: "+x.name+"}", ""
					if p == "ag" {
						stream, opts = "{channel: "+x.name+"}", agoraOptions
					}
					docs.WriteString(recDoc(x.name, p, stream, opts, window{x.start, x.end}))
				}
			}
			w.write("recs.yaml", docs.String())

			var mu sync.Mutex
			var seen []daemon.Report
			arrived := make(chan struct{}, 1)
			d, err := daemon.New(daemon.Config{Dir: w.dir, Engine: w.eng, Clock: w.clk, Resync: -1, Reload: -1, NoWatch: true,
				Prepare: func(set *spec.Set) error {
					err := w.srv.Point(set)
					tc := set.Provider("tc")
					cfg := tc.Spec.Config.(tencent.Config)
					cfg.Endpoint = tcURL // after the emulator's own endpoints
					tc.Spec.Config = cfg
					return err
				}, OnReconcile: func(r daemon.Report) {
					mu.Lock()
					seen = append(seen, r)
					mu.Unlock()
					select {
					case arrived <- struct{}{}:
					default:
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			// waitFor waits for a reconcile of prov planned at or after at.
			waitFor := func(prov string, at time.Time) {
				t.Helper()
				deadline := time.NewTimer(20 * time.Second)
				defer deadline.Stop()
				for {
					mu.Lock()
					for _, r := range seen {
						if r.Provider == prov && !r.At.Before(at) {
							mu.Unlock()
							return
						}
					}
					mu.Unlock()
					select {
					case <-arrived:
					case <-deadline.C:
						t.Fatalf("no reconcile of %s at or after %s: it waits on another provider\n%v\n%s", prov, at.Format(time.RFC3339), seenStr(&mu, seen), w.log.String())
					}
				}
			}
			for _, p := range []string{"ali", "hw", "ag"} {
				waitFor(p, base)
			}
			// Every edge in order: step the fake clock just past it and wait
			// for the owning provider's reconcile.
			type edge struct {
				at   time.Time
				prov string
			}
			var edges []edge
			for _, x := range wins {
				edges = append(edges, edge{x.start, x.prov}, edge{x.end, x.prov})
			}
			for i := range edges {
				for j := i + 1; j < len(edges); j++ {
					if edges[j].at.Before(edges[i].at) {
						edges[i], edges[j] = edges[j], edges[i]
					}
				}
			}
			for _, e := range edges {
				w.clk.Set(e.at.Add(time.Millisecond))

				waitFor(e.prov, e.at)
			}
			for _, x := range wins {
				var starts []time.Time
				switch x.prov {
				case "ali":
					for _, r := range w.aliyun().Recordings(spec.Stream{Domain: "push.example.com", App: "live", Name: x.name}) {
						starts = append(starts, r.Started)
					}
				case "hw":
					for _, r := range w.huawei().Recordings(spec.Stream{Domain: "push.example.com", App: "live", Name: x.name}) {
						starts = append(starts, r.Started)
					}
				case "ag":
					for _, s := range w.agora().Sessions() {
						if s.Channel == x.name {
							starts = append(starts, s.Started)
						}
					}
				}
				if len(starts) != 1 {
					t.Errorf("%s: %d accepted starts, want 1", x.name, len(starts))
					continue
				}
				if lag := starts[0].Sub(x.start); lag < 0 || lag > time.Second {
					t.Errorf("%s: start accepted %s after the window opened (want at most 1s)", x.name, lag)
				}
			}
			for _, x := range wins {
				if x.prov == "ag" {
					if n := len(liveAgora(w.agora(), x.name)); n != 0 {
						t.Errorf("%s: %d recorders still running after the window", x.name, n)
					}
					continue
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", w.log.String())
			}
		})
	}
}

func seenStr(mu *sync.Mutex, seen []daemon.Report) string {
	mu.Lock()
	defer mu.Unlock()
	var b strings.Builder
	for _, r := range seen {
		b.WriteString(r.Provider + " " + r.Trigger + " " + r.At.Format(time.RFC3339Nano) + "\n")
	}
	return b.String()
}
