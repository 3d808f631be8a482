package tencentemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// The four actions. They run with e.mu held and return the Response fields.

func (e *Emulator) createTask(p params) (map[string]any, *apiErr) {
	if aerr := p.only("StreamName", "DomainName", "AppName", "StartTime", "EndTime", "StreamType", "TemplateId", "Extension"); aerr != nil {
		return nil, aerr
	}
	var s spec.Stream
	var aerr *apiErr
	for _, f := range []struct {
		name string
		dst  *string
	}{{"StreamName", &s.Name}, {"DomainName", &s.Domain}, {"AppName", &s.App}} {
		if *f.dst, aerr = p.str(f.name, true); aerr != nil {
			return nil, aerr
		}
	}
	endU, _, aerr := p.uint("EndTime", true)
	if aerr != nil {
		return nil, aerr
	}
	startU, hasStart, aerr := p.uint("StartTime", false)
	if aerr != nil {
		return nil, aerr
	}
	streamType, _, aerr := p.uint("StreamType", false)
	if aerr != nil {
		return nil, aerr
	}
	templateID, _, aerr := p.uint("TemplateId", false)
	if aerr != nil {
		return nil, aerr
	}
	ext, aerr := p.str("Extension", false)
	if aerr != nil {
		return nil, aerr
	}
	now := e.now()
	start, end := time.Unix(startU, 0), time.Unix(endU, 0)
	if !hasStart || startU == 0 {
		start = time.Unix(now.Unix(), 0) // omitted: start immediately
	}
	switch {
	case !end.After(start):
		return nil, errf(CodeInvalidParameter, "EndTime must be later than StartTime.")
	case !end.After(now):
		return nil, errf(CodeInvalidParameter, "EndTime must be later than the current time.")
	case !end.Before(now.Add(MaxEndAhead)):
		return nil, errf(CodeInvalidParameter, "EndTime must be within 7 days from the current time.")
	case end.Sub(start) > MaxTaskDuration:
		return nil, errf(CodeInvalidParameter, "The duration between StartTime and EndTime cannot exceed 24 hours.")
	case streamType != 0 && streamType != 1:
		return nil, errf(CodeInvalidParameter, "StreamType must be 0 (LVB push) or 1 (mixed stream).")
	}
	if !e.vodActive {
		return nil, errf(CodeInvalidVodStatus, "The VOD service has not been activated.")
	}
	if pushed, ok := e.pushes[s]; ok && !start.After(now) && !now.Before(pushed) && now.Sub(pushed) < PushSettle {
		return nil, errf(CodeInternalError, "The stream started pushing %s ago; a task created at the same moment may not start. Try again later.", now.Sub(pushed).Round(time.Millisecond))
	}
	if e.overlapping(s, start, end) >= MaxOverlap {
		return nil, errf(CodeMaxRunningTask, "The current number of concurrent tasks exceeds the limit: at most %d tasks of one stream may overlap.", MaxOverlap)
	}
	t := e.addTask(EmuTask{Stream: s, StartTime: start, EndTime: end, TemplateID: templateID, StreamType: streamType, Extension: ext})
	return map[string]any{"TaskId": t.TaskID}, nil
}

// lookup finds a live (not deleted) task for Stop/Delete.
func (e *Emulator) lookup(p params) (*EmuTask, *apiErr) {
	if aerr := p.only("TaskId"); aerr != nil {
		return nil, aerr
	}
	id, aerr := p.str("TaskId", true)
	if aerr != nil {
		return nil, aerr
	}
	if !e.vodActive {
		return nil, errf(CodeInvalidVodStatus, "The VOD service has not been activated.")
	}
	t, ok := e.byID[id]
	if !ok || t.Deleted {
		return nil, errf(CodeTaskNotFound, "The TaskId does not exist.")
	}
	return t, nil
}

