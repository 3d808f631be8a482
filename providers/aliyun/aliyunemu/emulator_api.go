package aliyunemu

import (
	"crypto/subtle"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// api serves one RPC request: faults, common parameters, signature,
// timestamp window, nonce reuse, throttling, then the action.
func (e *Emulator) api(w http.ResponseWriter, r *http.Request) {
	reqID := e.requestID()
	switch e.cfg.Faults.Decide(r) {
	case emu.FaultError:
		e.writeErr(w, reqID, fail(500, CodeInternalError, "The request processing has failed due to some unknown error."))
		return
	case emu.FaultThrottle:
		e.writeErr(w, reqID, e.throttled())
		return
	case emu.FaultTimeout:
		if r.Context().Err() != nil {
			return
		}
		e.writeErr(w, reqID, fail(503, CodeServiceUnavailable, "The request has failed due to a temporary failure of the server."))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		e.writeErr(w, reqID, fail(405, "UnsupportedHTTPMethod", "This http method is not supported."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		e.writeErr(w, reqID, fail(400, CodeMalformedParam, "The request parameters could not be parsed."))
		return
	}
	params := make(map[string]string, len(r.Form))
	for k, v := range r.Form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	e.count(params)
	if ae := e.authenticate(r.Method, params); ae != nil {
		e.writeErr(w, reqID, ae)
		return
	}
	var (
		out any
		ae  *apiErr
	)
	switch params["Action"] {
	case "RealTimeRecordCommand":
		if ae = e.admit(params["AccessKeyId"]); ae == nil {
			ae = e.realTimeRecordCommand(params)
		}
	case "DescribeLiveRecordConfig":
		out, ae = e.describeLiveRecordConfig(params)
	case "AddLiveAppRecordConfig":
		ae = e.addLiveAppRecordConfig(params)
	case "DeleteLiveAppRecordConfig":
		ae = e.deleteLiveAppRecordConfig(params)
	case "DescribeLiveStreamsOnlineList":
		out, ae = e.describeLiveStreamsOnlineList(params)
	default:
		ae = fail(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	}
	if ae != nil {
		e.writeErr(w, reqID, ae)
		return
	}
	resp := map[string]any{"RequestId": reqID}
	if m, ok := out.(map[string]any); ok {
		for k, v := range m {
			resp[k] = v
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// count records one call per Action (and Command for RealTimeRecordCommand).
func (e *Emulator) count(p map[string]string) {
	op := p["Action"]
	if op == "RealTimeRecordCommand" {
		op += "/" + p["Command"]
	}
	e.mu.Lock()
	e.calls[op]++
	e.mu.Unlock()
}

// authenticate checks the common parameters and the HMAC-SHA1 signature.
func (e *Emulator) authenticate(method string, p map[string]string) *apiErr {
	for _, k := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
		"SignatureVersion", "SignatureNonce", "Timestamp"} {
		if p[k] == "" {
			return fail(400, CodeMissingParam, "The input parameter %q that is mandatory for processing this request is not supplied.", k)
		}
	}
	if p["SignatureMethod"] != "HMAC-SHA1" || p["SignatureVersion"] != "1.0" {
		return fail(400, "InvalidSignatureMethod.Malformed", "Specified signature method or version is not supported.")
	}
	ts, err := time.Parse(TimestampFormat, p["Timestamp"])
	if err != nil {
		return fail(400, CodeTimestampFormat, "Specified time stamp or date value is not well formatted.")
	}
	now := e.now()
	if d := now.Sub(ts); d > TimestampWindow || d < -TimestampWindow {
		return fail(400, CodeTimestampExpired, "Specified time stamp or date value is expired.")
	}
	e.mu.Lock()
	secret, ok := e.keys[p["AccessKeyId"]]
	e.mu.Unlock()
	if !ok {
		return fail(404, CodeAccessKeyNotFound, "Specified access key is not found.")
	}
	want := SignRPC(method, p, secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p["Signature"])) != 1 {
		return fail(400, CodeSignatureDoesNotMatch, "Specified signature is not matched with our calculation. "+
			"server string to sign is:%s", StringToSign(method, p))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, exp := range e.nonces {
		if now.After(exp) {
			delete(e.nonces, k)
		}
	}
	nk := p["AccessKeyId"] + "|" + p["SignatureNonce"]
	if _, used := e.nonces[nk]; used {
		return fail(400, CodeNonceUsed, "Specified signature nonce was used already.")
	}
	e.nonces[nk] = now.Add(TimestampWindow)
	if p["Version"] != APIVersion {
		return fail(400, "InvalidVersion", "Specified parameter Version is not valid.")
	}
	return nil
}

// admit applies the per-account QPS limit on the emulator clock (1 s buckets).
func (e *Emulator) admit(ak string) *apiErr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.qps <= 0 {
		return nil
	}
	sec := e.now().Unix()
	if sec != e.qpsSec {
		e.qpsSec, e.qpsCount = sec, map[string]int{}
	}
	if e.qpsCount[ak] >= e.qps {
		return e.throttledLocked()
	}
	e.qpsCount[ak]++
	return nil
}

func (e *Emulator) throttled() *apiErr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.throttledLocked()
}

// throttledLocked is Throttling.User with the SDK's x-ratelimit headers
// (TimeLeft in ms until the next second).
func (e *Emulator) throttledLocked() *apiErr {
	now := e.now()
	next := now.Truncate(time.Second).Add(time.Second)
	left := next.Sub(now).Milliseconds()
	if left <= 0 {
		left = 1
	}
	ae := fail(400, CodeThrottlingUser, "Request was denied due to user flow control.")
	ae.header = http.Header{}
	ae.header.Set("x-ratelimit-user-api", "Limit:"+strconv.Itoa(e.qps)+",Remain:0,TimeLeft:"+
		strconv.FormatInt(left, 10)+",Reset:"+strconv.FormatInt(next.Unix(), 10))
	return ae
}

// realTimeRecordCommand applies start/stop/cancel_delay/restart to one stream.
func (e *Emulator) realTimeRecordCommand(p map[string]string) *apiErr {
	for _, k := range []string{"Command", "DomainName", "AppName", "StreamName"} {
		if p[k] == "" {
			return fail(400, CodeMissingParam, "The input parameter %q that is mandatory for processing this request is not supplied.", k)
		}
	}
	s := spec.Stream{Domain: p["DomainName"], App: p["AppName"], Name: p["StreamName"]}
	key := streamKey(s)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.finalizeLocked(now)
	switch cmd := p["Command"]; cmd {
	case "start", "restart":
		if !e.hasConfigLocked(s.Domain, s.App) {
			return fail(400, CodeConfigNotFound, "The recording configuration for domain %s app %s does not exist.", s.Domain, s.App)
		}
		if e.isOfflineLocked(key) {
			return fail(409, CodeStreamNotFound, "The stream %s is not being pushed.", key)
		}
		if cur := e.active[key]; cur != nil {
			if cmd == "start" {
				return fail(409, CodeTaskAlreadyStarted, "Task has already started.")
			}
			e.endLocked(key, now, "restart", now)
		}
		rec := &Recording{Stream: s, Started: now}
		e.active[key] = rec
		e.recs = append(e.recs, rec)
	case "stop":
		if e.active[key] != nil {
			e.endLocked(key, now, "stop", now.Add(FinalizeDelay))
		}
	case "cancel_delay":
		for _, rec := range e.recs {
			if streamKey(rec.Stream) == key && !rec.Ended.IsZero() && rec.File == "" {
				rec.FinalizeAt = now
			}
		}
		e.finalizeLocked(now)
	default:
		return fail(400, CodeMalformedParam, "The specified parameter \"Command\" is not valid.")
	}
	return nil
}

// describeLiveRecordConfig lists the recording configurations of a domain.
func (e *Emulator) describeLiveRecordConfig(p map[string]string) (map[string]any, *apiErr) {
	if p["DomainName"] == "" {
		return nil, fail(400, CodeMissingParam, "The input parameter \"DomainName\" that is mandatory for processing this request is not supplied.")
	}
	num, size := 1, 10
	if v := p["PageNum"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fail(400, CodeMalformedParam, "The specified parameter \"PageNum\" is not valid.")
		}
		num = n
	}
	if v := p["PageSize"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, fail(400, CodeMalformedParam, "The specified parameter \"PageSize\" is not valid.")
		}
		size = n
	}
	e.mu.Lock()
	var apps []string
	for k := range e.configs {
		d, a := splitConfig(k)
		if d == p["DomainName"] && (p["AppName"] == "" || p["AppName"] == a) {
			apps = append(apps, a)
		}
	}
	e.mu.Unlock()
	sort.Strings(apps)
	list := []map[string]any{}
	for i := (num - 1) * size; i < len(apps) && i < num*size; i++ {
		list = append(list, map[string]any{
			"DomainName": p["DomainName"], "AppName": apps[i], "StreamName": "",
			"OnDemond": 7, "OssBucket": "emulator-bucket", "OssEndpoint": "oss-cn-shanghai.aliyuncs.com",
			"CreateTime": "2024-01-01T00:00:00Z",
		})
	}
	return map[string]any{
		"PageNum": num, "PageSize": size, "TotalNum": len(apps), "TotalPage": (len(apps) + size - 1) / size,
		"Order": "asc", "LiveAppRecordList": map[string]any{"LiveAppRecord": list},
	}, nil
}

// required answers MissingParam for the first empty parameter of names.
func required(p map[string]string, names ...string) *apiErr {
	for _, k := range names {
		if p[k] == "" {
			return fail(400, CodeMissingParam, "The input parameter %q that is mandatory for processing this request is not supplied.", k)
		}
	}
	return nil
}

// addLiveAppRecordConfig creates the recording configuration of a domain
// and app (the prerequisite of RealTimeRecordCommand). A second one for the
// same domain and app is refused with CodeConfigAlreadyExists. The emulator
// keeps configurations per domain and app; StreamName, formats and OnDemand
// are accepted and not modelled (every configuration is manual-only, 7).
func (e *Emulator) addLiveAppRecordConfig(p map[string]string) *apiErr {
	if ae := required(p, "DomainName", "AppName", "OssEndpoint", "OssBucket"); ae != nil {
		return ae
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := p["DomainName"] + "/" + p["AppName"]
	if e.configs[k] {
		return fail(400, CodeConfigAlreadyExists, "Code Config Already Exists")
	}
	e.configs[k] = true
	return nil
}

// deleteLiveAppRecordConfig removes a configuration; an absent one is
// CodeConfigNotFound. Recordings already running are not affected.
func (e *Emulator) deleteLiveAppRecordConfig(p map[string]string) *apiErr {
	if ae := required(p, "DomainName", "AppName"); ae != nil {
		return ae
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := p["DomainName"] + "/" + p["AppName"]
	if !e.configs[k] {
		return fail(400, CodeConfigNotFound, "No config found")
	}
	delete(e.configs, k)
	return nil
}

// describeLiveStreamsOnlineList lists the streams of a domain that are
// being pushed. The emulator treats every stream as pushed until marked
// offline, so it lists the streams it knows (recorded at least once, or
// named by StreamName) that are not offline, in the documented shape.
func (e *Emulator) describeLiveStreamsOnlineList(p map[string]string) (map[string]any, *apiErr) {
	if ae := required(p, "DomainName"); ae != nil {
		return nil, ae
	}
	num, size := 1, 2000
	for _, f := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"PageNum", &num, 1, 1 << 30}, {"PageSize", &size, 1, 3000}} {
		if v := p[f.name]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < f.min || n > f.max {
				return nil, fail(400, CodeMalformedParam, "The specified parameter %q is not valid.", f.name)
			}
			*f.dst = n
		}
	}
	e.mu.Lock()
	known := map[string]spec.Stream{}
	for _, r := range e.recs {
		known[streamKey(r.Stream)] = r.Stream
	}
	if p["AppName"] != "" && p["StreamName"] != "" {
		s := spec.Stream{Domain: p["DomainName"], App: p["AppName"], Name: p["StreamName"]}
		known[streamKey(s)] = s
	}
	var online []spec.Stream
	for k, s := range known {
		if s.Domain == p["DomainName"] && (p["AppName"] == "" || s.App == p["AppName"]) &&
			(p["StreamName"] == "" || s.Name == p["StreamName"]) && !e.isOfflineLocked(k) {
			online = append(online, s)
		}
	}
	e.mu.Unlock()
	sort.Slice(online, func(i, j int) bool { return streamKey(online[i]) < streamKey(online[j]) })
	list := []map[string]any{}
	for i := (num - 1) * size; i < len(online) && i < num*size; i++ {
		s := online[i]
		list = append(list, map[string]any{
			"DomainName": s.Domain, "PublishDomain": s.Domain, "AppName": s.App, "StreamName": s.Name,
			"PublishUrl": "rtmp://" + s.Domain + "/" + s.App + "/" + s.Name, "PublishType": "edge",
			"PublishTime": "2024-01-01T00:00:00Z",
		})
	}
	return map[string]any{
		"PageNum": num, "PageSize": size, "TotalNum": len(online), "TotalPage": (len(online) + size - 1) / size,
		"OnlineInfo": map[string]any{"LiveStreamOnlineInfo": list},
	}, nil
}
