package huaweiemu

import (
	"net/http"
	"sort"

	"github.com/recordctl/recordctl/spec"
)

// admin serves the unsigned test-control API under /_emulator/ (see doc.go).
func (e *Emulator) admin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := q.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
	s := spec.Stream{Domain: first("domain", "publish_domain"), App: q.Get("app"), Name: first("name", "stream")}
	switch path := r.URL.Path; {
	case path == "/_emulator/streams" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.streamReport())
	case (path == "/_emulator/streams/online" || path == "/_emulator/streams/offline") && r.Method == http.MethodPost:
		if s.Domain == "" || s.App == "" || s.Name == "" {
			http.Error(w, "domain, app and name are required", http.StatusBadRequest)
			return
		}
		e.SetStreamOnline(s, path == "/_emulator/streams/online")
		writeJSON(w, http.StatusOK, map[string]any{"stream": s, "online": e.StreamOnline(s)})
	case path == "/_emulator/rules" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"rules": e.Rules()})
	case path == "/_emulator/rules" && r.Method == http.MethodPost:
		if s.Domain == "" {
			http.Error(w, "publish_domain is required (app and stream default to *)", http.StatusBadRequest)
			return
		}
		app, stream := s.App, s.Name
		if app == "" {
			app = "*"
		}
		if stream == "" {
			stream = "*"
		}
		id := e.AddRule(s.Domain, app, stream, q.Get("record_type"))
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "rules": e.Rules()})
	case path == "/_emulator/rules" && r.Method == http.MethodDelete:
		if q.Get("id") == "" && s.Domain == "" {
			http.Error(w, "id or publish_domain is required", http.StatusBadRequest)
			return
		}
		n := e.RemoveRules(q.Get("id"), s.Domain, s.App, s.Name)
		writeJSON(w, http.StatusOK, map[string]any{"removed": n, "rules": e.Rules()})
	case path == "/_emulator/recordings" && r.Method == http.MethodGet:
		recs := e.Recordings(s)
		if recs == nil {
			recs = []Recording{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"recordings": recs})
	case path == "/_emulator/calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.CallCounts())
	default:
		http.Error(w, "unknown emulator admin endpoint; see the huawei package documentation", http.StatusNotFound)
	}
}

type streamState struct {
	Stream    spec.Stream `json:"stream"`
	Online    bool        `json:"online"`
	Recording bool        `json:"recording"`
}

// streamReport lists every stream the emulator knows (marked offline or recorded).
func (e *Emulator) streamReport() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked(e.now())
	seen := map[string]spec.Stream{}
	for _, rec := range e.recs {
		seen[streamKey(rec.Stream)] = rec.Stream
	}
	for k, off := range e.offline {
		seen[k] = off.stream
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]streamState, 0, len(keys))
	for _, k := range keys {
		_, off := e.offline[k]
		rows = append(rows, streamState{Stream: seen[k], Online: !off, Recording: e.active[k] != nil})
	}
	return map[string]any{"streams": rows, "defaultOnline": true}
}
