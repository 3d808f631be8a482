package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/spec"
)

var symbols = map[Kind]string{Create: "+", Stop: "-", Delete: "x", Adopt: "="}

// ANSI SGR codes used by the coloured text plan.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrCyan   = "\x1b[36m"
)

var kindColor = map[Kind]string{Create: sgrGreen, Stop: sgrYellow, Delete: sgrRed, Adopt: sgrCyan}

// TextOptions tune the text plan.
type TextOptions struct {
	// Color marks the action lines and the summary with ANSI colours (for a terminal).
	Color bool
}

func paint(on bool, code, s string) string {
	if !on || code == "" {
		return s
	}
	return code + s + sgrReset
}

// WriteText renders the plan for a terminal: one line per action with local
// times in the recording's zone, then a summary line. Problems found while
// planning are not part of it: see WriteDiagnostics.
func WriteText(w io.Writer, p *Plan) error { return WriteTextWith(w, p, TextOptions{}) }

// WriteTextWith is WriteText with options.
func WriteTextWith(w io.Writer, p *Plan, o TextOptions) error {
	var b strings.Builder
	for _, a := range p.Actions {
		head := fmt.Sprintf("%s %s", symbols[a.Action], a.Action)
		fmt.Fprintf(&b, "%s %s %s %s %s %s", paint(o.Color, kindColor[a.Action], head), a.Key, a.Provider, a.Stream,
			localRange(a.Piece, a.Timezone, p.At), zoneOr(a.Timezone))
		if padded(a.Window, a.Piece) {
			fmt.Fprintf(&b, " (window %s)", localRange(a.Window, a.Timezone, p.At))
		}
		if a.Task != "" && a.Action != Create {
			fmt.Fprintf(&b, " task %s", a.Task)
		}
		if a.Reason != "" {
			fmt.Fprintf(&b, "  # %s", a.Reason)
		}
		b.WriteByte('\n')
		if a.Note != "" {
			fmt.Fprintf(&b, "    note: %s\n", a.Note)
		}
	}
	for _, q := range p.Pending {
		fmt.Fprintf(&b, "~ %s %s %s %s pending  # created from %s, when the provider accepts its start\n", q.Key, q.Provider,
			localRange(q.Piece, q.Timezone, p.At), zoneOr(q.Timezone), localTimeIn(q.CreateFrom, q.Timezone))
	}
	for _, m := range p.Missed {
		fmt.Fprintf(&b, "%s %s %s  # window closed while recordctl was not running; there is no catch-up\n", paint(o.Color, sgrYellow, "! missed"), m.Window, spanUTC(m.Span))
	}
	if len(p.Unmanaged) > 0 {
		b.WriteString("\nUnmanaged tasks (not created by recordctl; never touched):\n")
		for _, u := range p.Unmanaged {
			fmt.Fprintf(&b, "  ? %s %s task %s %s %s\n", u.Provider, u.Task.Stream, u.Task.ID, spanUTC(Span{u.Task.Start, u.Task.End}), u.Task.Status)
		}
	}
	if !p.Complete {
		b.WriteString(paint(o.Color, sgrBold+sgrRed, IncompleteLine(p)) + "\n")
		for _, u := range p.Incomplete {
			fmt.Fprintf(&b, "  ! %s (%s): %s\n", u.Provider, zoneOr2(u.Type), u.Reason)
		}
	} else if len(p.Actions) == 0 && len(p.Errors) == 0 {
		b.WriteString(paint(o.Color, sgrGreen, "No changes. Recording tasks match the documents.") + "\n")
	}
	b.WriteString(paint(o.Color, sgrBold, SummaryLine(p)) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func zoneOr2(t string) string {
	if t == "" {
		return "?"
	}
	return t
}

// SummaryLine is the plan's closing line.
func SummaryLine(p *Plan) string {
	s := p.Summary
	line := fmt.Sprintf("Plan: %d to create, %d to stop, %d to delete, %d to adopt.", s.Create, s.Stop, s.Delete, s.Adopt)
	// Problems besides the unobserved providers (which IncompleteLine counts).
	if n := len(p.Errors) - len(p.Incomplete); n > 0 {
		line += fmt.Sprintf(" %d problem(s) found while planning.", n)
	}
	return line
}

// IncompleteLine says how many providers a plan could not observe ("" when complete).
func IncompleteLine(p *Plan) string {
	if p.Complete {
		return ""
	}
	total := max(p.Summary.Providers, len(p.Incomplete))
	return fmt.Sprintf("Plan incomplete: %d of %d provider(s) could not be observed; no changes shown for them.", len(p.Incomplete), total)
}

// WriteDiagnostics writes the problems found while planning, one
// "Error: ..." line each (for stderr, beside the requested output).
func WriteDiagnostics(w io.Writer, p *Plan) error {
	var b strings.Builder
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "Error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the plan as the documented JSON (format_version "1").
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteMarkdown renders the plan for a pull-request comment.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	s := p.Summary
	fmt.Fprintf(&b, "### recordctl plan at %s\n\n", p.At.Format(time.RFC3339))
	if !p.Complete {
		fmt.Fprintf(&b, "**%s**\n\n", IncompleteLine(p))
		for _, u := range p.Incomplete {
			fmt.Fprintf(&b, "- :warning: %s (%s): %s\n", u.Provider, zoneOr2(u.Type), mdEscape(u.Reason))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "**Plan: %d to create, %d to stop, %d to delete, %d to adopt.**\n\n", s.Create, s.Stop, s.Delete, s.Adopt)
	if len(p.Actions) > 0 {
		b.WriteString("| | action | window | provider | stream | local time | reason |\n|---|---|---|---|---|---|---|\n")
		for _, a := range p.Actions {
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s | `%s` | %s %s | %s |\n", symbols[a.Action], a.Action, a.Key, a.Provider,
				a.Stream, localRange(a.Piece, a.Timezone, p.At), zoneOr(a.Timezone), mdEscape(a.Reason+noteSuffix(a.Note)))
		}
		b.WriteByte('\n')
	} else if p.Complete && len(p.Errors) == 0 {
		b.WriteString("No changes. Recording tasks match the documents.\n\n")
	}
	if len(p.Errors) > 0 {
		b.WriteString("#### Errors\n\n")
		for _, e := range p.Errors {
			fmt.Fprintf(&b, "- %s\n", mdEscape(e))
		}
		b.WriteByte('\n')
	}
	if len(p.Pending) > 0 {
		b.WriteString("#### Pending pieces\n\n")
		for _, q := range p.Pending {
			fmt.Fprintf(&b, "- `%s` %s %s %s, created from %s\n", q.Key, q.Provider, localRange(q.Piece, q.Timezone, p.At), zoneOr(q.Timezone), localTimeIn(q.CreateFrom, q.Timezone))
		}
		b.WriteByte('\n')
	}
	if len(p.Missed) > 0 {
		b.WriteString("#### Missed windows\n\n")
		for _, m := range p.Missed {
			fmt.Fprintf(&b, "- `%s` %s\n", m.Window, spanUTC(m.Span))
		}
		b.WriteByte('\n')
	}
	if len(p.Unmanaged) > 0 {
		fmt.Fprintf(&b, "<details><summary>%d unmanaged task(s), never touched</summary>\n\n", len(p.Unmanaged))
		for _, u := range p.Unmanaged {
			fmt.Fprintf(&b, "- %s `%s` task `%s` %s\n", u.Provider, u.Task.Stream, u.Task.ID, spanUTC(Span{u.Task.Start, u.Task.End}))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ReadPlan decodes a saved JSON plan, rejecting an unknown major format version.
func ReadPlan(r io.Reader) (*Plan, error) {
	var p Plan
	var raw json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("plan file: %v", err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("plan file: %v", err)
	}
	var has struct {
		Complete *bool `json:"complete"`
	}
	if json.Unmarshal(raw, &has) == nil && has.Complete == nil {
		p.Complete = len(p.Incomplete) == 0 // saved before plans said whether they were complete
	}
	major, _, _ := strings.Cut(p.FormatVersion, ".")
	if major != FormatVersion {
		return nil, fmt.Errorf("plan file: format_version %q is not supported (this recordctl reads %s.x)", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return "; " + n
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func zoneOr(z string) string {
	if z == "" {
		return "UTC"
	}
	return z
}

// localRange shows a piece in its zone: "19:00-20:30" on the plan's day,
// with dates when it is on another day or spans days, seconds when it is
// shorter than a minute or off the whole minute, and the zone's
// abbreviation on both ends when a local time occurs twice or the span
// crosses a change of UTC offset ("01:30 EDT-01:30 EST").
func localRange(s Span, zone string, at time.Time) string {
	loc := zoneLocation(zoneOr(zone))
	a, e, n := s.Start.In(loc), s.End.In(loc), at.In(loc)
	sameDay := func(x, y time.Time) bool { return x.Year() == y.Year() && x.YearDay() == y.YearDay() }
	clock := "15:04"
	if s.End.Sub(s.Start) < time.Minute || a.Second() != 0 || e.Second() != 0 || a.Nanosecond() != 0 {
		clock = "15:04:05"
	}
	_, offA := a.Zone()
	_, offE := e.Zone()
	if offA != offE || ambiguous(a) || ambiguous(e) {
		// Abbreviations where the zone has telling ones (EDT, EST), else
		// numeric offsets (Lord Howe's +11 and +1030 read better as +11:00, +10:30).
		za, ze := a.Format("MST"), e.Format("MST")
		if za == ze && offA != offE || strings.ContainsAny(za[:1]+ze[:1], "+-") {
			clock += " -07:00"
		} else {
			clock += " MST"
		}
	}
	switch {
	case s.Start.Equal(spec.ContinuousStart) && s.End.Equal(spec.ContinuousEnd):
		return "continuous"
	case e.Year() > 2900:
		return a.Format("2006-01-02 "+clock) + "-(open-ended)"
	case sameDay(a, e) && sameDay(a, n):
		return a.Format(clock) + "-" + e.Format(clock)
	case sameDay(a, e):
		return a.Format("2006-01-02 "+clock) + "-" + e.Format(clock)
	}
	return a.Format("2006-01-02 "+clock) + "-" + e.Format("2006-01-02 "+clock)
}

// ambiguous reports whether t's local wall-clock time occurs twice (the
// hour repeated when clocks go back).
func ambiguous(t time.Time) bool {
	_, cur := t.Zone()
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		if _, prev := start.Add(-time.Nanosecond).Zone(); prev > cur && t.Sub(start) < time.Duration(prev-cur)*time.Second {
			return true
		}
	}
	if !end.IsZero() {
		if _, next := end.Zone(); next < cur && end.Sub(t) <= time.Duration(cur-next)*time.Second {
			return true
		}
	}
	return false
}

// padded reports whether a piece reaches outside its window (padding).
func padded(window, piece Span) bool {
	if window.Start.IsZero() || window.Start.Equal(piece.Start) && window.End.Equal(piece.End) {
		return false
	}
	return piece.Start.Before(window.Start) || piece.End.After(window.End)
}

func localTimeIn(t time.Time, zone string) string {
	return t.In(zoneLocation(zoneOr(zone))).Format("2006-01-02 15:04 MST")
}

func spanUTC(s Span) string {
	return s.Start.UTC().Format(time.RFC3339) + "/" + s.End.UTC().Format(time.RFC3339)
}

// zones caches resolved zones: LoadLocation reads tzdata on every call.
var zones sync.Map // string -> *time.Location

// zoneLocation resolves an IANA name or a "+08:00" style offset.
func zoneLocation(zone string) *time.Location {
	if l, ok := zones.Load(zone); ok {
		return l.(*time.Location)
	}
	loc := time.UTC
	if t, err := time.Parse("-07:00", zone); err == nil {
		_, off := t.Zone()
		loc = time.FixedZone(zone, off)
	} else if l, err := time.LoadLocation(zone); err == nil {
		loc = l
	}
	zones.Store(zone, loc)
	return loc
}
