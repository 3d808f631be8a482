package tencentemu

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// savedState is what MarshalState keeps: the tasks (deleted ones too, as
// the service remembers them), the id sequence and salt so new TaskIds do
// not collide, the VOD switch and when streams started pushing.
type savedState struct {
	Salt      []byte      `json:"salt"`
	Seq       uint64      `json:"seq"`
	Tasks     []EmuTask   `json:"tasks"`
	VodActive bool        `json:"vodActive"`
	Pushes    []savedPush `json:"pushes,omitempty"`
}

type savedPush struct {
	Stream spec.Stream `json:"stream"`
	Since  time.Time   `json:"since"`
}

// MarshalState implements emu.Persistent.
func (e *Emulator) MarshalState() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := savedState{Salt: e.idSalt[:], Seq: e.seq, VodActive: e.vodActive, Tasks: []EmuTask{}}
	for _, t := range e.tasks {
		c := *t
		c.Status = ""
		st.Tasks = append(st.Tasks, c)
	}
	for s, at := range e.pushes {
		st.Pushes = append(st.Pushes, savedPush{s, at})
	}
	sort.Slice(st.Pushes, func(i, j int) bool { return streamKey(st.Pushes[i].Stream) < streamKey(st.Pushes[j].Stream) })
	return json.Marshal(st)
}

// UnmarshalState implements emu.Persistent: it replaces the emulator's tasks.
func (e *Emulator) UnmarshalState(b []byte) error {
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	copy(e.idSalt[:], st.Salt)
	e.seq, e.vodActive = st.Seq, st.VodActive
	e.tasks, e.byID = nil, map[string]*EmuTask{}
	for i := range st.Tasks {
		t := st.Tasks[i]
		e.tasks = append(e.tasks, &t)
		e.byID[t.TaskID] = &t
	}
	e.pushes = map[spec.Stream]time.Time{}
	for _, p := range st.Pushes {
		e.pushes[p.Stream] = p.Since
	}
	return nil
}

func streamKey(s spec.Stream) string { return s.Domain + "/" + s.App + "/" + s.Name }
