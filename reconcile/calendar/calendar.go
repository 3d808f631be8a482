// Package calendar computes every window of every Recording over a time
// range (with its pieces, its state record, the DST changes of the zones
// involved and the conflicts between windows) and renders it as a terminal
// view, a self-contained HTML page, an SVG, an RFC 5545 feed or JSON.
//
// Windows come from the same functions plans use (reconcile.PlanWindows and
// reconcile.WindowPieces), so the calendar shows exactly the windows and
// tasks a plan acts on, under the same identities.
package calendar

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// DefaultDays is the range length when none is given.
const DefaultDays = 7

// MaxDays bounds a range (a year), so a typo cannot ask for a century.
const MaxDays = 366

// Status is what the state says about a window.
type Status string

const (
	Planned   Status = "planned"   // in the future, nothing created yet
	Scheduled Status = "scheduled" // a task is created ahead (scheduling providers)
	Recording Status = "recording" // open now, with a live task
	Recorded  Status = "recorded"  // over, and a task ran for it
	Missed    Status = "missed"    // over, and no task was ever created
	Failed    Status = "failed"    // the last create failed
	Open      Status = "open"      // open now, no task known (no state, or not yet reconciled)
	Past      Status = "past"      // over, and the state cannot tell (no state given)
)

// Piece is one task of a window (Tencent chains long windows into 24 h tasks).
type Piece struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Window is one window of one Recording.
type Window struct {
	// ID is the window identity, <recording>@<start UTC>, as in plans and state.
	ID        string      `json:"id"`
	Recording string      `json:"recording"`
	Provider  string      `json:"provider"`
	Type      string      `json:"type"`
	Stream    spec.Stream `json:"stream"`
	Zone      string      `json:"zone"`
	// Start, End: the window's whole extent.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// ShownStart, ShownEnd: the extent clipped to the range.
	ShownStart time.Time `json:"shown_start"`
	ShownEnd   time.Time `json:"shown_end"`
	Continuous bool      `json:"continuous,omitempty"`
	// Pieces overlapping the range.
	Pieces []Piece `json:"pieces"`
	Status Status  `json:"status"`
	// Conflicts are indices into Calendar.Conflicts.
	Conflicts []int `json:"conflicts,omitempty"`
}

// Lane is one Recording's row.
type Lane struct {
	Recording string            `json:"recording"`
	Provider  string            `json:"provider"`
	Type      string            `json:"type"`
	Stream    spec.Stream       `json:"stream"`
	Zone      string            `json:"zone"`
	Labels    map[string]string `json:"labels,omitempty"`
	Source    string            `json:"source"`
	// Windows are indices into Calendar.Windows, in time order.
	Windows []int `json:"windows"`
}

// DSTChange is a change of a zone's UTC offset inside the range.
type DSTChange struct {
	Zone string    `json:"zone"`
	At   time.Time `json:"at"`
	// From and To are the abbreviations (CET, CEST); offsets in seconds east of UTC.
	From       string `json:"from"`
	To         string `json:"to"`
	FromOffset int    `json:"from_offset"`
	ToOffset   int    `json:"to_offset"`
}

// Calendar is the computed view of a range.
type Calendar struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Now  time.Time `json:"now"`
	// Zone is the zone times are shown in; "" means each recording's own.
	Zone      string      `json:"zone,omitempty"`
	Lanes     []Lane      `json:"lanes"`
	Windows   []Window    `json:"windows"`
	DST       []DSTChange `json:"dst_changes"`
	Conflicts []Conflict  `json:"conflicts"`
	// HasState: statuses come from a state (otherwise only planned/open/past).
	HasState bool `json:"has_state"`
}

// Options say what to compute.
type Options struct {
	From time.Time
	Days int
	// Recordings restricts the view to these names (none: all).
	Recordings []string
	// Zone shows every time in this zone (nil: each recording's own).
	Zone *time.Location
	Now  time.Time
	// State, when given, gives each window its record's status.
	State *state.State
	Caps  reconcile.CapsFunc
	// Lookahead is the plan's lookahead (for the horizon conflict; default reconcile.DefaultLookahead).
	Lookahead time.Duration
}

