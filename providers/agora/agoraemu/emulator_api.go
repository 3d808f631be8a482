package agoraemu

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
)

// route is a parsed API path.
type route struct {
	op, appID, rid, sid, mode string
	method                    string // the method the route wants
}

// parseRoute recognises the four operations; op "" means no route matched,
// op "bad" a path under …/apps/{appid}/ that Agora answers with code 8.
func parseRoute(r *http.Request) route {
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	if len(segs) < 4 || segs[0] != "v1" || segs[1] != "apps" {
		return route{}
	}
	rt := route{appID: segs[2], op: "bad"}
	if segs[3] != "cloud_recording" {
		return rt
	}
	rest := segs[4:]
	switch {
	case len(rest) == 1 && rest[0] == "acquire":
		rt.op, rt.method = "acquire", http.MethodPost
	case len(rest) == 5 && rest[0] == "resourceid" && rest[2] == "mode" && rest[4] == "start":
		rt.op, rt.method, rt.rid, rt.mode = "start", http.MethodPost, rest[1], rest[3]
	case len(rest) == 7 && rest[0] == "resourceid" && rest[2] == "sid" && rest[4] == "mode" &&
		(rest[6] == "query" || rest[6] == "stop"):
		rt.op, rt.rid, rt.sid, rt.mode = rest[6], rest[1], rest[3], rest[5]
		rt.method = http.MethodPost
		if rt.op == "query" {
			rt.method = http.MethodGet
		}
	default:
		return route{}
	}
	if r.Method != rt.method {
		rt.op = "bad"
	}
	return rt
}

// listener is the handler of one domain (0 primary, 1 fallback).
func (e *Emulator) listener(idx int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_emulator/") {
			e.admin(w, r)
			return
		}
		rt := parseRoute(r)
		op := rt.op
		if op == "" || op == "bad" {
			op = "unknown"
		}
		e.mu.Lock()
		e.listeners[idx]++
		e.calls[op]++
		down := idx == 0 && e.primaryDown
		e.mu.Unlock()
		if down {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
			return
		}
		switch e.faults.Decide(r) {
		case emu.FaultError:
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error"})
			return
		case emu.FaultThrottle:
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "API rate limit exceeded"})
			return
		case emu.FaultTimeout:
			writeJSON(w, http.StatusGatewayTimeout, map[string]any{"message": "upstream request timeout"})
			return
		}
		ok, match := basicCredential(r.Header.Get("Authorization"), DemoCustomerID, DemoCustomerSecret)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
			return
		}
		if !match {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid authentication credentials"})
			return
		}
		if rt.op == "" {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "no Route matched with those values"})
			return
		}
		if rt.appID != DemoAppID {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "appid is invalid"})
			return
		}
		if rt.op == "bad" {
			codeErr(w, http.StatusBadRequest, codeBadRequest, "invalid request: check the URL and method")
			return
		}
		var body []byte
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				codeErr(w, http.StatusBadRequest, codeBadRequest, "Content-Type must be application/json")
				return
			}
			body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		switch rt.op {
		case "acquire":
			e.acquire(w, body)
		case "start":
			e.start(w, rt, body)
		case "query":
			e.query(w, rt)
		case "stop":
			e.stop(w, rt, body)
		}
	})
}

// reqHead is the cname/uid part of every POST body; uid must be a JSON string.
type reqHead struct {
	Cname string          `json:"cname"`
	UID   json.RawMessage `json:"uid"`
}

// head checks cname and uid; it answers the error itself and returns ok=false.
func head(w http.ResponseWriter, body []byte) (cname, uid string, ok bool) {
	var h reqHead
	if err := json.Unmarshal(body, &h); err != nil {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "invalid JSON body")
		return "", "", false
	}
	if !validChannel(h.Cname) {
		codeErr(w, http.StatusBadRequest, codeBadChannel, "invalid cname")
		return "", "", false
	}
	if !bytes.HasPrefix(bytes.TrimSpace(h.UID), []byte(`"`)) || json.Unmarshal(h.UID, &uid) != nil {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "uid must be a string")
		return "", "", false
	}
	if n, err := strconv.ParseUint(uid, 10, 64); err != nil || n < 1 || n > maxUID {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "uid must be a number in 1..4294967295")
		return "", "", false
	}
	return h.Cname, uid, true
}

