package huaweiemu

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// api serves one Live API request: faults, HTTPS, AK/SK signature, project, route.
func (e *Emulator) api(w http.ResponseWriter, r *http.Request) {
	reqID := e.requestID()
	w.Header().Set("X-Request-Id", reqID)
	reply := func(ae *apiErr) {
		ae.body.RequestID = reqID
		writeJSON(w, ae.status, ae.body)
	}
	switch e.cfg.Faults.Decide(r) {
	case emu.FaultError:
		reply(fail(500, "LIVE.100011000", "Internal server error", "injected fault"))
		return
	case emu.FaultThrottle:
		reply(fail(429, CodeThrottled, "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second", ""))
		return
	case emu.FaultTimeout:
		if r.Context().Err() != nil {
			return
		}
		reply(fail(504, "APIGW.0201", "Request timeout", "injected fault"))
		return
	}
	if r.TLS == nil && !loopback(r.RemoteAddr) {
		reply(fail(400, CodeHTTPSRequired, "HTTPS is required", "plain HTTP is accepted on loopback only"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		reply(fail(400, CodeIllegal, "Request Illegal", "body too large or unreadable"))
		return
	}
	project, route, ok := splitPath(r.URL.Path)
	op := route
	if route == "/record/control" {
		op = "RunRecord/" + r.URL.Query().Get("action")
	} else if route == "/record/rules" && r.Method == http.MethodPost {
		op = "CreateRecordRule"
	} else if route == "/record/rules" {
		op = "ListRecordRules"
	} else if strings.HasPrefix(route, "/record/rules/") && r.Method == http.MethodDelete {
		op = "DeleteRecordRule"
	}
	e.mu.Lock()
	e.calls[op]++
	e.mu.Unlock()
	if ae := e.authenticate(r, body, project); ae != nil {
		reply(ae)
		return
	}
	switch {
	case ok && route == "/record/control" && r.Method == http.MethodPost:
		if ae := e.runRecord(r.URL.Query().Get("action"), body); ae != nil {
			reply(ae)
			return
		}
		writeJSON(w, http.StatusOK, nil)
	case ok && route == "/record/rules" && r.Method == http.MethodGet:
		out, ae := e.listRecordRules(r)
		if ae != nil {
			reply(ae)
			return
		}
		writeJSON(w, http.StatusOK, out)
	case ok && route == "/record/rules" && r.Method == http.MethodPost:
		out, ae := e.createRecordRule(body)
		if ae != nil {
			reply(ae)
			return
		}
		writeJSON(w, http.StatusCreated, out)
	case ok && strings.HasPrefix(route, "/record/rules/") && r.Method == http.MethodDelete:
		if e.RemoveRules(strings.TrimPrefix(route, "/record/rules/"), "", "", "") == 0 {
			reply(fail(404, CodeIllegal, "The resource to access is not exists", "no recording rule has this id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		reply(fail(404, "APIGW.0101", "The API does not exist or has not been published in the environment", ""))
	}
}

// splitPath splits /v1/{project_id}/rest into project and /rest.
func splitPath(p string) (project, route string, ok bool) {
	rest, found := strings.CutPrefix(p, "/v1/")
	if !found {
		return "", p, false
	}
	project, route, found = strings.Cut(rest, "/")
	return project, "/" + route, found && project != ""
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authenticate verifies the SDK-HMAC-SHA256 signature over the headers
// the request lists, X-Sdk-Date within 15 minutes, and the project.
func (e *Emulator) authenticate(r *http.Request, body []byte, project string) *apiErr {
	deny := func(why string) *apiErr {
		return fail(401, CodeAuthFailed, "Incorrect IAM authentication information: "+why, "")
	}
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return deny(err.Error())
	}
	date, err := time.Parse(DateFormat, r.Header.Get(HeaderSdkDate))
	if err != nil {
		return deny("X-Sdk-Date is missing or not in the format " + DateFormat)
	}
	if d := e.now().Sub(date); d > MaxClockSkew || d < -MaxClockSkew {
		return deny("the request has expired: X-Sdk-Date differs from the server time by more than 15 minutes")
	}
	signsDate := false
	for _, h := range a.SignedHeaders {
		signsDate = signsDate || h == "x-sdk-date"
	}
	if !signsDate {
		return deny("x-sdk-date must be a signed header")
	}
	e.mu.Lock()
	sk, known := e.keys[a.Access]
	projectOK := e.projects[project]
	e.mu.Unlock()
	if !known {
		return deny("ak " + a.Access + " not exist")
	}
	want := expectedSignature(r, body, a.SignedHeaders, sk)
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return deny("verify aksk signature fail")
	}
	if !projectOK || r.Header.Get("X-Project-Id") != project {
		return deny("project id " + strconv.Quote(project) + " is not a project of this account or does not match X-Project-Id")
	}
	return nil
}

// runRecord applies START or STOP to one stream.
func (e *Emulator) runRecord(action string, body []byte) *apiErr {
	if action != "START" && action != "STOP" {
		return fail(400, CodeIllegal, "Request Illegal", "action must be START or STOP")
	}
	var b controlBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return fail(400, CodeIllegal, "Request Illegal", "body is not valid JSON")
	}
	for name, v := range map[string]string{"publish_domain": b.PublishDomain, "app": b.App, "stream": b.Stream} {
		if v == "" {
			return fail(400, CodeIllegal, "Request Illegal", name+" is required")
		}
	}
	s := spec.Stream{Domain: b.PublishDomain, App: b.App, Name: b.Stream}
	key := streamKey(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.advanceLocked(now)
	if !e.hasRuleLocked(s) {
		return fail(404, CodeIllegal, "The resource to access is not exists", "no COMMAND_RECORD rule matches the stream")
	}
	if action == "STOP" {
		e.lastStop[key] = now
		if rec := e.active[key]; rec != nil {
			rec.Ended, rec.EndReason = now, "stop"
			delete(e.active, key)
		}
		return nil
	}
	if e.active[key] != nil {
		return fail(400, CodeTaskExists, "Record task exist", "")
	}
	if last, ok := e.lastStop[key]; ok && now.Sub(last) <= MinRestartGap {
		return fail(400, CodeTaskExists, "Record task exist", "")
	}
	if _, off := e.offline[key]; off {
		return fail(404, CodeIllegal, "The resource to access is not exists", "the stream is not being pushed")
	}
	rec := &Recording{Stream: s, Started: now}
	e.active[key] = rec
	e.recs = append(e.recs, rec)
	return nil
}

// listRecordRules serves GET /record/rules with filters and offset/limit paging.
func (e *Emulator) listRecordRules(r *http.Request) (map[string]any, *apiErr) {
	q := r.URL.Query()
	offset, limit := 0, 10
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fail(400, CodeIllegal, "Invalid request parameter: offset", "offset must be an integer >= 0")
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, fail(400, CodeIllegal, "Invalid request parameter: limit", "limit must be 1-100")
		}
		limit = n
	}
	e.mu.Lock()
	var match []RecordRule
	for _, rule := range e.rules {
		if f := q.Get("publish_domain"); f != "" && f != rule.PublishDomain ||
			q.Get("app") != "" && q.Get("app") != rule.App ||
			q.Get("stream") != "" && q.Get("stream") != rule.Stream ||
			q.Get("record_type") != "" && q.Get("record_type") != rule.RecordType {
			continue
		}
		match = append(match, rule)
	}
	e.mu.Unlock()
	page := []RecordRule{}
	for i := offset; i < len(match) && i < offset+limit; i++ {
		page = append(page, match[i])
	}
	return map[string]any{"total": len(match), "record_config": page}, nil
}

// createRecordRule serves CreateRecordRule (POST /record/rules): a rule
// for publish_domain/app/stream ("*" for any app or stream) of a
// record_type (default CONTINUOUS_RECORD, as documented). A second rule
// with the same domain, app, stream and type is refused as Huawei refuses
// invalid requests, LIVE.100011001 with an error_detail.
func (e *Emulator) createRecordRule(body []byte) (RecordRule, *apiErr) {
	var b struct {
		PublishDomain string `json:"publish_domain"`
		App           string `json:"app"`
		Stream        string `json:"stream"`
		RecordType    string `json:"record_type"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return RecordRule{}, fail(400, CodeIllegal, "Invalid request parameter", "body is not valid JSON")
	}
	for name, v := range map[string]string{"publish_domain": b.PublishDomain, "app": b.App, "stream": b.Stream} {
		if v == "" {
			return RecordRule{}, fail(400, CodeIllegal, "Invalid request parameter", name+" is required")
		}
	}
	if b.RecordType == "" {
		b.RecordType = "CONTINUOUS_RECORD"
	}
	switch b.RecordType {
	case "CONTINUOUS_RECORD", "COMMAND_RECORD", "PLAN_RECORD", "ON_DEMAND_RECORD":
	default:
		return RecordRule{}, fail(400, CodeIllegal, "Invalid request parameter", "record_type must be CONTINUOUS_RECORD, COMMAND_RECORD, PLAN_RECORD or ON_DEMAND_RECORD")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		if r.PublishDomain == b.PublishDomain && r.App == b.App && r.Stream == b.Stream && r.RecordType == b.RecordType {
			return RecordRule{}, fail(400, CodeIllegal, "Invalid request parameter", "a recording rule for this domain, app, stream and record_type already exists")
		}
	}
	return e.addRuleLocked(b.PublishDomain, b.App, b.Stream, b.RecordType), nil
}
