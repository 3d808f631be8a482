package agoraemu

import (
	"net/http"
	"strconv"
	"time"
)

// admin serves the unsigned test-control API under /_emulator/ (see the
// package doc). It is served on both listeners and ignores SetPrimaryDown.
func (e *Emulator) admin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(msg string) { writeJSON(w, http.StatusBadRequest, map[string]any{"message": msg}) }
	boolParam := func(name string) (bool, bool) {
		v, err := strconv.ParseBool(q.Get(name))
		if err != nil {
			bad(name + " must be true or false")
			return false, false
		}
		return v, true
	}
	durParam := func(name string) (time.Duration, bool) {
		d, err := time.ParseDuration(q.Get(name))
		if err != nil || d < 0 {
			bad(name + " must be a non-negative duration such as 90s")
			return 0, false
		}
		return d, true
	}
	get := r.Method == http.MethodGet
	switch r.URL.Path {
	case "/_emulator/sessions":
		if get {
			writeJSON(w, http.StatusOK, e.Sessions())
			return
		}
	case "/_emulator/calls":
		if get {
			writeJSON(w, http.StatusOK, map[string]any{"ops": e.Calls(), "listeners": e.ListenerCalls()})
			return
		}
	case "/_emulator/channels":
		if get {
			writeJSON(w, http.StatusOK, map[string]any{"empty": e.emptyChannels()})
			return
		}
		cname := q.Get("cname")
		if cname == "" {
			bad("cname is required")
			return
		}
		if v, ok := boolParam("active"); ok {
			e.SetChannelActive(cname, v)
			writeJSON(w, http.StatusOK, map[string]any{"cname": cname, "active": v})
		}
		return
	case "/_emulator/primary":
		if get {
			bad("use POST")
			return
		}
		if v, ok := boolParam("down"); ok {
			e.SetPrimaryDown(v)
			writeJSON(w, http.StatusOK, map[string]any{"down": v})
		}
		return
	case "/_emulator/starts/fail":
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 || get {
			bad("POST with n, a non-negative integer")
			return
		}
		e.FailNextStarts(n)
		writeJSON(w, http.StatusOK, map[string]any{"failNextStarts": n})
		return
	case "/_emulator/starts/never-ready":
		if get {
			bad("use POST")
			return
		}
		if v, ok := boolParam("on"); ok {
			e.SetNeverReady(v)
			writeJSON(w, http.StatusOK, map[string]any{"neverReady": v})
		}
		return
	case "/_emulator/start-delay":
		if get {
			bad("use POST")
			return
		}
		if d, ok := durParam("d"); ok {
			e.SetStartDelay(d)
			writeJSON(w, http.StatusOK, map[string]any{"startDelay": d.String()})
		}
		return
	case "/_emulator/advance":
		if get {
			bad("use POST")
			return
		}
		if d, ok := durParam("d"); ok {
			e.Advance(d)
			writeJSON(w, http.StatusOK, map[string]any{"now": e.Now()})
		}
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "unknown emulator endpoint " + r.Method + " " + r.URL.Path})
}
