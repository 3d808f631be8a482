package aliyunemu

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/recordctl/recordctl/spec"
)

// admin serves the unsigned test-control API under /_emulator/ (see doc.go).
func (e *Emulator) admin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := spec.Stream{Domain: q.Get("domain"), App: q.Get("app"), Name: q.Get("name")}
	needStream := func() bool {
		if s.Domain == "" || s.App == "" || s.Name == "" {
			http.Error(w, "domain, app and name are required", http.StatusBadRequest)
			return false
		}
		return true
	}
	switch path := r.URL.Path; {
	case path == "/_emulator/streams" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.streamReport())
	case (path == "/_emulator/streams/online" || path == "/_emulator/streams/offline") && r.Method == http.MethodPost:
		if needStream() {
			e.SetStreamOnline(s, path == "/_emulator/streams/online")
			writeJSON(w, http.StatusOK, map[string]any{"stream": s, "online": e.StreamOnline(s)})
		}
	case path == "/_emulator/configs" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"configs": e.RecordConfigs()})
	case path == "/_emulator/configs" && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		if s.Domain == "" {
			http.Error(w, "domain is required (app defaults to *)", http.StatusBadRequest)
			return
		}
		app := s.App
		if app == "" {
			app = "*"
		}
		if r.Method == http.MethodPost {
			e.AddRecordConfig(s.Domain, app)
		} else {
			e.RemoveRecordConfig(s.Domain, app)
		}
		writeJSON(w, http.StatusOK, map[string]any{"configs": e.RecordConfigs()})
	case path == "/_emulator/recordings" && r.Method == http.MethodGet:
		recs := e.Recordings(s)
		if recs == nil {
			recs = []Recording{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"recordings": recs})
	case path == "/_emulator/calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.CallCounts())
	case path == "/_emulator/ratelimit" && r.Method == http.MethodPost:
		n, err := strconv.Atoi(q.Get("qps"))
		if err != nil || n < 0 {
			http.Error(w, "qps must be a non-negative integer (0 disables throttling)", http.StatusBadRequest)
			return
		}
		e.SetRateLimit(n)
		writeJSON(w, http.StatusOK, map[string]any{"qps": n})
	default:
		http.Error(w, "unknown emulator admin endpoint; see the aliyun package documentation", http.StatusNotFound)
	}
}

// streamState is one row of GET /_emulator/streams.
type streamState struct {
	Stream    spec.Stream `json:"stream"`
	Online    bool        `json:"online"`
	Recording bool        `json:"recording"`
}

// streamReport lists every stream the emulator knows (marked offline or recorded).
func (e *Emulator) streamReport() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]spec.Stream{}
	for _, rec := range e.recs {
		seen[streamKey(rec.Stream)] = rec.Stream
	}
	for k, s := range e.offline {
		seen[k] = s
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]streamState, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, streamState{Stream: seen[k], Online: !e.isOfflineLocked(k), Recording: e.active[k] != nil})
	}
	return map[string]any{"streams": rows, "defaultOnline": true}
}
