package calendar

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// TextOptions tune the terminal view.
type TextOptions struct {
	// Color uses ANSI colours (only on a terminal).
	Color bool
}

const (
	nameWidth = 16
	gridWidth = 60 // at most; the view fits 80 columns
)

var cellSteps = []int{24, 12, 8, 6, 4, 3, 2, 1}

// WriteText renders one row per recording, one column per hour (or a few
// hours, or a day) in the chosen zone, windows as bars, DST changes marked
// on the axis and listed, conflicts marked "!" and listed, then a legend.
func WriteText(w io.Writer, c *Calendar, o TextOptions) error {
	var b strings.Builder
	axis, axisName := c.axisZone()
	d0 := dateOf(c.From.In(axis))
	d1 := dateOf(c.To.Add(-time.Nanosecond).In(axis))
	days := int(d1.Sub(d0).Hours()/24+0.5) + 1
	cells := 1
	for _, n := range cellSteps {
		if days*n <= gridWidth {
			cells = n
			break
		}
	}
	if days > gridWidth {
		days = gridWidth // the rest would not fit 80 columns
	}
	hours := 24 / cells
	unit := "1 h"
	if hours > 1 {
		unit = fmt.Sprintf("%d h", hours)
	}
	fmt.Fprintf(&b, "recordctl calendar %s – %s\nZone: %s · 1 column = %s\n",
		c.From.In(axis).Format("Mon 2006-01-02 15:04"), c.To.In(axis).Format("Mon 2006-01-02 15:04 MST"), axisName, unit)
	// Day labels, then the tick line with day starts, DST changes and now.
	labels := []rune(strings.Repeat(" ", days*cells))
	ticks := []rune(strings.Repeat(" ", days*cells))
	for j := range days {
		d := d0.AddDate(0, 0, j)
		lab := ""
		for _, l := range []string{d.Format("Mon 02"), d.Format("Mon")[:2] + d.Format(" 02"), d.Format("02")} {
			if len(l) < cells {
				lab = l
				break
			}
		}
		copy(labels[j*cells:], []rune(lab))
		ticks[j*cells] = '|'
	}
	cellOf := func(t time.Time, loc *time.Location) int {
		lt := t.In(loc)
		day := int(dateOf(lt).Sub(d0).Hours()/24 + 0.5)
		if day < 0 || day >= days {
			return -1
		}
		return day*cells + lt.Hour()/hours
	}
	for _, ch := range c.DST {
		loc := loadZone(ch.Zone)
		if c.Zone != "" {
			loc = axis
		}
		if i := cellOf(ch.At, loc); i >= 0 {
			ticks[i] = '^'
		}
	}
	if !c.Now.Before(c.From) && c.Now.Before(c.To) {
		if i := cellOf(c.Now, axis); i >= 0 {
			ticks[i] = '*'
		}
	}
	pad := strings.Repeat(" ", nameWidth+1)
	b.WriteString(pad + strings.TrimRight(string(labels), " ") + "\n")
	b.WriteString(pad + strings.TrimRight(string(ticks), " ") + "\n")

	for _, g := range groupLanes(c, "") {
		fmt.Fprintf(&b, "%s\n", trunc("── "+g.Name+" ", nameWidth+1+days*cells, '─'))
		for _, li := range g.Lanes {
			lane := &c.Lanes[li]
			loc := axis
			if c.Zone == "" {
				loc = loadZone(lane.Zone)
			}
			row := make([]string, days*cells)
			for k := range row {
				row[k] = " "
			}
			for j := range days {
				d := d0.AddDate(0, 0, j)
				for k := range cells {
					cs := time.Date(d.Year(), d.Month(), d.Day(), k*hours, 0, 0, 0, loc)
					ce := time.Date(d.Year(), d.Month(), d.Day(), (k+1)*hours, 0, 0, 0, loc)
					if !cs.Before(c.To) || !ce.After(c.From) {
						continue
					}
					row[j*cells+k] = "·"
					cs, ce = maxT(cs, c.From), minT(ce, c.To)
					for _, wi := range lane.Windows {
						win := &c.Windows[wi]
						if !win.ShownStart.Before(ce) || !win.ShownEnd.After(cs) {
							continue
						}
						ch := "▄"
						if !win.ShownStart.After(cs) && !win.ShownEnd.Before(ce) {
							ch = "█"
						}
						if conflictAt(c, win, cs, ce) {
							ch = "!"
						}
						row[j*cells+k] = paint(ch, win.Status, ch == "!", o.Color)
						break
					}
				}
			}
			fmt.Fprintf(&b, "%s %s\n", trunc(lane.Recording, nameWidth, ' '), strings.Join(row, ""))
		}
	}
	if len(c.Lanes) == 0 {
		b.WriteString("(no recordings)\n")
	}
	if len(c.DST) > 0 {
		b.WriteString("\nDST changes:\n")
		for _, ch := range c.DST {
			loc := loadZone(ch.Zone)
			before := ch.At.In(time.FixedZone(ch.From, ch.FromOffset))
			fmt.Fprintf(&b, "  ^ %s %s %s → %s %s (%s, %s UTC)\n", before.Format("Mon 2006-01-02"),
				before.Format("15:04"), ch.From, ch.At.In(loc).Format("15:04"), ch.To, ch.Zone, ch.At.UTC().Format("15:04"))
		}
	}
	if len(c.Conflicts) > 0 {
		b.WriteString("\nConflicts:\n")
		for _, x := range c.Conflicts {
			wrap(&b, fmt.Sprintf("%s: %s", x.Kind, x.Message), "  ! ", "    ", 80)
		}
	}
	b.WriteString("\nLegend: █ window covers the column  ▄ part of it  ! conflict  · no window\n")
	b.WriteString("        | day starts  ^ DST change  * now\n")
	if c.Zone == "" && axisName == "each recording's own zone" {
		b.WriteString("Times: each row in its recording's zone; --zone ZONE puts every row on one zone.\n")
	}
	if o.Color {
		b.WriteString("Colours: " + paint("█", Recorded, false, true) + " recorded  " + paint("█", Recording, false, true) + " recording  " +
			paint("█", Scheduled, false, true) + " scheduled  " + paint("█", Missed, false, true) + " missed/failed  " + paint("!", "", true, true) + " conflict\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// axisZone is the zone of the axis: the calendar's zone, the zone all
// recordings share, or UTC dates with each row in its own zone.
func (c *Calendar) axisZone() (*time.Location, string) {
	if c.Zone != "" {
		return loadZone(c.Zone), c.Zone
	}
	z := ""
	for _, l := range c.Lanes {
		if z != "" && l.Zone != z {
			return time.UTC, "each recording's own zone"
		}
		z = l.Zone
	}
	if z == "" {
		z = "UTC"
	}
	return loadZone(z), z
}

func conflictAt(c *Calendar, w *Window, s, e time.Time) bool {
	for _, k := range w.Conflicts {
		x := &c.Conflicts[k]
		if !x.Start.After(e) && !x.End.Before(s) {
			return true
		}
	}
	return false
}

// paint colours a cell by status (ANSI), only when asked.
func paint(s string, st Status, conflict, color bool) string {
	if !color {
		return s
	}
	code := ""
	switch {
	case conflict:
		code = "1;31"
	case st == Recorded:
		code = "32"
	case st == Recording || st == Open:
		code = "1;92"
	case st == Scheduled:
		code = "34"
	case st == Missed || st == Failed:
		code = "31"
	case st == Past:
		code = "90"
	}
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// dateOf is the local date of t as a UTC midnight (for day arithmetic).
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// trunc pads s with fill or cuts it with "…" to exactly n columns.
func trunc(s string, n int, fill rune) string {
	if utf8.RuneCountInString(s) > n {
		r := []rune(s)
		return string(r[:n-1]) + "…"
	}
	return s + strings.Repeat(string(fill), n-utf8.RuneCountInString(s))
}

// Group is a set of lanes shown together.
type Group struct {
	Name  string
	Lanes []int
}

// groupLanes groups lanes by provider, or by the value of a label when
// label is set (lanes without it last), each group's lanes by name.
func groupLanes(c *Calendar, label string) []Group {
	idx := map[string]int{}
	var gs []Group
	for i, l := range c.Lanes {
		name := l.Provider + " (" + l.Type + ")"
		if label != "" {
			name = label + "=" + l.Labels[label]
			if _, ok := l.Labels[label]; !ok {
				name = "no " + label + " label"
			}
		}
		k, ok := idx[name]
		if !ok {
			k = len(gs)
			idx[name] = k
			gs = append(gs, Group{Name: name})
		}
		gs[k].Lanes = append(gs[k].Lanes, i)
	}
	sort.SliceStable(gs, func(i, j int) bool {
		ni, nj := strings.HasPrefix(gs[i].Name, "no "), strings.HasPrefix(gs[j].Name, "no ")
		if ni != nj {
			return nj
		}
		return gs[i].Name < gs[j].Name
	})
	return gs
}

// wrap writes s in words, the first line after first, the others after
// indent, no line longer than width columns (a word longer than that stands alone).
func wrap(b *strings.Builder, s, first, indent string, width int) {
	line := first
	n := utf8.RuneCountInString(first)
	fresh := true
	for _, w := range strings.Fields(s) {
		wn := utf8.RuneCountInString(w)
		if !fresh && n+1+wn > width {
			b.WriteString(line + "\n")
			line, n, fresh = indent, utf8.RuneCountInString(indent), true
		}
		if !fresh {
			line += " "
			n++
		}
		line += w
		n += wn
		fresh = false
	}
	b.WriteString(line + "\n")
}
