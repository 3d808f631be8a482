package calendar

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/recordctl/recordctl/spec"
)

// chromium finds Debian's chromium. Without it the browser tests skip,
// except in CI (CI=true), where a missing browser is a failure.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed (CI=true): .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed; apt-get install chromium to run the browser tests")
	return ""
}

// page is a headless chromium tab that records every network request,
// console message and exception of what it loads.
type page struct {
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	problems []string
}

func newPage(t testing.TB, bin string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.WindowSize(1400, 900),
		// Any request that is not for the page's own loopback origin goes
		// to a proxy that does not exist, and is seen below either way.
		chromedp.ProxyServer("127.0.0.1:9"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	p := &page{}
	// The listener is there before the first command, so it sees every event of the tab.
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.requests = append(p.requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			switch e.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.problems = append(p.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			p.problems = append(p.problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				p.problems = append(p.problems, fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		}
	}))
	t.Cleanup(func() { cancelC(); cancelA() })
	p.ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return p
}

// serve puts the page on a loopback server that counts every request.
func serve(t testing.TB, html []byte) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/calendar" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/calendar", func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

// painted waits until the page has been laid out and painted.
var painted = chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)

// browserDocs is a week around Berlin's spring-forward with every kind of
// conflict: two recordings of one stream, and a Huawei restart within 10 s.
func browserDocs() []string {
	return []string{
		cronRec("evening-news", "tx", "news", "0 19 * * MON-FRI", "1h30m", "Europe/Berlin"),
		cronRec("night-show", "hw", "night", "30 2 * * *", "1h", "Europe/Berlin"),
		winRec("late-news", "tx", "news", "2027-03-25T19:00:00Z", "2027-03-25T20:00:00Z"), // overlaps evening-news on one stream
		winRec("relay-a", "hw", "relay", "2027-03-27T10:00:00Z", "2027-03-27T11:00:00Z"),
		winRec("relay-b", "hw", "relay", "2027-03-27T11:00:05Z", "2027-03-27T12:00:00Z"),
		winRec("gala", "tx", "gala", "2027-03-26T06:00:00Z", "2027-03-27T12:00:00Z"),
		contRec("rolling", "ali", "rolling"),
	}
}

