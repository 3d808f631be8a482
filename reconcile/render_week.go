package reconcile

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// WeekSpan is how far the markdown plan's schedule summary looks ahead.
const WeekSpan = 7 * 24 * time.Hour

// weekRows caps the summary table; the rest is counted.
const weekRows = 40

// WeekChange is a window the documents add, remove or change within the
// next 7 days, compared with base documents.
type WeekChange struct {
	Change    string // "+" added, "-" removed, "~" same identity, other end
	Window    string
	Recording string
	Provider  string
	Stream    spec.Stream
	Zone      string
	Span      Span
	Was       Span // for "~": the base extent
}

// WeekChanges compares the windows of head and base over [at, at+7 days),
// as plans see them (reconcile.PlanWindows), by identity.
func WeekChanges(head, base *spec.Set, caps CapsFunc, at time.Time) []WeekChange {
	if caps == nil {
		caps = RegisteredCaps
	}
	type win struct {
		rec  *spec.Recording
		prov *spec.Provider
		iv   spec.Interval
	}
	collect := func(set *spec.Set) map[string]win {
		m := map[string]win{}
		for _, rec := range set.Recordings {
			prov := set.Provider(rec.Spec.Provider)
			if prov == nil {
				continue
			}
			for _, iv := range PlanWindows(rec, caps(prov.Spec.Type), at, at.Add(WeekSpan)) {
				m[spec.WindowID(rec.Metadata.Name, iv.Start)] = win{rec, prov, iv}
			}
		}
		return m
	}
	h, b := collect(head), collect(base)
	var out []WeekChange
	mk := func(ch, id string, w win) WeekChange {
		return WeekChange{Change: ch, Window: id, Recording: w.rec.Metadata.Name, Provider: w.prov.Metadata.Name,
			Stream: w.rec.Spec.Stream, Zone: zoneName(w.rec), Span: Span{w.iv.Start.UTC(), w.iv.End.UTC()}}
	}
	for id, w := range h {
		old, ok := b[id]
		switch {
		case !ok:
			out = append(out, mk("+", id, w))
		case !old.iv.End.Equal(w.iv.End) || old.prov.Metadata.Name != w.prov.Metadata.Name || old.rec.Spec.Stream != w.rec.Spec.Stream:
			c := mk("~", id, w)
			c.Was = Span{old.iv.Start.UTC(), old.iv.End.UTC()}
			out = append(out, c)
		}
	}
	for id, w := range b {
		if _, ok := h[id]; !ok {
			out = append(out, mk("-", id, w))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Span.Start.Equal(out[j].Span.Start) {
			return out[i].Span.Start.Before(out[j].Span.Start)
		}
		return out[i].Window+out[i].Change < out[j].Window+out[j].Change
	})
	return out
}

// WriteWeekSummary appends the markdown plan's "next 7 days" section: the
// windows the documents add (+), remove (-) or change (~) compared with
// base (the documents before the change, e.g. the target branch), so a
// reviewer sees the effect of a schedule edit beyond the next day's tasks.
// Without base it counts the week's windows and says how to compare.
func WriteWeekSummary(w io.Writer, head, base *spec.Set, caps CapsFunc, at time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Next 7 days (%s – %s)\n\n", at.UTC().Format("2006-01-02 15:04"), at.Add(WeekSpan).UTC().Format("2006-01-02 15:04 UTC"))
	if base == nil {
		n, recs := 0, 0
		if caps == nil {
			caps = RegisteredCaps
		}
		for _, rec := range head.Recordings {
			prov := head.Provider(rec.Spec.Provider)
			if prov == nil {
				continue
			}
			if k := len(PlanWindows(rec, caps(prov.Spec.Type), at, at.Add(WeekSpan))); k > 0 {
				n += k
				recs++
			}
		}
		fmt.Fprintf(&b, "%d window(s) of %d recording(s). Run `recordctl plan -o markdown --base DIR` with the documents before the change to list the windows it adds or removes.\n", n, recs)
		_, err := io.WriteString(w, b.String())
		return err
	}
	changes := WeekChanges(head, base, caps, at)
	if len(changes) == 0 {
		b.WriteString("The change adds or removes no window in the next 7 days.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	add, rm, ch := 0, 0, 0
	for _, c := range changes {
		switch c.Change {
		case "+":
			add++
		case "-":
			rm++
		default:
			ch++
		}
	}
	fmt.Fprintf(&b, "**%d window(s) added, %d removed, %d changed.**\n\n", add, rm, ch)
	b.WriteString("| | window | local time | provider | stream |\n|---|---|---|---|---|\n")
	for i, c := range changes {
		if i == weekRows {
			fmt.Fprintf(&b, "\n… and %d more.\n", len(changes)-weekRows)
			break
		}
		when := localRange(c.Span, c.Zone, time.Time{}) + " " + zoneOr(c.Zone)
		if c.Change == "~" {
			when += " (was " + localRange(c.Was, c.Zone, time.Time{}) + ")"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | `%s` |\n", c.Change, c.Window, mdEscape(when), c.Provider, c.Stream)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