// stopTask ends a task; stopping a stopped or finished task changes nothing.
func (e *Emulator) stopTask(p params) (map[string]any, *apiErr) {
	t, aerr := e.lookup(p)
	if aerr != nil {
		return nil, aerr
	}
	if now := e.now(); t.Stopped.IsZero() && now.Before(t.EndTime) {
		t.Stopped = time.Unix(now.Unix(), 0).UTC()
	}
	return nil, nil
}

// deleteTask removes a task's configuration; it is no longer listed.
func (e *Emulator) deleteTask(p params) (map[string]any, *apiErr) {
	t, aerr := e.lookup(p)
	if aerr != nil {
		return nil, aerr
	}
	t.Deleted = true
	return nil, nil
}

// scrollToken is the opaque DescribeRecordTask continuation: the last task
// returned (keyset paging survives inserts and deletes) and the query it
// belongs to.
type scrollToken struct {
	Start int64  `json:"s"`
	ID    string `json:"i"`
	Query string `json:"q"`
}

func (e *Emulator) describeTasks(p params) (map[string]any, *apiErr) {
	if aerr := p.only("StartTime", "EndTime", "StreamName", "DomainName", "AppName", "ScrollToken"); aerr != nil {
		return nil, aerr
	}
	fromU, _, aerr := p.uint("StartTime", true)
	if aerr != nil {
		return nil, aerr
	}
	toU, _, aerr := p.uint("EndTime", true)
	if aerr != nil {
		return nil, aerr
	}
	var f [3]string
	for i, name := range []string{"DomainName", "AppName", "StreamName"} {
		if f[i], aerr = p.str(name, false); aerr != nil {
			return nil, aerr
		}
	}
	tok, aerr := p.str("ScrollToken", false)
	if aerr != nil {
		return nil, aerr
	}
	from, to := time.Unix(fromU, 0), time.Unix(toU, 0)
	switch {
	case !to.After(from):
		return nil, errf(CodeInvalidParameter, "EndTime must be later than StartTime.")
	case to.Sub(from) > MaxQueryWindow:
		return nil, errf(CodeInvalidParameter, "The query window between StartTime and EndTime cannot exceed 7 days.")
	case from.Before(e.now().Add(-retention)):
		return nil, errf(CodeInvalidParameter, "StartTime cannot be earlier than 90 days ago.")
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%d|%s|%s|%s", fromU, toU, f[0], f[1], f[2]))
	query := hex.EncodeToString(sum[:8])
	var after *scrollToken
	if tok != "" {
		var st scrollToken
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || json.Unmarshal(raw, &st) != nil || st.Query != query {
			return nil, errf(CodeInvalidParameter, "The ScrollToken is invalid or belongs to a different query.")
		}
		after = &st
	}
	list := []map[string]any{}
	var last *EmuTask
	more := false
	for _, t := range e.listed() {
		if t.StartTime.Before(from) || t.EndTime.After(to) ||
			(f[0] != "" && t.Stream.Domain != f[0]) || (f[1] != "" && t.Stream.App != f[1]) || (f[2] != "" && t.Stream.Name != f[2]) {
			continue
		}
		if after != nil && !taskLess(&EmuTask{StartTime: time.Unix(after.Start, 0), TaskID: after.ID}, t) {
			continue
		}
		if len(list) == e.pageSize {
			more = true
			break
		}
		list = append(list, recordTaskJSON(t))
		last = t
	}
	next := ""
	if more {
		b, _ := json.Marshal(scrollToken{Start: last.StartTime.Unix(), ID: last.TaskID, Query: query})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return map[string]any{"TaskList": list, "ScrollToken": next}, nil
}

func recordTaskJSON(t *EmuTask) map[string]any {
	var stopped int64
	if !t.Stopped.IsZero() {
		stopped = t.Stopped.Unix()
	}
	return map[string]any{
		"TaskId": t.TaskID, "DomainName": t.Stream.Domain, "AppName": t.Stream.App, "StreamName": t.Stream.Name,
		"StartTime": t.StartTime.Unix(), "EndTime": t.EndTime.Unix(), "TemplateId": t.TemplateID, "Stopped": stopped,
	}
}
