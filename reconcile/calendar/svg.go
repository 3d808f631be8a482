package calendar

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// Geometry of the timeline (SVG user units = CSS px).
const (
	labelW = 230  // lane labels
	plotW  = 1120 // the range
	laneH  = 18
	axisH  = 34
)

// timeline maps instants to x coordinates.
type timeline struct {
	c    *Calendar
	axis *time.Location
	span float64
}

func newTimeline(c *Calendar) timeline {
	loc, _ := c.axisZone()
	return timeline{c: c, axis: loc, span: c.To.Sub(c.From).Seconds()}
}

func (t timeline) x(at time.Time) float64 {
	f := at.Sub(t.c.From).Seconds() / t.span
	return labelW + f*plotW
}

// esc escapes text for XML/HTML content and attributes.
func esc(s string) string { return html.EscapeString(s) }

// days yields the local midnights of the axis zone inside the range.
func (t timeline) days() []time.Time {
	var out []time.Time
	f := t.c.From.In(t.axis)
	d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, t.axis)
	for ; d.Before(t.c.To); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, t.axis) {
		if !d.Before(t.c.From) {
			out = append(out, d)
		}
	}
	return out
}

// writeAxis draws the day labels, the DST markers and the now marker.
func (t timeline) writeAxis(b *strings.Builder) {
	fmt.Fprintf(b, `<svg class="axis" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, labelW+plotW, axisH, labelW+plotW, axisH)
	fmt.Fprintf(b, `<text class="zone" x="4" y="22">days in %s</text>`, esc(t.axis.String()))
	days := t.days()
	step := 1
	if len(days) > 14 {
		step = (len(days) + 13) / 14
	}
	for i, d := range days {
		x := t.x(d)
		fmt.Fprintf(b, `<line class="day" x1="%.1f" y1="18" x2="%.1f" y2="%d"/>`, x, x, axisH)
		if i%step == 0 {
			fmt.Fprintf(b, `<text class="daylabel" x="%.1f" y="14">%s</text>`, x+3, esc(d.Format("Mon 02 Jan")))
		}
	}
	for _, ch := range t.c.DST {
		x := t.x(ch.At)
		fmt.Fprintf(b, `<g class="dst-marker" data-zone="%s"><title>%s</title><line class="dst" x1="%.1f" y1="16" x2="%.1f" y2="%d"/><text class="dstlabel" x="%.1f" y="30">DST</text></g>`,
			esc(ch.Zone), esc(dstTitle(ch)), x, x, axisH, x+2)
	}
	if t.nowIn() {
		x := t.x(t.c.Now)
		fmt.Fprintf(b, `<g class="now-marker"><title>now: %s</title><line class="now" x1="%.1f" y1="0" x2="%.1f" y2="%d"/></g>`,
			esc(t.c.Now.UTC().Format(time.RFC3339)), x, x, axisH)
	}
	b.WriteString(`</svg>`)
}

func (t timeline) nowIn() bool { return !t.c.Now.Before(t.c.From) && t.c.Now.Before(t.c.To) }

func dstTitle(ch DSTChange) string {
	before := ch.At.In(time.FixedZone(ch.From, ch.FromOffset))
	after := ch.At.In(time.FixedZone(ch.To, ch.ToOffset))
	return fmt.Sprintf("DST change in %s: %s %s → %s %s (%s UTC)", ch.Zone, before.Format("2006-01-02 15:04"), ch.From,
		after.Format("15:04"), ch.To, ch.At.UTC().Format("2006-01-02 15:04"))
}

// writeLanes draws the lanes of one group at y0 (inside an <svg> or <g>):
// day grid, DST lines of the lanes' zones, the now line, then one row per
// lane with its windows and conflict highlights.
func (t timeline) writeLanes(b *strings.Builder, lanes []int, y0 int) {
	h := len(lanes) * laneH
	for _, d := range t.days() {
		x := t.x(d)
		fmt.Fprintf(b, `<line class="day" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, y0, x, y0+h)
	}
	zones := map[string]bool{}
	for _, li := range lanes {
		zones[t.c.Lanes[li].Zone] = true
	}
	for _, ch := range t.c.DST {
		if !zones[ch.Zone] && ch.Zone != t.c.Zone {
			continue
		}
		x := t.x(ch.At)
		fmt.Fprintf(b, `<line class="dst" data-zone="%s" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>%s</title></line>`,
			esc(ch.Zone), x, y0, x, y0+h, esc(dstTitle(ch)))
	}
	for i, li := range lanes {
		l := &t.c.Lanes[li]
		y := y0 + i*laneH
		fmt.Fprintf(b, `<g class="lane" id="lane-%s" data-recording="%s"><title>%s</title>`, esc(anchor(l.Recording)), esc(l.Recording),
			esc(fmt.Sprintf("%s — %s (%s) %s, %s, %s", l.Recording, l.Provider, l.Type, l.Stream, l.Zone, l.Source)))
		if i%2 == 1 {
			fmt.Fprintf(b, `<rect class="stripe" x="0" y="%d" width="%d" height="%d"/>`, y, labelW+plotW, laneH)
		}
		fmt.Fprintf(b, `<text class="label" x="4" y="%d">%s</text>`, y+13, esc(trunc(l.Recording, 32, ' ')))
		for _, wi := range l.Windows {
			w := &t.c.Windows[wi]
			x1, x2 := t.x(w.ShownStart), t.x(w.ShownEnd)
			fmt.Fprintf(b, `<rect class="win st-%s" data-window="%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"><title>%s</title></rect>`,
				w.Status, esc(w.ID), x1, y+3, max(x2-x1, 1.5), laneH-6, esc(t.windowTitle(w)))
			for _, k := range w.Conflicts {
				x := &t.c.Conflicts[k]
				cs, ce := maxT(x.Start, w.ShownStart), minT(x.End, w.ShownEnd)
				if x.Kind == RestartGap { // the gap itself lies between the windows
					cs, ce = maxT(x.Start, t.c.From), minT(x.End, t.c.To)
				}
				if ce.Before(cs) {
					continue
				}
				c1, c2 := t.x(cs), t.x(ce)
				fmt.Fprintf(b, `<rect class="conflict conflict-%s" data-conflict="%d" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect>`,
					x.Kind, k, c1-1, y+1, max(c2-c1, 1)+2, laneH-2, esc("conflict: "+x.Message))
			}
		}
		b.WriteString(`</g>`)
	}
	if t.nowIn() {
		x := t.x(t.c.Now)
		fmt.Fprintf(b, `<line class="now" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, y0, x, y0+h)
	}
}

// windowTitle is the hover text: identity, local and UTC times, provider,
// stream, tasks, status and conflicts.
func (t timeline) windowTitle(w *Window) string {
	loc := loadZone(w.Zone)
	var s strings.Builder
	s.WriteString(w.ID + "\n")
	if w.Continuous {
		s.WriteString("continuous recording\n")
	} else {
		fmt.Fprintf(&s, "%s – %s (%s)\n", w.Start.In(loc).Format("Mon 2006-01-02 15:04 MST"), w.End.In(loc).Format("Mon 2006-01-02 15:04 MST"), w.Zone)
		fmt.Fprintf(&s, "%s – %s UTC\n", w.Start.UTC().Format("2006-01-02 15:04:05"), w.End.UTC().Format("2006-01-02 15:04:05"))
		if t.c.Zone != "" && t.c.Zone != w.Zone {
			z := loadZone(t.c.Zone)
			fmt.Fprintf(&s, "%s – %s (%s)\n", w.Start.In(z).Format("Mon 2006-01-02 15:04 MST"), w.End.In(z).Format("Mon 2006-01-02 15:04 MST"), t.c.Zone)
		}
	}
	fmt.Fprintf(&s, "%s (%s) %s\nstatus: %s", w.Provider, w.Type, w.Stream, w.Status)
	if len(w.Pieces) > 1 {
		fmt.Fprintf(&s, "\n%d tasks in view:", len(w.Pieces))
		for _, p := range w.Pieces {
			fmt.Fprintf(&s, "\n  %s %s – %s UTC", p.Key, p.Start.UTC().Format("01-02 15:04"), p.End.UTC().Format("01-02 15:04"))
		}
	}
	for _, k := range w.Conflicts {
		s.WriteString("\nconflict: " + t.c.Conflicts[k].Message)
	}
	return s.String()
}

func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

const svgStyle = `.day{stroke:#ccd;stroke-width:1}.daylabel,.zone,.dstlabel{font:12px sans-serif;fill:#334}
.dstlabel{fill:#b45309;font-weight:bold}.dst{stroke:#d97706;stroke-width:2;stroke-dasharray:4 3}
.now{stroke:#dc2626;stroke-width:2}.label{font:12px sans-serif;fill:#111}.stripe{fill:#f4f5f8}
.win{fill:#93c5fd;stroke:#2563eb;stroke-width:1}.st-recorded{fill:#86efac;stroke:#15803d}
.st-recording,.st-open{fill:#22c55e;stroke:#14532d}.st-scheduled{fill:#60a5fa}.st-missed,.st-failed{fill:#fca5a5;stroke:#b91c1c}
.st-past{fill:#d1d5db;stroke:#6b7280}.conflict{fill:#dc2626;fill-opacity:.25;stroke:#dc2626;stroke-width:2}
.group{font:bold 13px sans-serif;fill:#111}`

// WriteSVG renders the whole timeline as one standalone SVG document:
// the axis, then each group's header and lanes.
func WriteSVG(w io.Writer, c *Calendar, groupBy string) error {
	t := newTimeline(c)
	groups := groupLanes(c, groupBy)
	h := axisH + 4
	for _, g := range groups {
		h += 20 + len(g.Lanes)*laneH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, labelW+plotW, h, labelW+plotW, h)
	fmt.Fprintf(&b, "<style>%s</style>", svgStyle)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, labelW+plotW, h)
	b.WriteString(`<g>`)
	t.writeAxis(&b)
	b.WriteString(`</g>`)
	y := axisH + 4
	for _, g := range groups {
		fmt.Fprintf(&b, `<text class="group" x="4" y="%d">%s (%d)</text>`, y+15, esc(g.Name), len(g.Lanes))
		y += 20
		t.writeLanes(&b, g.Lanes, y)
		y += len(g.Lanes) * laneH
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
