package aliyunemu

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/recordctl/recordctl/spec"
)

func splitConfig(k string) (domain, app string) {
	i := strings.LastIndexByte(k, '/')
	return k[:i], k[i+1:]
}

func (e *Emulator) isOfflineLocked(key string) bool {
	_, off := e.offline[key]
	return off
}

func (e *Emulator) hasConfigLocked(domain, app string) bool {
	return e.configs[domain+"/"+app] || e.configs[domain+"/*"]
}

// endLocked ends the stream's active recording; its file appears at finalizeAt.
func (e *Emulator) endLocked(key string, now time.Time, reason string, finalizeAt time.Time) {
	rec := e.active[key]
	if rec == nil {
		return
	}
	delete(e.active, key)
	rec.Ended, rec.EndReason, rec.FinalizeAt = now, reason, finalizeAt
	e.finalizeLocked(now)
}

// finalizeLocked produces the files whose delay has passed.
func (e *Emulator) finalizeLocked(now time.Time) {
	for _, rec := range e.recs {
		if rec.File == "" && !rec.Ended.IsZero() && !now.Before(rec.FinalizeAt) {
			rec.File = fmt.Sprintf("record/%s/%s/%s/%s.m3u8", rec.Stream.Domain, rec.Stream.App, rec.Stream.Name,
				rec.Started.UTC().Format("2006-01-02-15-04-05"))
		}
	}
}

// SetStreamOnline marks a stream as being pushed or not. Going offline ends
// its manual recording (file after the 180 s delay); coming back does not
// resume it (seed 003).
func (e *Emulator) SetStreamOnline(s spec.Stream, online bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := streamKey(s)
	if online {
		delete(e.offline, key)
		return
	}
	e.offline[key] = s
	now := e.now()
	e.endLocked(key, now, "interrupted", now.Add(FinalizeDelay))
}

// StreamOnline reports whether the stream is being pushed (default: yes).
func (e *Emulator) StreamOnline(s spec.Stream) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.isOfflineLocked(streamKey(s))
}

// AddRecordConfig adds a manual (OnDemand=7) recording configuration; app "*" covers every app.
func (e *Emulator) AddRecordConfig(domain, app string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.configs[domain+"/"+app] = true
}

// RemoveRecordConfig removes a configuration; start then fails with CodeConfigNotFound.
func (e *Emulator) RemoveRecordConfig(domain, app string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.configs, domain+"/"+app)
}

// RecordConfigs lists "domain/app" configurations, sorted.
func (e *Emulator) RecordConfigs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.configs))
	for k := range e.configs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SetRateLimit changes the per-account QPS limit; 0 disables throttling.
func (e *Emulator) SetRateLimit(qps int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.qps = qps
}

// IsRecording reports whether the stream is being recorded now.
func (e *Emulator) IsRecording(s spec.Stream) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active[streamKey(s)] != nil
}

// Recordings returns the stream's recordings, oldest first; a zero stream returns all.
func (e *Emulator) Recordings(s spec.Stream) []Recording {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finalizeLocked(e.now())
	var out []Recording
	for _, rec := range e.recs {
		if s == (spec.Stream{}) || streamKey(rec.Stream) == streamKey(s) {
			out = append(out, *rec)
		}
	}
	return out
}

// Files returns the stream's finalised recording files, oldest first.
func (e *Emulator) Files(s spec.Stream) []string {
	var out []string
	for _, r := range e.Recordings(s) {
		if r.File != "" {
			out = append(out, r.File)
		}
	}
	return out
}

// Calls returns how many requests reached the emulator for op, e.g.
// "RealTimeRecordCommand/start" or "DescribeLiveRecordConfig".
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