// validChannel applies Agora's channel-name rule: 1..64 characters from a
// fixed set.
func validChannel(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for _, r := range c {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(" !#$%&()+-:;<=.>?@[]^_{}|~,", r)
		if !ok {
			return false
		}
	}
	return true
}

func (e *Emulator) acquire(w http.ResponseWriter, body []byte) {
	cname, uid, ok := head(w, body)
	if !ok {
		return
	}
	var in acquireRequest
	in.ClientRequest.Scene = -1
	_ = json.Unmarshal(body, &in)
	if in.ClientRequest.Scene < 0 {
		in.ClientRequest.Scene = 0
	}
	if in.ClientRequest.Scene > 2 {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "invalid scene")
		return
	}
	eh := in.ClientRequest.ResourceExpiredHour
	if eh == 0 {
		eh = 72
	}
	if eh < 1 || eh > 720 {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "resourceExpiredHour must be 1..720")
		return
	}
	rid, _ := e.nextIDs()
	e.resources[rid] = &emuResource{id: rid, cname: cname, uid: uid, scene: in.ClientRequest.Scene,
		acquired: e.nowLocked(), expiredHour: eh}
	writeJSON(w, http.StatusOK, acquireResponse{ResourceID: rid})
}

func (e *Emulator) start(w http.ResponseWriter, rt route, body []byte) {
	if e.failStarts > 0 {
		e.failStarts--
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error"})
		return
	}
	cname, uid, ok := head(w, body)
	if !ok {
		return
	}
	now := e.nowLocked()
	res := e.resources[rt.rid]
	switch {
	case res == nil:
		codeErr(w, http.StatusBadRequest, codeResourceDecrypt, "failed to decrypt resourceId")
		return
	case now.Sub(res.acquired) > resourceTTL:
		codeErr(w, http.StatusBadRequest, codeResourceExpired, "resourceId expired")
		return
	case res.cname != cname || res.uid != uid:
		codeErr(w, http.StatusBadRequest, codeParamMismatch, "cname or uid does not match the resourceId")
		return
	case rt.mode != "mix" && rt.mode != "individual" && rt.mode != "web":
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "invalid mode")
		return
	case (rt.mode == "web") != (res.scene == 1):
		codeErr(w, http.StatusBadRequest, codeParamMismatch, "mode does not match the scene of the resourceId")
		return
	case res.sid != "":
		// Like Agora's other error bodies that echo them, 7 and 53 name
		// the running recorder.
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": codeRepeatStart, "reason": "recording already running for this resourceId",
			"cname": cname, "uid": uid, "resourceId": res.id, "sid": res.sid})
		return
	}
	var in startRequest
	if err := json.Unmarshal(body, &in); err != nil {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "invalid clientRequest")
		return
	}
	cr := in.ClientRequest
	switch tok := cr.Token; {
	case strings.HasPrefix(tok, "expired"):
		codeErr(w, http.StatusBadRequest, codeTokenExpired, "token expired")
		return
	case strings.HasPrefix(tok, "invalid"):
		codeErr(w, http.StatusBadRequest, codeTokenInvalid, "invalid token")
		return
	}
	idle := int64(30)
	if rc := cr.RecordingConfig; rc != nil && rc.MaxIdleTime != 0 {
		idle = rc.MaxIdleTime
	}
	if idle < 5 || idle > 259200 {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "maxIdleTime must be 5..259200")
		return
	}
	sc := cr.StorageConfig
	if sc == nil || sc.Vendor <= 0 || sc.Bucket == "" || sc.AccessKey == "" || sc.SecretKey == "" {
		codeErr(w, http.StatusBadRequest, codeInvalidParam, "storageConfig needs vendor, bucket, accessKey and secretKey")
		return
	}
	for _, s := range e.sessions {
		if s.cname == cname && s.uid == uid && e.live(s, now) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": codeUIDBusy, "reason": "this uid is already recording in the channel",
				"cname": cname, "uid": uid, "resourceId": s.rid, "sid": s.sid})
			return
		}
	}
	_, sid := e.nextIDs()
	res.sid = sid
	e.sessions[sid] = &emuSession{sid: sid, rid: res.id, cname: cname, uid: uid, mode: rt.mode, started: now,
		maxIdle: time.Duration(idle) * time.Second, expires: now.Add(time.Duration(res.expiredHour) * time.Hour),
		neverReady: e.neverReady, bucket: sc.Bucket}
	if fc := cr.RecordingFileConfig; fc != nil {
		e.sessions[sid].avFileType = append([]string(nil), fc.AvFileType...)
	}
	e.order = append(e.order, sid)
	writeJSON(w, http.StatusOK, startResponse{Cname: cname, UID: uid, ResourceID: res.id, SID: sid})
}

