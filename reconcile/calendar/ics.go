package calendar

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const icsStamp = "20060102T150405Z"

// WriteICS renders the calendar as an RFC 5545 feed: one VEVENT per window
// with UID = the window identity, DTSTART/DTEND in UTC (clipped to the
// range, like every view), CRLF line ends and lines folded at 75 octets.
// X-WR-TIMEZONE names the calendar's zone, or the zone every recording
// shares; each event's description names its own zone and local times.
func WriteICS(w io.Writer, c *Calendar) error {
	var b strings.Builder
	line := func(name, value string) { foldLine(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//recordctl//calendar//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("X-WR-CALNAME", icsText("recordctl recordings"))
	line("X-WR-TIMEZONE", icsText(c.feedZone()))
	stamp := c.Now.UTC().Format(icsStamp)
	for i := range c.Windows {
		win := &c.Windows[i]
		loc := loadZone(win.Zone)
		line("BEGIN", "VEVENT")
		line("UID", icsText(win.ID))
		line("DTSTAMP", stamp)
		line("DTSTART", win.ShownStart.UTC().Format(icsStamp))
		line("DTEND", win.ShownEnd.UTC().Format(icsStamp))
		line("SUMMARY", icsText(win.Recording))
		desc := fmt.Sprintf("%s (%s) %s\n%s – %s %s\nwindow %s",
			win.Provider, win.Type, win.Stream, win.Start.In(loc).Format("2006-01-02 15:04 MST"),
			win.End.In(loc).Format("2006-01-02 15:04 MST"), win.Zone, win.ID)
		if win.Continuous {
			desc = fmt.Sprintf("%s (%s) %s\ncontinuous recording (shown within the range)\nwindow %s", win.Provider, win.Type, win.Stream, win.ID)
		}
		if len(win.Pieces) > 1 {
			desc += fmt.Sprintf("\n%d tasks in the range", len(win.Pieces))
		}
		if win.Status != "" {
			desc += "\nstatus: " + string(win.Status)
		}
		for _, k := range win.Conflicts {
			desc += "\nconflict: " + c.Conflicts[k].Message
		}
		line("DESCRIPTION", icsText(desc))
		line("CATEGORIES", icsText(win.Type))
		line("X-RECORDCTL-TIMEZONE", icsText(win.Zone))
		line("TRANSP", "TRANSPARENT")
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	_, err := io.WriteString(w, b.String())
	return err
}

// feedZone is the zone the feed declares: the calendar's, or the one every
// recording shares, else UTC.
func (c *Calendar) feedZone() string {
	if c.Zone != "" {
		return c.Zone
	}
	z := ""
	for _, l := range c.Lanes {
		if z != "" && l.Zone != z {
			return "UTC"
		}
		z = l.Zone
	}
	if z == "" || strings.HasPrefix(z, "+") || strings.HasPrefix(z, "-") {
		return "UTC" // a bare offset is not a zone calendars know
	}
	return z
}

// icsText escapes a TEXT value (RFC 5545 3.3.11).
func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`)
	return r.Replace(s)
}

// foldLine writes one content line, folded so that no line exceeds 75
// octets (a fold never splits a UTF-8 sequence), ended by CRLF.
func foldLine(b *strings.Builder, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
