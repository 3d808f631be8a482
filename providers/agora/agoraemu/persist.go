package agoraemu

import (
	"encoding/json"
	"sort"
	"time"
)

// savedState is what MarshalState keeps: resources, recorders (sessions)
// in start order, empty channels, the id sequence and salt, and the clock
// offset that Advance added.
type savedState struct {
	Salt       string               `json:"salt"`
	Seq        uint64               `json:"seq"`
	Offset     time.Duration        `json:"offset"`
	Resources  []savedResource      `json:"resources"`
	Sessions   []savedSession       `json:"sessions"`
	EmptySince map[string]time.Time `json:"emptySince,omitempty"`
}

type savedResource struct {
	ID, Cname, UID string
	Scene          int
	Acquired       time.Time
	ExpiredHour    int64
	SID            string
}

type savedSession struct {
	SID, RID, Cname, UID, Mode string
	Started                    time.Time
	MaxIdle                    time.Duration
	Expires                    time.Time
	NeverReady                 bool
	Stopped, Exited            time.Time
	Bucket                     string
	Files                      []string
	AvFileType                 []string
}

// MarshalState implements emu.Persistent.
func (e *Emulator) MarshalState() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := savedState{Salt: e.salt, Seq: e.seq, Offset: e.offset, Resources: []savedResource{}, Sessions: []savedSession{},
		EmptySince: e.emptySince}
	for _, r := range e.resources {
		st.Resources = append(st.Resources, savedResource{r.id, r.cname, r.uid, r.scene, r.acquired, r.expiredHour, r.sid})
	}
	sort.Slice(st.Resources, func(i, j int) bool { return st.Resources[i].ID < st.Resources[j].ID })
	for _, sid := range e.order {
		s := e.sessions[sid]
		st.Sessions = append(st.Sessions, savedSession{s.sid, s.rid, s.cname, s.uid, s.mode, s.started, s.maxIdle,
			s.expires, s.neverReady, s.stopped, s.exited, s.bucket, s.files, s.avFileType})
	}
	return json.Marshal(st)
}

// UnmarshalState implements emu.Persistent: it replaces resources and recorders.
func (e *Emulator) UnmarshalState(b []byte) error {
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.Salt != "" {
		e.salt = st.Salt
	}
	e.seq, e.offset = st.Seq, st.Offset
	e.resources = map[string]*emuResource{}
	for _, r := range st.Resources {
		e.resources[r.ID] = &emuResource{id: r.ID, cname: r.Cname, uid: r.UID, scene: r.Scene, acquired: r.Acquired,
			expiredHour: r.ExpiredHour, sid: r.SID}
	}
	e.sessions, e.order = map[string]*emuSession{}, nil
	for _, s := range st.Sessions {
		e.sessions[s.SID] = &emuSession{sid: s.SID, rid: s.RID, cname: s.Cname, uid: s.UID, mode: s.Mode, started: s.Started,
			maxIdle: s.MaxIdle, expires: s.Expires, neverReady: s.NeverReady, stopped: s.Stopped, exited: s.Exited,
			bucket: s.Bucket, files: s.Files, avFileType: s.AvFileType}
		e.order = append(e.order, s.SID)
	}
	e.emptySince = map[string]time.Time{}
	for k, v := range st.EmptySince {
		e.emptySince[k] = v
	}
	return nil
}
