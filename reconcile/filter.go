package reconcile

import (
	"fmt"
	"path"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Unobserved is a provider a plan could not observe, and why.
type Unobserved struct {
	Provider string `json:"provider"`
	Type     string `json:"type,omitempty"`
	Reason   string `json:"reason"`
}

// Filter narrows a plan to some recordings and providers, as Terraform's
// -target does: the diff is computed over everything (so nothing outside
// the filter reads as "vanished"), then only the matching actions, missed
// windows, unmanaged tasks and unobserved providers are kept.
type Filter struct {
	// Recordings are glob patterns (path.Match) on recording names; empty matches all.
	Recordings []string
	// Providers are Provider document names (globs too); empty matches all.
	Providers []string
}

// Empty reports whether f keeps everything.
func (f Filter) Empty() bool { return len(f.Recordings) == 0 && len(f.Providers) == 0 }

// Validate rejects malformed glob patterns.
func (f Filter) Validate() error {
	for _, pats := range [][]string{f.Recordings, f.Providers} {
		for _, p := range pats {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("bad pattern %q: %v", p, err)
			}
		}
	}
	return nil
}

func matchAny(pats []string, s string) bool {
	if len(pats) == 0 {
		return true
	}
	for _, p := range pats {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// Keep reports whether an action on recording rec at provider prov passes f.
func (f Filter) Keep(rec, prov string) bool {
	return matchAny(f.Recordings, rec) && matchAny(f.Providers, prov)
}

// Apply narrows p in place to what f keeps. set gives each recording's
// provider (missed windows name only the recording); st gives the records
// the plan would forget.
func (f Filter) Apply(p *Plan, set *spec.Set, st *state.State) {
	if f.Empty() {
		return
	}
	provOf := map[string]string{}
	for _, r := range set.Recordings {
		provOf[r.Metadata.Name] = r.Spec.Provider
	}
	acts := make([]Action, 0, len(p.Actions))
	for _, a := range p.Actions {
		if f.Keep(a.Recording, a.Provider) {
			acts = append(acts, a)
		}
	}
	p.Actions = acts
	var missed []Missed
	for _, m := range p.Missed {
		if f.Keep(m.Recording, provOf[m.Recording]) {
			missed = append(missed, m)
		}
	}
	p.Missed = missed
	var un []Unmanaged
	for _, u := range p.Unmanaged {
		// Unmanaged tasks belong to no recording: a recording filter keeps them out.
		if len(f.Recordings) == 0 && matchAny(f.Providers, u.Provider) {
			un = append(un, u)
		}
	}
	p.Unmanaged = un
	var forget []string
	for _, id := range p.Forget {
		if r := st.Find(id); r != nil && f.Keep(r.Recording, r.Provider) {
			forget = append(forget, id)
		}
	}
	p.Forget = forget
	// A provider that could not be observed makes the filtered plan
	// incomplete only when a recording the filter keeps uses it.
	reached := map[string]bool{}
	for name, prov := range provOf {
		if f.Keep(name, prov) {
			reached[prov] = true
		}
	}
	for _, r := range st.Live() {
		if f.Keep(r.Recording, r.Provider) {
			reached[r.Provider] = true
		}
	}
	var inc []Unobserved
	for _, u := range p.Incomplete {
		if reached[u.Provider] {
			inc = append(inc, u)
		}
	}
	p.Incomplete = inc
	p.Complete = len(inc) == 0
	p.Summary = summarize(p)
}