// Build computes the calendar of set over [From, From+Days×24h).
func Build(set *spec.Set, o Options) (*Calendar, error) {
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Days < 0 || o.Days > MaxDays {
		return nil, fmt.Errorf("--days %d: want 1 to %d", o.Days, MaxDays)
	}
	if o.Caps == nil {
		o.Caps = reconcile.RegisteredCaps
	}
	if o.Lookahead <= 0 {
		o.Lookahead = reconcile.DefaultLookahead
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.From.IsZero() {
		o.From = o.Now
	}
	c := &Calendar{From: o.From.UTC(), To: o.From.Add(time.Duration(o.Days) * 24 * time.Hour).UTC(), Now: o.Now.UTC(), HasState: o.State != nil,
		Lanes: []Lane{}, Windows: []Window{}, Conflicts: []Conflict{}}
	if o.Zone != nil {
		c.Zone = o.Zone.String()
	}
	want := map[string]bool{}
	for _, n := range o.Recordings {
		want[n] = true
	}
	for _, n := range o.Recordings {
		found := false
		for _, r := range set.Recordings {
			if r.Metadata.Name == n {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("--recording %q: no such Recording in the documents", n)
		}
	}
	recs := index(o.State)
	zones := map[string]*time.Location{}
	for _, rec := range set.Recordings {
		if len(want) > 0 && !want[rec.Metadata.Name] {
			continue
		}
		prov := set.Provider(rec.Spec.Provider)
		if prov == nil {
			continue
		}
		caps := o.Caps(prov.Spec.Type)
		zone, loc := recordingZone(rec)
		zones[zone] = loc
		lane := Lane{Recording: rec.Metadata.Name, Provider: prov.Metadata.Name, Type: prov.Spec.Type,
			Stream: rec.Spec.Stream, Zone: zone, Labels: rec.Metadata.Labels, Source: rec.Pos.String()}
		for _, iv := range windowsOf(rec, caps, c.From, c.To) {
			id := spec.WindowID(rec.Metadata.Name, iv.Start)
			w := Window{ID: id, Recording: lane.Recording, Provider: lane.Provider, Type: lane.Type, Stream: lane.Stream,
				Zone: zone, Start: iv.Start.UTC(), End: iv.End.UTC(), ShownStart: maxT(iv.Start, c.From).UTC(), ShownEnd: minT(iv.End, c.To).UTC(),
				Continuous: iv.Start.Equal(spec.ContinuousStart)}
			for _, p := range reconcile.WindowPieces(id, iv, caps, c.From, c.To) {
				w.Pieces = append(w.Pieces, Piece{p.Key, p.Start.UTC(), p.End.UTC()})
			}
			w.Status = status(w, recs[id], o.State, c.Now)
			lane.Windows = append(lane.Windows, len(c.Windows))
			c.Windows = append(c.Windows, w)
		}
		c.Lanes = append(c.Lanes, lane)
	}
	if o.Zone != nil {
		zones[o.Zone.String()] = o.Zone
	}
	c.DST = append([]DSTChange{}, dstChanges(zones, c.From, c.To)...)
	findConflicts(c, set, o.Caps, o.Lookahead)
	return c, nil
}

// windowsOf is the one place the calendar asks for a recording's windows:
// the windows plans act on (padding and exclusions included once spec
// applies them to Recording.Windows).
func windowsOf(rec *spec.Recording, c providers.Capabilities, from, to time.Time) []spec.Interval {
	return reconcile.PlanWindows(rec, c, from, to)
}

// index groups a state's records by window.
func index(st *state.State) map[string][]*state.Record {
	m := map[string][]*state.Record{}
	if st == nil {
		return m
	}
	for _, r := range st.Records {
		m[r.Window] = append(m[r.Window], r)
	}
	return m
}

// status tells what became of a window from its records.
func status(w Window, recs []*state.Record, st *state.State, now time.Time) Status {
	open := !w.Start.After(now) && now.Before(w.End)
	over := !now.Before(w.End)
	if st == nil {
		switch {
		case open:
			return Open
		case over:
			return Past
		}
		return Planned
	}
	var live, ran, failed bool
	for _, r := range recs {
		switch {
		case r.Phase.Live():
			live = true
		case r.Phase == state.Failed:
			failed = true
		}
		if r.Task != nil {
			ran = true
		}
	}
	switch {
	case open && live:
		return Recording
	case failed && !live && !(over && ran):
		return Failed
	case over && ran:
		return Recorded
	case over && len(recs) == 0 && managedBefore(st, w.End):
		return Missed
	case over:
		return Past
	case open:
		return Open
	case live:
		return Scheduled
	}
	return Planned
}

// managedBefore reports whether recordctl kept this state before t (so a
// window that closed at t without a record was missed, not merely older
// than the state).
func managedBefore(st *state.State, t time.Time) bool {
	for _, r := range st.Records {
		if !r.Created.IsZero() && r.Created.Before(t) {
			return true
		}
	}
	return !st.LastReconcile.IsZero() && st.LastReconcile.Before(t)
}

// recordingZone is the zone a recording's times are shown in: the
// schedule's zone, or the offset its explicit windows were written with.
func recordingZone(r *spec.Recording) (string, *time.Location) {
	if s := r.Spec.Schedule; s != nil && s.Location != nil {
		return s.Location.String(), s.Location
	}
	if len(r.Spec.Windows) > 0 {
		if _, off := r.Spec.Windows[0].Start.Zone(); off != 0 {
			n := r.Spec.Windows[0].Start.Format("-07:00")
			return n, time.FixedZone(n, off)
		}
	}
	return "UTC", time.UTC
}

// dstChanges lists every offset change of the zones in [from, to), by time.
func dstChanges(zones map[string]*time.Location, from, to time.Time) []DSTChange {
	var out []DSTChange
	for name, loc := range zones {
		t := from
		for t.Before(to) {
			_, end := t.In(loc).ZoneBounds()
			if end.IsZero() || !end.Before(to) {
				break
			}
			fa, fo := end.Add(-time.Nanosecond).In(loc).Zone()
			ta, tof := end.In(loc).Zone()
			if fo != tof {
				out = append(out, DSTChange{Zone: name, At: end.UTC(), From: fa, To: ta, FromOffset: fo, ToOffset: tof})
			}
			t = end
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Zone < out[j].Zone
	})
	return out
}

// Location returns the zone a window's local times are shown in: the
// calendar's zone when set, else the recording's own.
func (c *Calendar) Location(w *Window) *time.Location {
	if c.Zone != "" {
		return loadZone(c.Zone)
	}
	return loadZone(w.Zone)
}

// zoneCache holds resolved zones: LoadLocation reads tzdata on every call.
var zoneCache sync.Map // string -> *time.Location

// loadZone resolves an IANA name or a "+08:00" offset.
func loadZone(z string) *time.Location {
	if l, ok := zoneCache.Load(z); ok {
		return l.(*time.Location)
	}
	loc := time.UTC
	if t, err := time.Parse("-07:00", z); err == nil {
		_, off := t.Zone()
		loc = time.FixedZone(z, off)
	} else if l, err := time.LoadLocation(z); err == nil {
		loc = l
	}
	zoneCache.Store(z, loc)
	return loc
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
