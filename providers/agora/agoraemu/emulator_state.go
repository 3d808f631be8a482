package agoraemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// emuResource is one acquired resourceId.
type emuResource struct {
	id, cname, uid string
	scene          int
	acquired       time.Time
	expiredHour    int64
	sid            string // set once a start used it
}

// emuSession is one recorder.
type emuSession struct {
	sid, rid, cname, uid, mode string
	started                    time.Time
	maxIdle                    time.Duration
	expires                    time.Time // started + resourceExpiredHour
	neverReady                 bool
	stopped                    time.Time // zero: not stopped by the API
	exited                     time.Time // zero: not known to have left on its own
	bucket                     string
	files                      []string
	avFileType                 []string // recordingFileConfig.avFileType; empty means ["hls"]
}

// nextIDs returns a fresh resourceId and sid (e.mu held).
func (e *Emulator) nextIDs() (rid, sid string) {
	e.seq++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", e.salt, e.seq)))
	return base64.RawURLEncoding.EncodeToString(append(h[:], h[:16]...)), hex.EncodeToString(h[:16])
}

// exitAt is when s leaves on its own: maxIdleTime after its channel became
// empty (or after it started, if later), or at resource expiry.
func (e *Emulator) exitAt(s *emuSession) (time.Time, bool) {
	var at time.Time
	ok := false
	if since, empty := e.emptySince[s.cname]; empty {
		from := since
		if s.started.After(from) {
			from = s.started
		}
		at, ok = from.Add(s.maxIdle), true
	}
	if !s.expires.IsZero() && (!ok || s.expires.Before(at)) {
		at, ok = s.expires, true
	}
	return at, ok
}

// latchAll records the exit of every session that has left by now, before
// a channel or clock change could rewrite history (e.mu held).
func (e *Emulator) latchAll() {
	now := e.nowLocked()
	for _, s := range e.sessions {
		if !s.stopped.IsZero() || !s.exited.IsZero() {
			continue
		}
		if at, ok := e.exitAt(s); ok && !now.Before(at) {
			s.exited = at
		}
	}
}

// statusLocked is s's query status at now and when it ended (zero if
// running): 1/2 while starting, 5 recording, 7 stopped, 8 left on its own.
func (e *Emulator) statusLocked(s *emuSession, now time.Time) (int, time.Time) {
	if !s.stopped.IsZero() {
		return 7, s.stopped
	}
	if !s.exited.IsZero() {
		return 8, s.exited
	}
	if at, ok := e.exitAt(s); ok && !now.Before(at) {
		return 8, at
	}
	el := now.Sub(s.started)
	switch {
	case el < e.startDelay/2:
		return 1, time.Time{}
	case el < e.startDelay || s.neverReady:
		return 2, time.Time{}
	}
	return 5, time.Time{}
}

// live reports whether s still runs at now.
func (e *Emulator) live(s *emuSession, now time.Time) bool {
	_, ended := e.statusLocked(s, now)
	return ended.IsZero()
}

// fileNames are the files a session reports (mix: <sid>_<cname>.m3u8, and
// <sid>_<cname>_0.mp4 when avFileType asks for mp4 too).
func (s *emuSession) fileNames() []string {
	switch s.mode {
	case "individual":
		return []string{fmt.Sprintf("%s_%s__uid_s_1001__uid_e_av.m3u8", s.sid, s.cname)}
	case "web":
		return []string{fmt.Sprintf("%s_%s_0.mp4", s.sid, s.cname)}
	}
	names := []string{fmt.Sprintf("%s_%s.m3u8", s.sid, s.cname)}
	if s.mixJSON() {
		names = append(names, fmt.Sprintf("%s_%s_0.mp4", s.sid, s.cname))
	}
	return names
}

// mixJSON: a mix-mode session whose avFileType includes mp4 answers
// fileListMode "json" with an array of file objects (Agora's documentation);
// hls alone answers "string".
func (s *emuSession) mixJSON() bool {
	for _, t := range s.avFileType {
		if t == "mp4" {
			return true
		}
	}
	return false
}
