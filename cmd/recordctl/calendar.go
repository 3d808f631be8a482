package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/calendar"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newCalendarCmd) }

func newCalendarCmd(g *globals) *cobra.Command {
	var from, zone, output, groupBy string
	var days int
	var names []string
	c := &cobra.Command{
		Use:   "calendar DIR",
		Short: "Show every window in a range, with DST changes and conflicts (text, html, svg, ics or json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "html", "svg", "ics", "json":
			default:
				return &exitError{code: 1, err: fmt.Errorf("-o %q: want text, html, svg, ics or json", output)}
			}
			if days < 1 || days > calendar.MaxDays {
				return &exitError{code: 1, err: fmt.Errorf("--days %d: want 1 to %d", days, calendar.MaxDays)}
			}
			var loc *time.Location
			if zone != "" {
				l, err := time.LoadLocation(zone)
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--zone %q: not an IANA time zone (e.g. Europe/Berlin, UTC)", zone)}
				}
				loc = l
			}
			set, err := g.loadSpec(args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			start, err := calendar.ParseFrom(from, now, loc, set, names)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			st, err := g.calendarState()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			cal, err := calendar.Build(set, calendar.Options{From: start, Days: days, Recordings: names, Zone: loc, Now: now, State: st})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			switch output {
			case "html":
				return calendar.WriteHTML(g.stdout, cal, calendar.HTMLOptions{GroupBy: groupBy})
			case "svg":
				return calendar.WriteSVG(g.stdout, cal, groupBy)
			case "ics":
				return calendar.WriteICS(g.stdout, cal)
			case "json":
				return calendar.WriteJSON(g.stdout, cal)
			}
			_, noColor := os.LookupEnv("NO_COLOR")
			return calendar.WriteText(g.stdout, cal, calendar.TextOptions{Color: isTerminal(g.stdout) && !noColor})
		},
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "start of the range: an RFC 3339 instant or a date (midnight in --zone); default now")
	f.IntVar(&days, "days", calendar.DefaultDays, "length of the range in days")
	f.StringArrayVar(&names, "recording", nil, "show only this Recording (repeatable)")
	f.StringVar(&zone, "zone", "", "show every time in this IANA zone (default: each recording's own)")
	f.StringVarP(&output, "output", "o", "text", "output format: text, html, svg, ics or json")
	f.StringVar(&groupBy, "group-by", "", "group lanes by this label (html, svg; default: by provider)")
	return c
}

// calendarState reads the state, when there is one, for window statuses.
func (g *globals) calendarState() (*state.State, error) {
	g.resolveStatePath()
	if _, err := os.Stat(g.state); errors.Is(err, fs.ErrNotExist) && !g.stateSet {
		return nil, nil
	}
	return g.readState()
}

// weekSummary adds the "next 7 days" section to a markdown plan, compared
// with the documents in base when given (see reconcile.WriteWeekSummary).
func (g *globals) weekSummary(output, base string, set *spec.Set, now time.Time) error {
	if output != "markdown" && output != "md" {
		return nil
	}
	var old *spec.Set
	if base != "" {
		s, err := g.loadSpec(base)
		if err != nil {
			return err
		}
		old = s
	}
	if _, err := fmt.Fprintln(g.stdout); err != nil {
		return err
	}
	return reconcile.WriteWeekSummary(g.stdout, set, old, nil, now)
}

// checkBase refuses --base where it has no effect.
func checkBase(output, base string) error {
	if base != "" && output != "markdown" && output != "md" {
		return &exitError{code: 1, err: fmt.Errorf("--base compares schedules in the markdown plan: use it with -o markdown")}
	}
	return nil
}