// session finds a running-or-ended session by route, answering 404 if absent.
func (e *Emulator) session(w http.ResponseWriter, rt route) *emuSession {
	s := e.sessions[rt.sid]
	if s == nil || s.rid != rt.rid || s.mode != rt.mode {
		writeJSON(w, http.StatusNotFound, map[string]any{"resourceId": rt.rid, "sid": rt.sid,
			"code": codeNotFound, "reason": "failed to find worker"})
		return nil
	}
	return s
}

func (e *Emulator) query(w http.ResponseWriter, rt route) {
	s := e.session(w, rt)
	if s == nil {
		return
	}
	now := e.nowLocked()
	st, ended := e.statusLocked(s, now)
	if !ended.IsZero() {
		writeJSON(w, http.StatusNotFound, map[string]any{"resourceId": rt.rid, "sid": rt.sid,
			"code": codeNotFound, "reason": "failed to find worker"})
		return
	}
	sr := map[string]any{"status": st}
	if st == 5 {
		sr["sliceStartTime"] = s.started.Add(e.startDelay).UnixMilli()
		e.fileList(sr, s)
	}
	writeJSON(w, http.StatusOK, map[string]any{"resourceId": s.rid, "sid": s.sid, "serverResponse": sr})
}

// fileList adds the mode's file list fields to a serverResponse.
func (e *Emulator) fileList(sr map[string]any, s *emuSession) {
	names := s.fileNames()
	switch s.mode {
	case "mix":
		if !s.mixJSON() {
			sr["fileListMode"], sr["fileList"] = "string", names[0]
			break
		}
		fl := make([]fileEntry, len(names))
		for i, n := range names {
			fl[i] = fileEntry{FileName: n, TrackType: "audio_and_video", UID: "0", MixedAllUser: true, IsPlayable: true,
				SliceStartTime: s.started.UnixMilli()}
		}
		sr["fileListMode"], sr["fileList"] = "json", fl
	case "individual":
		fl := []fileEntry{{FileName: names[0], TrackType: "audio_and_video", UID: "1001", IsPlayable: true,
			SliceStartTime: s.started.UnixMilli()}}
		sr["fileListMode"], sr["fileList"] = "json", fl
	case "web":
		sr["extensionServiceState"] = []map[string]any{{"serviceName": "web_recorder_service",
			"payload": map[string]any{"state": "inProgress", "fileList": []map[string]any{{"filename": names[0],
				"sliceStartTime": s.started.UnixMilli()}}}}}
	}
}

func (e *Emulator) stop(w http.ResponseWriter, rt route, body []byte) {
	cname, uid, ok := head(w, body)
	if !ok {
		return
	}
	s := e.session(w, rt)
	if s == nil {
		return
	}
	if s.cname != cname || s.uid != uid {
		codeErr(w, http.StatusBadRequest, codeParamMismatch, "cname or uid does not match the recording")
		return
	}
	now := e.nowLocked()
	if !s.stopped.IsZero() {
		codeErr(w, http.StatusBadRequest, codeRepeatStop, "repeated stop")
		return
	}
	st, ended := e.statusLocked(s, now)
	if !ended.IsZero() {
		writeJSON(w, http.StatusNotFound, map[string]any{"resourceId": rt.rid, "sid": rt.sid,
			"code": codeNotFound, "reason": "failed to find worker"})
		return
	}
	s.stopped = now
	if st != 5 {
		codeErr(w, http.StatusBadRequest, codeNoFile, "no recorded file")
		return
	}
	s.files = s.fileNames()
	sr := map[string]any{"uploadingStatus": "uploaded"}
	e.fileList(sr, s)
	writeJSON(w, http.StatusOK, map[string]any{"cname": s.cname, "uid": s.uid, "resourceId": s.rid, "sid": s.sid,
		"serverResponse": sr})
}

func codeErr(w http.ResponseWriter, status, code int, reason string) {
	writeJSON(w, status, map[string]any{"code": code, "reason": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
