package huaweiemu

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// savedState is what MarshalState keeps: projects, rules, offline streams,
// recordings (running ones are those not ended) and the last STOP per
// stream (the 10 s restart gap holds across a restart too).
type savedState struct {
	Projects []string             `json:"projects"`
	Rules    []RecordRule         `json:"rules"`
	RuleSeq  int                  `json:"ruleSeq"`
	Offline  []savedOffline       `json:"offline,omitempty"`
	Recs     []Recording          `json:"recordings"`
	LastStop map[string]time.Time `json:"lastStop,omitempty"`
}

type savedOffline struct {
	Stream spec.Stream `json:"stream"`
	Since  time.Time   `json:"since"`
}

// MarshalState implements emu.Persistent.
func (e *Emulator) MarshalState() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := savedState{Projects: []string{}, Rules: append([]RecordRule{}, e.rules...), RuleSeq: e.ruleSeq,
		Recs: []Recording{}, LastStop: e.lastStop}
	for p := range e.projects {
		st.Projects = append(st.Projects, p)
	}
	sort.Strings(st.Projects)
	for _, o := range e.offline {
		st.Offline = append(st.Offline, savedOffline{o.stream, o.since})
	}
	sort.Slice(st.Offline, func(i, j int) bool { return streamKey(st.Offline[i].Stream) < streamKey(st.Offline[j].Stream) })
	for _, r := range e.recs {
		st.Recs = append(st.Recs, *r)
	}
	return json.Marshal(st)
}

// UnmarshalState implements emu.Persistent: it replaces the saved parts.
func (e *Emulator) UnmarshalState(b []byte) error {
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range st.Projects {
		e.projects[p] = true
	}
	e.rules, e.ruleSeq = st.Rules, st.RuleSeq
	e.offline = map[string]offlineStream{}
	for _, o := range st.Offline {
		e.offline[streamKey(o.Stream)] = offlineStream{stream: o.Stream, since: o.Since}
	}
	e.recs, e.active = nil, map[string]*Recording{}
	for i := range st.Recs {
		r := st.Recs[i]
		e.recs = append(e.recs, &r)
		if r.Ended.IsZero() {
			e.active[streamKey(r.Stream)] = &r
		}
	}
	e.lastStop = map[string]time.Time{}
	for k, v := range st.LastStop {
		e.lastStop[k] = v
	}
	return nil
}
