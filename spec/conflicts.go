package spec

import (
	"fmt"
	"sort"
	"time"
)

// recRef is a Recording that passed every other check, with its Provider.
type recRef struct {
	ref     *docRef
	rec     *Recording
	prov    *Provider
	windows []Interval
}

// streamKey identifies the stream a Recording records. Two Recordings with
// the same key would record (and bill) the same stream twice: the same
// provider type, stream scope (agora: the App ID, as channels are per App
// ID; others none, as a push domain belongs to one account) and stream.
func streamKey(p *Provider, r *Recording) string { return StreamKey(p, r.Spec.Stream) }

// StreamKey identifies stream s of provider p as the conflict check does
// (two recordings with one key record, and bill, the same stream).
func StreamKey(p *Provider, s Stream) string {
	return p.Spec.Type + "\x00" + streamScope(p) + "\x00" + s.Domain + "\x00" + s.App + "\x00" + s.Name + "\x00" + s.Channel
}

func streamScope(p *Provider) string {
	if p.Spec.Config == nil {
		return ""
	}
	return p.Spec.Config.StreamScope()
}

// findConflicts reports each pair of Recordings of one stream whose windows
// overlap within [now, now+ConflictHorizon), at the later document.
func findConflicts(d *decoder, recs []*recRef, now time.Time) {
	groups := map[string][]*recRef{}
	var keys []string
	for _, r := range recs {
		k := streamKey(r.prov, r.rec)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Strings(keys)
	to := now.Add(ConflictHorizon)
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		for _, r := range g {
			r.windows = r.rec.Windows(now, to)
		}
		for i := 0; i < len(g); i++ {
			for j := i + 1; j < len(g); j++ {
				a, b := g[i], g[j] // a comes first in source order
				at, ok := firstOverlap(a.windows, b.windows)
				if !ok {
					continue
				}
				what := fmt.Sprintf("%s stream %s", b.prov.Spec.Type, b.rec.Spec.Stream)
				if st := b.rec.Spec.Stream; st.Channel != "" {
					what = fmt.Sprintf("%s channel %q", b.prov.Spec.Type, st.Channel)
				}
				if sc := streamScope(b.prov); sc != "" {
					what += " of " + sc
				}
				d.errs = append(d.errs, errAt(b.ref.pos, fmt.Sprintf(
					"Recording %q and Recording %q (%s) both record %s at %s: the stream would be recorded and billed twice; change one schedule or remove one Recording",
					b.rec.Metadata.Name, a.rec.Metadata.Name, a.ref.pos, what, at.UTC().Format(time.RFC3339))))
			}
		}
	}
}

// firstOverlap returns the first instant covered by both sorted interval lists.
func firstOverlap(a, b []Interval) (time.Time, bool) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case !a[i].End.After(b[j].Start):
			i++
		case !b[j].End.After(a[i].Start):
			j++
		default:
			if a[i].Start.After(b[j].Start) {
				return a[i].Start, true
			}
			return b[j].Start, true
		}
	}
	return time.Time{}, false
}
