package calendar

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// TestICSRoundTrip: the feed, parsed by an iCalendar library, gives back
// every window: UID = identity, DTSTART/DTEND in UTC equal to the shown
// extent, summary = recording, description with provider and stream; the
// raw bytes use CRLF and lines of at most 75 octets (folded, never inside
// a UTF-8 sequence).
func TestICSRoundTrip(t *testing.T) {
	from := mustTime(t, "2027-03-25T00:00:00Z")
	set := loadSet(t, from.Add(-30*24*time.Hour),
		cronRec("evening-news-with-a-rather-long-name-to-force-folding", "tx", "news", "0 19 * * MON-FRI", "1h30m", "Europe/Berlin"),
		cronRec("night", "hw", "night", "30 2 * * *", "1h", "Europe/Berlin"), // 02:30 does not exist on 2027-03-28
		winRec("gala", "tx", "gala", "2027-03-26T06:00:00Z", "2027-03-27T12:00:00Z"),
		contRec("always", "ali", "always"))
	cal, err := Build(set, Options{From: from, Days: 7, Now: from})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteICS(&buf, cal); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if !bytes.HasSuffix(raw, []byte("END:VCALENDAR\r\n")) {
		t.Fatalf("feed does not end with END:VCALENDAR CRLF")
	}
	folded := 0
	for i, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			t.Fatalf("line %d does not end with CRLF: %q", i+1, line)
		}
		body := bytes.TrimSuffix(line, []byte("\r\n"))
		if len(body) > 75 {
			t.Errorf("line %d has %d octets (max 75): %q", i+1, len(body), body)
		}
		if !utf8.Valid(body) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, body)
		}
		if bytes.HasPrefix(body, []byte(" ")) {
			folded++
		}
	}
	if folded == 0 {
		t.Fatalf("no folded line: the test does not exercise folding")
	}

	parsed, err := ics.ParseCalendar(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	events := parsed.Events()
	if len(events) != len(cal.Windows) || len(events) < 10 {
		t.Fatalf("%d events, %d windows", len(events), len(cal.Windows))
	}
	byUID := map[string]*ics.VEvent{}
	for _, e := range events {
		byUID[e.Id()] = e
	}
	for _, w := range cal.Windows {
		e := byUID[w.ID]
		if e == nil {
			t.Fatalf("no event with UID %q", w.ID)
		}
		for _, p := range []ics.ComponentProperty{ics.ComponentPropertyDtStart, ics.ComponentPropertyDtEnd} {
			if v := e.GetProperty(p).Value; !strings.HasSuffix(v, "Z") || len(e.GetProperty(p).ICalParameters) > 0 {
				t.Errorf("%s %s = %q: want a UTC date-time", w.ID, p, v)
			}
		}
		s, err1 := e.GetStartAt()
		en, err2 := e.GetEndAt()
		if err1 != nil || err2 != nil || !s.Equal(w.ShownStart) || !en.Equal(w.ShownEnd) {
			t.Errorf("%s: event %s–%s (%v %v), window shown %s–%s", w.ID, s, en, err1, err2, w.ShownStart, w.ShownEnd)
		}
		if got := e.GetProperty(ics.ComponentPropertySummary).Value; got != w.Recording {
			t.Errorf("%s: summary %q", w.ID, got)
		}
		desc := e.GetProperty(ics.ComponentPropertyDescription).Value
		if !strings.Contains(desc, w.Provider) || !strings.Contains(desc, w.Stream.String()) || !strings.Contains(desc, "\n") {
			t.Errorf("%s: description %q lacks provider, stream or its line breaks", w.ID, desc)
		}
	}
	if got := parsed.CalendarProperties; !hasProp(got, "X-WR-TIMEZONE", "UTC") {
		t.Errorf("X-WR-TIMEZONE: recordings in Berlin and UTC share no zone; want UTC, got %+v", got)
	}
	// The 02:30 start that does not exist on the spring-forward night starts at 03:00 CEST.
	if byUID["night@2027-03-28T01:00:00Z"] == nil {
		t.Errorf("no event for the night window moved by the DST gap")
	}
}

func hasProp(ps []ics.CalendarProperty, name, value string) bool {
	for _, p := range ps {
		if p.IANAToken == name && p.Value == value {
			return true
		}
	}
	return false
}
