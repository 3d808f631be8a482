package spec

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// warnHorizon is how far ahead a schedule must fire (and an exclusion
// match) not to be reported as a likely mistake.
const warnHorizon = 5 * 365 * 24 * time.Hour

// zoneCandidates maps abbreviation-style and fixed-offset zone names to the
// region most people who write them mean.
var zoneCandidates = map[string]string{
	"EST": "America/New_York", "MST": "America/Denver (or America/Phoenix, which keeps standard time)", "HST": "Pacific/Honolulu",
	"EST5EDT": "America/New_York", "CST6CDT": "America/Chicago", "MST7MDT": "America/Denver", "PST8PDT": "America/Los_Angeles",
	"CET": "Europe/Berlin or Europe/Paris", "MET": "Europe/Berlin", "EET": "Europe/Athens or Europe/Helsinki", "WET": "Europe/Lisbon",
}

// findWarnings lists the inputs of set that are valid but most likely
// mistakes, each at its position, as of now.
func findWarnings(set *Set, now time.Time) []*Error {
	var out []*Error
	for _, r := range set.Recordings {
		if s := r.Spec.Schedule; s != nil {
			out = append(out, scheduleWarnings(r, s, now)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return posLess(out[i].Pos, out[j].Pos) })
	return out
}

func orPos(p, fallback Pos) Pos {
	if p.Line == 0 {
		return fallback
	}
	return p
}

func scheduleWarnings(r *Recording, s *Schedule, now time.Time) []*Error {
	var out []*Error
	if msg := zoneWarning(s.Timezone); msg != "" {
		out = append(out, errAt(orPos(s.TimezonePos, r.Pos), msg))
	}
	x := s.expander()
	if x == nil {
		return out
	}
	limit := now.Add(warnHorizon)
	f, fires := x.nextFire(now, limit)
	switch {
	case !fires && len(s.Exclude) > 0:
		out = append(out, errAt(orPos(s.Pos, r.Pos), fmt.Sprintf("spec.schedule.cron %q with its exclusions starts no window within the next 5 years: this recording never records", s.Cron)))
	case !fires:
		out = append(out, errAt(orPos(s.Pos, r.Pos), fmt.Sprintf("spec.schedule.cron %q does not fire within the next 5 years: this recording never records (is the day of the month in every month you meant, e.g. February has no 30th?)", s.Cron)))
	default:
		if _, endless := x.chainEnd(f); endless {
			out = append(out, errAt(orPos(s.DurationPos, r.Pos), fmt.Sprintf("spec.schedule: windows of %s starting %q touch or overlap without end, so this records continuously; if that is meant, say continuous: true, else shorten the duration", s.Duration, s.Cron)))
		}
	}
	if len(s.Exclude) == 0 {
		return out
	}
	base := *s
	base.Exclude = nil
	bx := base.expander()
	for _, e := range s.Exclude {
		if !exclusionMatches(bx, e, now, limit) {
			out = append(out, errAt(orPos(e.Pos, r.Pos), fmt.Sprintf("spec.schedule.exclude %q matches no window from now on: the schedule starts no window then; remove it or fix the date", e.Text)))
		}
	}
	return out
}

func zoneWarning(tz string) string {
	if c, ok := zoneCandidates[tz]; ok {
		return fmt.Sprintf("spec.schedule.timezone %q is an abbreviation-style zone, not a region (its offset rules are not a place's); did you mean %s?", tz, c)
	}
	if strings.HasPrefix(tz, "Etc/GMT") && len(tz) > len("Etc/GMT") && tz != "Etc/GMT0" && tz != "Etc/GMT-0" && tz != "Etc/GMT+0" {
		// POSIX sign: Etc/GMT+5 is UTC-05:00.
		off := strings.NewReplacer("+", "-", "-", "+").Replace(strings.TrimPrefix(tz, "Etc/GMT"))
		return fmt.Sprintf("spec.schedule.timezone %q is a fixed offset (UTC%s:00, note the inverted sign) without daylight saving time; if the schedule follows a place's local time, use its region name, e.g. America/New_York", tz, off)
	}
	return ""
}

// exclusionMatches reports whether e would remove some start of the
// schedule (bx expands it without exclusions) in [now, limit).
func exclusionMatches(bx *expander, e Exclusion, now, limit time.Time) bool {
	if bx == nil {
		return true
	}
	if e.Cron == "" {
		from, _ := bx.bounds(e.From)
		_, to := bx.bounds(e.To)
		if from.Before(now) {
			from = now
		}
		_, ok := bx.nextFire(from, to)
		return ok
	}
	c, ok := mustCron(e.Cron).(*cron.SpecSchedule)
	if !ok {
		return true
	}
	budget := 1 << 20 // starts looked at before giving up (and not warning)
	for date := bx.dateOf(now); ; date = date.AddDate(0, 0, 1) {
		if budget <= 0 {
			return true
		}
		if c.Month&(1<<uint(date.Month())) == 0 || !dayMatches(c, date) {
			if date.After(limit) {
				return false
			}
			continue
		}
		dy := bx.day(date)
		if !dy.start.Before(limit) {
			return false
		}
		switch {
		case dy.kind == dayRegular && bx.spec != nil:
			if bx.spec.Hour&c.Hour&(1<<24-1) != 0 && bx.spec.Minute&c.Minute&(1<<60-1) != 0 && bx.spec.Second&c.Second&(1<<60-1) != 0 {
				return true
			}
		case dy.kind != dayNone:
			fires := dy.fires
			if dy.kind == dayRegular {
				fires = Fires(cron.ConstantDelaySchedule{Delay: bx.every}, bx.loc, dy.start, dy.end)
			}
			probe := &expander{loc: bx.loc, crons: []*cron.SpecSchedule{c}}
			for _, t := range fires {
				budget--
				if !t.Before(now) && probe.excludedByCron(t) {
					return true
				}
			}
		}
	}
}