// TestHTMLInHeadlessChromium renders the page in Debian's chromium: it is
// painted, a screenshot is produced, the lanes, the DST marker, the now
// line and the conflict highlights are in the DOM, and there is no console
// error and no network request besides the page itself.
func TestHTMLInHeadlessChromium(t *testing.T) {
	bin := chromium(t)
	from := mustTime(t, "2027-03-24T00:00:00+01:00")
	set := loadSet(t, from.Add(-30*24*time.Hour), browserDocs()...)
	cal, err := Build(set, Options{From: from, Days: 7, Now: from.Add(50 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, cal, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	url, served := serve(t, buf.Bytes())
	p := newPage(t, bin)
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(`html[data-rendered="1"]`)), painted); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	lanes, windows := count(`svg.lanes g.lane`), count(`svg.lanes rect.win`)
	dstLines, dstBerlin := count(`line.dst`), count(`line.dst[data-zone="Europe/Berlin"]`)
	nowLines := count(`svg.lanes line.now`)
	conflicts, sameStream, restartGap := count(`rect.conflict`), count(`rect.conflict-same-stream`), count(`rect.conflict-restart-gap`)
	laneNames, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('g.lane')).map(g => g.dataset.recording).sort().join(',')`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if lanes != len(set.Recordings) || laneNames != "evening-news,gala,late-news,night-show,relay-a,relay-b,rolling" {
		t.Errorf("lanes = %d (%s), want one per recording", lanes, laneNames)
	}
	if windows != len(cal.Windows) {
		t.Errorf("window bars = %d, want %d", windows, len(cal.Windows))
	}
	if dstBerlin == 0 || dstLines == 0 {
		t.Errorf("DST marker for Europe/Berlin missing (dst lines %d, Berlin %d)", dstLines, dstBerlin)
	}
	if nowLines == 0 {
		t.Errorf("no now line")
	}
	if sameStream == 0 || restartGap == 0 || conflicts < sameStream+restartGap {
		t.Errorf("conflict highlights: all %d, same-stream %d, restart-gap %d", conflicts, sameStream, restartGap)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 200 {
		t.Fatalf("screenshot is %v", b)
	}
	if dir := os.Getenv("RECORDCTL_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "calendar.png"), shot, 0o644)
		_ = os.WriteFile(filepath.Join(dir, "calendar.html"), buf.Bytes(), 0o644)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.problems {
		t.Errorf("browser reported: %s", pr)
	}
	for _, r := range p.requests {
		if r != url {
			t.Errorf("network request besides the page: %s", r)
		}
	}
	if got := served(); len(got) != 1 {
		t.Errorf("the server saw %v, want only the page", got)
	}
}

// bigSet is n recordings over every provider kind and several zones, each
// with a few windows a day.
func bigSet(t testing.TB, n int, at time.Time) *spec.Set {
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Sydney", "UTC"}
	provs := []string{"tx", "hw", "ali"}
	docs := make([]string, 0, n)
	for i := range n {
		cron := fmt.Sprintf("%d %d,%d * * *", i%60, 6+i%5, 18+i%4)
		docs = append(docs, cronRec(fmt.Sprintf("rec-%03d", i), provs[i%3], fmt.Sprintf("s%03d", i), cron, "1h15m", zones[i%len(zones)]))
	}
	return loadSet(t, at, docs...)
}

// BenchmarkHTMLRender500 measures how long chromium takes to load and
// paint the page of 500 recordings over 7 days (the target is under 2 s),
// against the same page with one recording in the same browser. Metrics:
// ms/render (500), ms/baseline (1), ratio to the baseline, share of the 2 s
// budget, and the same with every group expanded.
func BenchmarkHTMLRender500(b *testing.B) {
	bin := chromium(b)
	from := mustTime(b, "2027-03-24T00:00:00Z")
	big := bigSet(b, 500, from.Add(-30*24*time.Hour))
	small := bigSet(b, 1, from.Add(-30*24*time.Hour))
	render := func(set *spec.Set) []byte {
		cal, err := Build(set, Options{From: from, Days: 7, Now: from.Add(30 * time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteHTML(&buf, cal, HTMLOptions{}); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	bigURL, _ := serve(b, render(big))
	smallURL, _ := serve(b, render(small))
	p := newPage(b, bin)
	load := func(url string, expand bool) time.Duration {
		start := time.Now()
		acts := []chromedp.Action[chromedp.Void]{chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(`html[data-rendered="1"]`)), painted}
		if expand {
			acts = append(acts, chromedp.Click(chromedp.ID("expand")), painted)
		}
		if err := chromedp.Do(p.ctx, acts...); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	load(smallURL, false) // warm the browser up
	var tb, ts, te time.Duration
	b.ResetTimer()
	for range b.N {
		ts += load(smallURL, false)
		tb += load(bigURL, false)
		te += load(bigURL, true)
	}
	n := float64(b.N)
	msB, msS, msE := float64(tb.Milliseconds())/n, float64(ts.Milliseconds())/n, float64(te.Milliseconds())/n
	b.ReportMetric(msB, "ms/render")
	b.ReportMetric(msS, "ms/baseline")
	b.ReportMetric(msB/max(msS, 1), "x-baseline")
	b.ReportMetric(msB/2000, "budget-share")
	b.ReportMetric(msE, "ms/expanded")
	b.ReportMetric(msE/2000, "expanded-budget-share")
}

// TestBrowserHarnessSeesProblems is the control for the test above: a page
// that logs an error, throws, and loads an image from elsewhere is caught
// on all three counts, so "no problem, no request" there means something.
func TestBrowserHarnessSeesProblems(t *testing.T) {
	bin := chromium(t)
	bad := []byte(`<!DOCTYPE html><html><head><title>bad</title></head><body><img src="http://calendar.example.invalid/x.png">` +
		`<script>console.error("boom"); setTimeout(function(){ throw new Error("thrown"); }, 0);` +
		`document.documentElement.setAttribute('data-rendered','1');</script></body></html>`)
	url, _ := serve(t, bad)
	p := newPage(t, bin)
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(`html[data-rendered="1"]`)), painted, painted); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	all := strings.Join(p.problems, "\n")
	if !strings.Contains(all, "boom") || !strings.Contains(all, "exception") {
		t.Errorf("problems seen: %q; want the console error and the exception", all)
	}
	external := false
	for _, r := range p.requests {
		external = external || strings.Contains(r, "calendar.example.invalid")
	}
	if !external {
		t.Errorf("requests seen: %v; want the external image", p.requests)
	}
}
