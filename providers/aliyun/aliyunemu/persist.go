package aliyunemu

import (
	"encoding/json"
	"sort"

	"github.com/recordctl/recordctl/spec"
)

// savedState is what MarshalState keeps: recording configurations, streams
// marked offline and every recording (running ones are those not ended).
type savedState struct {
	Configs []string      `json:"configs"` // domain/app
	Offline []spec.Stream `json:"offline,omitempty"`
	Recs    []Recording   `json:"recordings"`
}

// MarshalState implements emu.Persistent.
func (e *Emulator) MarshalState() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := savedState{Configs: []string{}, Recs: []Recording{}}
	for k := range e.configs {
		st.Configs = append(st.Configs, k)
	}
	sort.Strings(st.Configs)
	for _, s := range e.offline {
		st.Offline = append(st.Offline, s)
	}
	sort.Slice(st.Offline, func(i, j int) bool { return streamKey(st.Offline[i]) < streamKey(st.Offline[j]) })
	for _, r := range e.recs {
		st.Recs = append(st.Recs, *r)
	}
	return json.Marshal(st)
}

// UnmarshalState implements emu.Persistent: it replaces configurations,
// offline streams and recordings.
func (e *Emulator) UnmarshalState(b []byte) error {
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.configs = map[string]bool{}
	for _, k := range st.Configs {
		e.configs[k] = true
	}
	e.offline = map[string]spec.Stream{}
	for _, s := range st.Offline {
		e.offline[streamKey(s)] = s
	}
	e.recs, e.active = nil, map[string]*Recording{}
	for i := range st.Recs {
		r := st.Recs[i]
		e.recs = append(e.recs, &r)
		if r.Ended.IsZero() {
			e.active[streamKey(r.Stream)] = &r
		}
	}
	return nil
}
