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
	Window    string // <recording>@<start UTC RFC 3339>
	Recording *spec.Recording
	Provider  *spec.Provider
	Stream    spec.Stream
	// Start, End are the task's times; WStart, WEnd the whole window's.
	Start, End   time.Time
	WStart, WEnd time.Time
}

// CapsFunc returns the capabilities of a provider type.
type CapsFunc func(typ string) providers.Capabilities

// RegisteredCaps looks capabilities up in the provider registry.
func RegisteredCaps(typ string) providers.Capabilities {
	r, _ := providers.Lookup(typ)
	return r.Capabilities
}

// Desired returns the pieces that should exist at now: for command
// providers, windows that contain now; for scheduling providers also windows
// that start within the lookahead, chained into pieces no longer than a
// task may be. Pieces come in recording order (the set is sorted by name),
// each recording's in time order.
func Desired(set *spec.Set, caps CapsFunc, now time.Time, lookahead time.Duration) []Piece {
	out := make([]Piece, 0, 2*len(set.Recordings))
	provs := make(map[string]*spec.Provider, len(set.Providers))
	for _, p := range set.Providers {
		provs[p.Metadata.Name] = p
	}
	for _, rec := range set.Recordings {
		prov := provs[rec.Spec.Provider]
		if prov == nil {
			continue
		}
		out = desiredFor(out, rec, prov, caps(prov.Spec.Type), now, lookahead)
	}
	return out
}

// desiredFor appends rec's desired pieces to out.
func desiredFor(out []Piece, rec *spec.Recording, prov *spec.Provider, c providers.Capabilities, now time.Time, lookahead time.Duration) []Piece {
	horizon := now.Add(time.Nanosecond)
	if c.ScheduleAhead {
		horizon = now.Add(lookahead)
	}
	from := now
	if c.MinRestartGap > 0 {
		from = now.Add(-gapLookback)
		horizon = horizon.Add(c.MinRestartGap)
	}
	wins := rec.Windows(from, horizon)
	if c.MinRestartGap > 0 {
		wins = mergeGap(wins, c.MinRestartGap)
	}
	for _, w := range wins {
		id := spec.WindowID(rec.Metadata.Name, w.Start)
		base := Piece{Window: id, Recording: rec, Provider: prov, Stream: rec.Spec.Stream, WStart: w.Start, WEnd: w.End}
		if !c.ScheduleAhead {
			if !w.Start.After(now) && now.Before(w.End) {
				p := base
				p.Key, p.Start, p.End = id, w.Start, w.End
				out = append(out, p)
			}
			continue
		}
		step := c.MaxTaskDuration
		if step <= 0 {
			step = w.End.Sub(w.Start)
		}
		// First piece that has not ended yet.
		k := int64(0)
		if now.After(w.Start) {
			k = int64(now.Sub(w.Start) / step)
		}
		for ; ; k++ {
			ps := w.Start.Add(time.Duration(k) * step)
			if !ps.Before(w.End) || !ps.Before(now.Add(lookahead)) {
				break
			}
			pe := ps.Add(step)
			if pe.After(w.End) {
				pe = w.End
			}
			if !pe.After(now) {
				continue
			}
			p := base
			p.Key, p.Start, p.End = pieceKey(id, k), ps, pe
			out = append(out, p)
		}
	}
	return out
}

func pieceKey(window string, k int64) string {
	if k == 0 {
		return window
	}
	return window + "#" + strconv.FormatInt(k, 10)
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
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// Horizon is the time range a plan at now looks at for a provider: from a
// day back (tasks that may still run) to the end of the lookahead plus one
// task length.
func Horizon(c providers.Capabilities, now time.Time, lookahead time.Duration) (time.Time, time.Time) {
	span := c.MaxTaskDuration
	if span <= 0 {
		span = 24 * time.Hour
	}
	if !c.ScheduleAhead {
		lookahead = 0
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
