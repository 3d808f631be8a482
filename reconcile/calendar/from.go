package calendar

import (
	"fmt"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// ParseFrom reads a range start: "" is now; an RFC 3339 instant; or a date
// (2006-01-02) meaning midnight in zone, or, without a zone, in the zone
// the shown recordings share (UTC when they differ).
func ParseFrom(s string, now time.Time, zone *time.Location, set *spec.Set, names []string) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc := zone
	if loc == nil {
		loc = sharedZone(set, names)
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("--from %q: want an RFC 3339 instant (2027-03-28T00:00:00+01:00) or a date (2027-03-28)", s)
	}
	return t, nil
}

// sharedZone is the zone every selected recording is shown in, or UTC.
func sharedZone(set *spec.Set, names []string) *time.Location {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var name string
	var loc *time.Location
	for _, r := range set.Recordings {
		if len(want) > 0 && !want[r.Metadata.Name] {
			continue
		}
		n, l := recordingZone(r)
		if loc != nil && n != name {
			return time.UTC
		}
		name, loc = n, l
	}
	if loc == nil {
		return time.UTC
	}
	return loc
}
