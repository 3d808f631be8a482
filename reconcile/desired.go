// Package reconcile turns documents and the state of the world into a Plan
// (create, stop, delete, adopt), and a Plan into provider calls.
package reconcile

import (
	"fmt"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// DefaultLookahead is how far ahead scheduling providers get tasks.
const DefaultLookahead = 24 * time.Hour

// gapLookback bounds how far back windows closer than a provider's
// MinRestartGap are followed when merging them.
const gapLookback = 48 * time.Hour

// Piece is one task the documents imply: a window, or one link of a window
// chained into consecutive tasks because it is longer than a task may be.
type Piece struct {
	Key       string // window id, "#n" appended for the n-th later piece
	Window    string // <recording>@<scheduled start UTC RFC 3339>
	Recording *spec.Recording
	Provider  *spec.Provider
	Stream    spec.Stream
	// Start, End are the task's times (padding included); WStart, WEnd the
	// whole window as scheduled (no padding).
	Start, End   time.Time
	WStart, WEnd time.Time
	// CreateFrom is, for a pending piece, the first instant the provider
	// accepts its create (StartTime within its scheduling horizon).
	CreateFrom time.Time
}

// CapsFunc returns the capabilities of a provider type.
type CapsFunc func(typ string) providers.Capabilities

// RegisteredCaps looks capabilities up in the provider registry.
func RegisteredCaps(typ string) providers.Capabilities {
	r, _ := providers.Lookup(typ)
	return r.Capabilities
}

// Desired returns the pieces that should exist at now (see DesiredPending).
func Desired(set *spec.Set, caps CapsFunc, now time.Time, lookahead time.Duration) []Piece {
	d, _ := DesiredPending(set, caps, now, lookahead)
	return d
}

// DesiredPending returns the pieces that should exist at now and those
// that are pending. For command providers: windows that contain now. For
// scheduling providers: every window that contains now or starts within
// the lookahead is scheduled whole: all its pieces (no longer than a task
// may be) that the provider accepts now are desired, the later ones
// pending until they come within reach. Pieces come in recording order
// (the set is sorted by name), each recording's in time order.
func DesiredPending(set *spec.Set, caps CapsFunc, now time.Time, lookahead time.Duration) (desired, pending []Piece) {
	desired = make([]Piece, 0, 2*len(set.Recordings))
	provs := make(map[string]*spec.Provider, len(set.Providers))
	for _, p := range set.Providers {
		provs[p.Metadata.Name] = p
	}
	for _, rec := range set.Recordings {
		prov := provs[rec.Spec.Provider]
		if prov == nil {
			continue
		}
		desired, pending = desiredFor(desired, pending, rec, prov, caps(prov.Spec.Type), now, lookahead)
	}
	return desired, pending
}

// desiredFor appends rec's desired and pending pieces.
func desiredFor(out, pending []Piece, rec *spec.Recording, prov *spec.Provider, c providers.Capabilities, now time.Time, lookahead time.Duration) ([]Piece, []Piece) {
	horizon := now.Add(time.Nanosecond)
	if c.ScheduleAhead {
		horizon = now.Add(lookahead)
	}
	for _, w := range gapWindows(rec, c.MinRestartGap, now, horizon) {
		if !c.ScheduleAhead {
			if !w.Start.After(now) && now.Before(w.End) {
				out = append(out, windowPieces(rec, prov, c, w, now)...)
			}
			continue
		}
		for _, p := range windowPieces(rec, prov, c, w, now) {
			if !p.End.After(now) {
				continue
			}
			if !p.CreateFrom.IsZero() {
				pending = append(pending, p)
				continue
			}
			out = append(out, p)
		}
	}
	return out, pending
}

// maxPending bounds the pending pieces listed per window: a week of them
// (an open-ended window lists only its next one).
const maxPending = 7

// windowPieces splits a window into the provider's pieces that have not
// ended at now: consecutive tasks of at most MaxTaskDuration from the
// window's (padded) start. A piece the provider would not accept at now
// (StartTime beyond MaxLookahead) has CreateFrom set; at most maxPending of
// those are returned.
func windowPieces(rec *spec.Recording, prov *spec.Provider, c providers.Capabilities, w spec.Interval, now time.Time) []Piece {
	id := w.ID(rec.Metadata.Name)
	base := Piece{Window: id, Recording: rec, Provider: prov, Stream: rec.Spec.Stream, WStart: w.NomStart, WEnd: w.NomEnd}
	step := c.MaxTaskDuration
	if !c.ScheduleAhead || step <= 0 {
		p := base
		p.Key, p.Start, p.End = id, w.Start, w.End
		return []Piece{p}
	}
	var out []Piece
	pending := 0
	k := int64(0)
	if now.After(w.Start) {
		k = int64(now.Sub(w.Start) / step)
	}
	for ; ; k++ {
		ps := w.Start.Add(time.Duration(k) * step)
		if !ps.Before(w.End) {
			break
		}
		pe := ps.Add(step)
		if pe.After(w.End) {
			pe = w.End
		}
		p := base
		p.Key, p.Start, p.End = pieceKey(id, k), ps, pe
		if reach := reachOf(c); !ps.Before(now.Add(reach)) {
			p.CreateFrom = ps.Add(-reach).Add(time.Second).Truncate(time.Second)
			out = append(out, p)
			if pending++; pending >= maxPending || w.End.Equal(spec.ContinuousEnd) {
				break
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// StillScheduled reports whether a piece recorded in the state (recording,
// window id, key, stream, start, end) is still a piece of a window of the
// documents, whatever the lookahead: a scheduled task for it is kept even
// when it is not desired at now (a shorter lookahead removes nothing).
func StillScheduled(rec *spec.Recording, prov *spec.Provider, c providers.Capabilities, now time.Time, window, key string, s spec.Stream, start, end time.Time) bool {
	if rec == nil || prov == nil || !c.ScheduleAhead || rec.Spec.Provider != prov.Metadata.Name || rec.Spec.Stream != s {
		return false
	}
	for _, w := range rec.Windows(start, end) {
		if w.ID(rec.Metadata.Name) != window {
			continue
		}
		for _, p := range windowPieces(rec, prov, c, w, now) {
			if p.Key == key {
				return p.Start.Equal(start) && p.End.Equal(end)
			}
		}
	}
	return false
}

// reachOf is how far ahead a scheduling provider accepts a task's start;
// providers that state no limit get tencent's 6 days, so that an open-ended
// window is never cut into an unbounded number of tasks.
func reachOf(c providers.Capabilities) time.Duration {
	if c.MaxLookahead > 0 {
		return c.MaxLookahead
	}
	return 6 * 24 * time.Hour
}

func pieceKey(window string, k int64) string {
	if k == 0 {
		return window
	}
	return window + "#" + strconv.FormatInt(k, 10)
}

// maxGapChain bounds how far forward a chain of windows closer than a
// provider's restart gap is followed (as spec bounds touching windows).
const maxGapChain = 400 * 24 * time.Hour

// gapWindows returns rec's windows overlapping [from, to), where windows
// closer than gap (a provider's MinRestartGap) merge. A merged window's
// extent is a property of the schedule: its chain is followed back up to
// gapLookback and forward to its true end, however far beyond to, so that
// plans at any instant see the same window.
func gapWindows(rec *spec.Recording, gap time.Duration, from, to time.Time) []spec.Interval {
	if gap <= 0 {
		return rec.Windows(from, to)
	}
	wins := mergeGap(rec.Windows(from.Add(-gapLookback), to.Add(gap)), gap)
	for len(wins) > 0 {
		last := wins[len(wins)-1]
		if last.End.Sub(last.Start) > maxGapChain {
			break
		}
		next := rec.Windows(last.End, last.End.Add(gap+time.Nanosecond))
		if len(next) == 0 || next[0].Start.Sub(last.End) > gap {
			break
		}
		wins = mergeGap(append(wins, next...), gap)
	}
	out := wins[:0]
	for _, w := range wins {
		if w.End.After(from) && w.Start.Before(to) {
			out = append(out, w)
		}
	}
	return out
}

// mergeGap merges windows closer than gap (a provider cannot restart a
// stream that soon after stopping it).
func mergeGap(iv []spec.Interval, gap time.Duration) []spec.Interval {
	if len(iv) < 2 {
		return iv
	}
	out := iv[:1]
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if x.Start.Sub(last.End) <= gap {
			if x.End.After(last.End) {
				last.End, last.NomEnd = x.End, x.NomEnd
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// Horizon is the time range a plan at now looks at for a provider: from a
// day back (tasks that may still run) to the end of the lookahead, or of
// the provider's scheduling horizon if later (pieces of a window are
// created as far ahead as the provider allows), plus one task length.
func Horizon(c providers.Capabilities, now time.Time, lookahead time.Duration) (time.Time, time.Time) {
	span := c.MaxTaskDuration
	if span <= 0 {
		span = 24 * time.Hour
	}
	if !c.ScheduleAhead {
		lookahead = 0
	} else if c.MaxLookahead > lookahead {
		lookahead = c.MaxLookahead
	}
	return now.Add(-span), now.Add(lookahead + span)
}

// CheckLookahead validates a lookahead against every provider type in use.
func CheckLookahead(set *spec.Set, caps CapsFunc, lookahead time.Duration) error {
	if lookahead <= 0 {
		return fmt.Errorf("lookahead must be positive, got %s", lookahead)
	}
	for _, p := range set.Providers {
		c := caps(p.Spec.Type)
		if c.ScheduleAhead && c.MaxLookahead > 0 && lookahead > c.MaxLookahead {
			return fmt.Errorf("%s: lookahead %s is longer than %s allows (%s)", p.Pos, lookahead, p.Spec.Type, c.MaxLookahead)
		}
	}
	return nil
}
