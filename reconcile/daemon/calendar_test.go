package daemon

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/recordctl/recordctl/spec"
)

// TestCalendarEndpointsFollowEdits: /calendar and /calendar.ics show the
// documents in force and the state (a created task is "scheduled"), and
// follow a document edit: a new recording appears, a moved window changes
// identity; bad query parameters are a 400 that says what is allowed.
func TestCalendarEndpointsFollowEdits(t *testing.T) {
	h := newHarness(t)
	h.cfg.Listen = "127.0.0.1:0"
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	h.write("a.yaml", rec("a", "tx", "a", start, start.Add(time.Hour)))
	d := h.start()
	h.waitReconcile(0)
	h.waitFor("create of a", func() bool { return h.liveTx()["a"] == 1 })
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	feed := func() map[string]*ics.VEvent {
		t.Helper()
		code, ct, body := get("/calendar.ics")
		if code != 200 || !strings.HasPrefix(ct, "text/calendar") {
			t.Fatalf("/calendar.ics = %d %s", code, ct)
		}
		cal, err := ics.ParseCalendar(strings.NewReader(body))
		if err != nil {
			t.Fatalf("parse feed: %v", err)
		}
		m := map[string]*ics.VEvent{}
		for _, e := range cal.Events() {
			m[e.Id()] = e
		}
		return m
	}
	idA := spec.WindowID("a", start)
	code, ct, page := get("/calendar")
	if code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(page, `data-window="`+idA+`"`) || !strings.Contains(page, "st-scheduled") {
		t.Fatalf("/calendar = %d %s; has a's window: %v", code, ct, strings.Contains(page, idA))
	}
	ev := feed()[idA]
	if ev == nil {
		t.Fatalf("feed lacks %s", idA)
	}
	if s, err := ev.GetStartAt(); err != nil || !s.Equal(start) {
		t.Fatalf("a starts %s (%v), want %s", s, err, start)
	}
	if desc := ev.GetProperty(ics.ComponentPropertyDescription).Value; !strings.Contains(desc, "status: scheduled") {
		t.Errorf("a's description %q: the state has its task, want status scheduled", desc)
	}

	// Edit: add b, move a.
	n := h.reportCount()
	h.write("b.yaml", rec("b", "tx", "b", start.Add(2*time.Hour), start.Add(3*time.Hour)))
	h.write("a.yaml", rec("a", "tx", "a", start.Add(30*time.Minute), start.Add(time.Hour)))
	h.waitFor("the edit in force", func() bool {
		return h.reportCount() > n && len(d.Documents().Set.Recordings) == 2 && d.Documents().Set.Recordings[0].Spec.Windows[0].Start.Equal(start.Add(30*time.Minute))
	})
	events := feed()
	idA2, idB := spec.WindowID("a", start.Add(30*time.Minute)), spec.WindowID("b", start.Add(2*time.Hour))
	if events[idA] != nil || events[idA2] == nil || events[idB] == nil || len(events) != 2 {
		var ids []string
		for id := range events {
			ids = append(ids, id)
		}
		t.Fatalf("after the edit the feed has %v, want %s and %s", ids, idA2, idB)
	}
	if _, _, page := get("/calendar"); !strings.Contains(page, `data-recording="b"`) || strings.Contains(page, `data-window="`+idA+`"`) {
		t.Fatalf("/calendar does not follow the edit")
	}

	// The range: a day that starts after every window is empty; bad input is a 400.
	tomorrow := start.Add(48 * time.Hour).UTC().Format("2006-01-02")
	if n := len(feedAt(t, get, "/calendar.ics?from="+tomorrow+"&days=1")); n != 0 {
		t.Errorf("from=%s days=1 has %d events, want 0", tomorrow, n)
	}
	for _, q := range []string{"?days=0", "?days=x", "?from=yesterday", "?zone=Mars/Olympus", "?recording=nope"} {
		if code, _, body := get("/calendar.ics" + q); code != http.StatusBadRequest || body == "" {
			t.Errorf("%s = %d %q, want 400 with a reason", q, code, body)
		}
	}
}

func feedAt(t *testing.T, get func(string) (int, string, string), path string) []*ics.VEvent {
	t.Helper()
	code, _, body := get(path)
	if code != 200 {
		t.Fatalf("%s = %d %s", path, code, body)
	}
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return cal.Events()
}
