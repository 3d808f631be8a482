package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/reconcile/calendar"
)

// registerCalendar serves GET /calendar (the HTML page) and
// /calendar.ics (text/calendar), live from the documents in force and the
// state: by default the next 7 days; ?from=&days=&zone=&recording= change it.
func (d *Daemon) registerCalendar(mux *http.ServeMux) {
	mux.HandleFunc("GET /calendar", func(w http.ResponseWriter, r *http.Request) {
		d.serveCalendar(w, r, "html")
	})
	mux.HandleFunc("GET /calendar.ics", func(w http.ResponseWriter, r *http.Request) {
		d.serveCalendar(w, r, "ics")
	})
}

func (d *Daemon) serveCalendar(w http.ResponseWriter, r *http.Request, format string) {
	bad := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, msg)
	}
	docs := d.Documents()
	if docs.Set == nil {
		bad(http.StatusServiceUnavailable, "no documents loaded yet")
		return
	}
	q := r.URL.Query()
	days := calendar.DefaultDays
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > calendar.MaxDays {
			bad(http.StatusBadRequest, fmt.Sprintf("days=%q: want a whole number of days from 1 to %d", s, calendar.MaxDays))
			return
		}
		days = n
	}
	var loc *time.Location
	if z := q.Get("zone"); z != "" {
		l, err := time.LoadLocation(z)
		if err != nil {
			bad(http.StatusBadRequest, fmt.Sprintf("zone=%q: not an IANA time zone", z))
			return
		}
		loc = l
	}
	now := d.clk.Now()
	names := q["recording"]
	from, err := calendar.ParseFrom(q.Get("from"), now, loc, docs.Set, names)
	if err != nil {
		bad(http.StatusBadRequest, err.Error())
		return
	}
	st, err := d.eng.Store.Snapshot(r.Context())
	if err != nil {
		bad(http.StatusServiceUnavailable, "cannot read the state: "+err.Error())
		return
	}
	cal, err := calendar.Build(docs.Set, calendar.Options{From: from, Days: days, Recordings: names, Zone: loc, Now: now,
		State: st, Caps: d.eng.Caps, Lookahead: d.eng.Lookahead})
	if err != nil {
		bad(http.StatusBadRequest, err.Error())
		return
	}
	var buf bytes.Buffer
	if format == "ics" {
		err = calendar.WriteICS(&buf, cal)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Header().Set("Content-Disposition", `inline; filename="recordctl.ics"`)
	} else {
		err = calendar.WriteHTML(&buf, cal, calendar.HTMLOptions{GroupBy: q.Get("group-by")})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err != nil {
		bad(http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
