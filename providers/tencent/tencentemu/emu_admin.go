package tencentemu

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// adminPrefix is where the unsigned test-control API lives.
const adminPrefix = "/_emulator/"

const adminHelp = `tencent CSS emulator admin API (unsigned, loopback only):
GET  /_emulator/tasks                  every task as JSON (deleted ones included)
POST /_emulator/tasks                  inject a task created "by someone else":
                                       {"stream":{"domain":..,"app":..,"name":..},"startTime":RFC3339,"endTime":RFC3339}
GET  /_emulator/calls                  request counts per X-TC-Action
POST /_emulator/fail?action=A&code=C   answer the next request for action A (any if empty) with error code C
                                       (&after=1: carry the request out first, then answer with C)
POST /_emulator/push?stream=D/A/N     stream D/A/N starts pushing now: for 3 s a task
                                       that would record it at once fails with InternalError
POST /_emulator/config                 {"pageSize":n,"rateLimit":rps,"vodActive":bool} (each optional)
`

// serveAdmin handles /_emulator/...; it bypasses signatures and faults.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(adminPrefix, "/"))
	switch {
	case path == "/tasks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.Tasks())
	case path == "/tasks" && r.Method == http.MethodPost:
		var in struct {
			Stream    spec.Stream `json:"stream"`
			StartTime time.Time   `json:"startTime"`
			EndTime   time.Time   `json:"endTime"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "body must be JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if in.Stream.Domain == "" || in.Stream.App == "" || in.Stream.Name == "" || !in.EndTime.After(in.StartTime) {
			http.Error(w, "need stream.domain, stream.app, stream.name and startTime < endTime", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusCreated, e.InjectTask(in.Stream, in.StartTime, in.EndTime))
	case path == "/calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.Calls())
	case path == "/fail" && r.Method == http.MethodPost:
		code := r.URL.Query().Get("code")
		if code == "" {
			http.Error(w, "code is required", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("after") != "" {
			e.FailAfterNext(r.URL.Query().Get("action"), code)
		} else {
			e.FailNext(r.URL.Query().Get("action"), code)
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "/push" && r.Method == http.MethodPost:
		parts := strings.Split(r.URL.Query().Get("stream"), "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			http.Error(w, "stream must be domain/app/name", http.StatusBadRequest)
			return
		}
		e.Push(spec.Stream{Domain: parts[0], App: parts[1], Name: parts[2]})
		w.WriteHeader(http.StatusNoContent)
	case path == "/config" && r.Method == http.MethodPost:
		var in struct {
			PageSize  *int     `json:"pageSize"`
			RateLimit *float64 `json:"rateLimit"`
			VODActive *bool    `json:"vodActive"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "body must be JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if in.PageSize != nil {
			e.SetPageSize(*in.PageSize)
		}
		if in.RateLimit != nil {
			e.SetRateLimit(*in.RateLimit)
		}
		if in.VODActive != nil {
			e.SetVODActive(*in.VODActive)
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "/" || path == "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(adminHelp))
	default:
		http.Error(w, "unknown admin endpoint or method\n\n"+adminHelp, http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
