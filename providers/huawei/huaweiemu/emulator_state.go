package huaweiemu

import (
	"fmt"
	"maps"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// advanceLocked ends recordings whose stream has been away longer than the threshold.
func (e *Emulator) advanceLocked(now time.Time) {
	for key, off := range e.offline {
		if rec := e.active[key]; rec != nil && now.Sub(off.since) > e.threshold {
			rec.Ended, rec.EndReason = off.since, "interrupted"
			delete(e.active, key)
		}
	}
}

func (e *Emulator) hasRuleLocked(s spec.Stream) bool {
	for _, r := range e.rules {
		if r.RecordType == "COMMAND_RECORD" && r.Matches(s) {
			return true
		}
	}
	return false
}

// SetStreamOnline marks a stream as pushed or not. A recording survives an
// interruption up to the threshold (default 10 s); longer ends it for good
// (seed 002: it is not restarted when the push resumes).
func (e *Emulator) SetStreamOnline(s spec.Stream, online bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.advanceLocked(now)
	key := streamKey(s)
	if online {
		delete(e.offline, key)
		return
	}
	if _, already := e.offline[key]; !already {
		e.offline[key] = offlineStream{stream: s, since: now}
	}
}

// StreamOnline reports whether the stream is being pushed (default: yes).
func (e *Emulator) StreamOnline(s spec.Stream) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, off := e.offline[streamKey(s)]
	return !off
}

// SetInterruptThreshold changes how long a recording survives an interruption.
func (e *Emulator) SetInterruptThreshold(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.threshold = d
}

// AddRule adds a recording rule and returns its id (the existing one's if
// an identical rule exists); app/stream "*" match anything; recordType
// defaults to COMMAND_RECORD.
func (e *Emulator) AddRule(domain, app, stream, recordType string) string {
	if recordType == "" {
		recordType = "COMMAND_RECORD"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules { // idempotent: the rule may survive from a saved state
		if r.PublishDomain == domain && r.App == app && r.Stream == stream && r.RecordType == recordType {
			return r.ID
		}
	}
	return e.addRuleLocked(domain, app, stream, recordType).ID
}

func (e *Emulator) addRuleLocked(domain, app, stream, recordType string) RecordRule {
	e.ruleSeq++
	ts := e.now().UTC().Format("2006-01-02T15:04:05Z")
	r := RecordRule{ID: fmt.Sprintf("%032x", e.ruleSeq), PublishDomain: domain, App: app, Stream: stream,
		RecordType: recordType, CreateTime: ts, UpdateTime: ts}
	e.rules = append(e.rules, r)
	return r
}

// RemoveRules deletes rules by id, or every rule of a domain (and app/stream
// when given); it returns how many were removed.
func (e *Emulator) RemoveRules(id, domain, app, stream string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.rules[:0]
	n := 0
	for _, r := range e.rules {
		drop := id != "" && r.ID == id ||
			id == "" && domain != "" && r.PublishDomain == domain && (app == "" || r.App == app) && (stream == "" || r.Stream == stream)
		if drop {
			n++
			continue
		}
		kept = append(kept, r)
	}
	e.rules = kept
	return n
}

// Rules returns the recording rules, oldest first.
func (e *Emulator) Rules() []RecordRule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]RecordRule(nil), e.rules...)
}

// IsRecording reports whether the stream is being recorded now.
func (e *Emulator) IsRecording(s spec.Stream) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked(e.now())
	return e.active[streamKey(s)] != nil
}

// Recordings returns the stream's recordings, oldest first; a zero stream returns all.
func (e *Emulator) Recordings(s spec.Stream) []Recording {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked(e.now())
	var out []Recording
	for _, r := range e.recs {
		if s == (spec.Stream{}) || streamKey(r.Stream) == streamKey(s) {
			out = append(out, *r)
		}
	}
	return out
}

// Calls returns how many requests reached the emulator for op:
// "RunRecord/START", "RunRecord/STOP" or "ListRecordRules".
func (e *Emulator) Calls(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[op]
}

// CallCounts returns a copy of all call counters.
func (e *Emulator) CallCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}
