package tencentemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/recordctl/recordctl/providers/emu"
)

// apiErr is a Response.Error the emulator answers with.
type apiErr struct{ Code, Message string }

func errf(code, format string, a ...any) *apiErr {
	return &apiErr{Code: code, Message: fmt.Sprintf(format, a...)}
}

// actions are the operations the emulator serves.
var actions = map[string]func(e *Emulator, p params) (map[string]any, *apiErr){
	"CreateRecordTask":   (*Emulator).createTask,
	"StopRecordTask":     (*Emulator).stopTask,
	"DeleteRecordTask":   (*Emulator).deleteTask,
	"DescribeRecordTask": (*Emulator).describeTasks,
}

// ServeHTTP serves the admin API under /_emulator/ and the CSS API elsewhere.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) || r.URL.Path == strings.TrimSuffix(adminPrefix, "/") {
		e.serveAdmin(w, r)
		return
	}
	resp, aerr := e.serveAPI(r)
	writeResponse(w, resp, aerr)
}

// serveAPI runs one API request through the checks the service makes, in
// order: faults, protocol, common parameters, signature, rate, then the action.
func (e *Emulator) serveAPI(r *http.Request) (map[string]any, *apiErr) {
	action := r.Header.Get("X-TC-Action")
	e.mu.Lock()
	e.calls[action]++
	e.mu.Unlock()

	// Read the body first: only then does net/http notice a client that
	// hangs up, which ends an injected hang (FaultTimeout) early.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, errf(CodeInvalidParameter, "The request body could not be read.")
	}
	switch e.faults.Decide(r) {
	case emu.FaultError, emu.FaultTimeout:
		return nil, errf(CodeInternalError, "An internal error has occurred. Retry your request, but if the problem persists, contact us.")
	case emu.FaultThrottle:
		return nil, throttled(action)
	}

	if r.Method != http.MethodPost {
		return nil, errf(CodeUnsupportedProtocol, "The request method %s is not supported by this endpoint; use POST with a JSON body.", r.Method)
	}
	if r.URL.Path != "/" {
		return nil, errf(CodeInvalidAction, "The request path %q is not supported; POST to \"/\".", r.URL.Path)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, errf(CodeInvalidParameter, "The Content-Type %q is not supported; use application/json.", r.Header.Get("Content-Type"))
	}
	for _, h := range []string{"Action", "Version", "Timestamp", "Region"} {
		if r.Header.Get("X-TC-"+h) == "" {
			return nil, errf(CodeMissingParameter, "The request is missing a required parameter `%s`.", h)
		}
	}
	if v := r.Header.Get("X-TC-Version"); v != APIVersion {
		return nil, errf(CodeNoSuchVersion, "The API version `%s` does not exist.", v)
	}
	handler, ok := actions[action]
	if !ok {
		return nil, errf(CodeInvalidAction, "The action `%s` is not supported by this service.", action)
	}
	if aerr := e.checkSignature(r, body); aerr != nil {
		return nil, aerr
	}
	if !e.allow(action) {
		return nil, throttled(action)
	}
	if region := r.Header.Get("X-TC-Region"); !knownRegion(region) {
		return nil, errf(CodeUnsupportedRegion, "The region `%s` is not supported by this API.", region)
	}
	if code := popFailure(&e.mu, e.failNext, action); code != "" {
		return nil, errf(code, "%s", messageFor(code))
	}
	p, aerr := parseParams(body)
	if aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	resp, aerr := handler(e, p)
	e.mu.Unlock()
	if code := popFailure(&e.mu, e.failAfter, action); code != "" && aerr == nil {
		return nil, errf(code, "%s", messageFor(code))
	}
	return resp, aerr
}

func throttled(action string) *apiErr {
	return errf(CodeRequestLimitExceeded, "Your current request times exceeds the frequency limit `%d` for a second of %s. Please reduce the frequency of calls.", RateLimit, action)
}

// checkSignature verifies the request against the demo key pair.
func (e *Emulator) checkSignature(r *http.Request, body []byte) *apiErr {
	return verifyTC3(r, body, demoKey, e.now())
}

// demoKey is the emulator's one account: the demo key pair.
func demoKey(id string) (string, bool) {
	if id != DemoSecretID {
		return "", false
	}
	return DemoSecretKey, true
}

// authorization is a parsed TC3 Authorization header.
type authorization struct {
	secretID, date, service, signedHeaders, signature string
}

func parseAuthorization(s string) (authorization, bool) {
	var a authorization
	rest, ok := strings.CutPrefix(s, Algorithm+" ")
	if !ok {
		return a, false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 4 || f[3] != "tc3_request" {
				return a, false
			}
			a.secretID, a.date, a.service = f[0], f[1], f[2]
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	return a, a.secretID != "" && a.signedHeaders != "" && a.signature != ""
}

func knownRegion(r string) bool {
	for _, k := range Regions {
		if k == r {
			return true
		}
	}
	return false
}

// popFailure takes the next forced code for action (or for any action) from queues.
func popFailure(mu *sync.Mutex, queues map[string][]string, action string) string {
	mu.Lock()
	defer mu.Unlock()
	for _, key := range []string{action, ""} {
		if q := queues[key]; len(q) > 0 {
			queues[key] = q[1:]
			return q[0]
		}
	}
	return ""
}

// messageFor is the service's text for codes forced with FailNext.
func messageFor(code string) string {
	switch code {
	case CodeMaxRunningTask:
		return "The current number of concurrent tasks exceeds the limit."
	case CodeInvalidVodStatus:
		return "The VOD service has not been activated."
	case CodeTaskNotFound:
		return "The TaskId does not exist."
	case CodeServiceUnavailable:
		return "Service is unavailable now."
	case CodeRequestLimitExceeded:
		return "The request frequency exceeds the limit."
	}
	if strings.HasPrefix(code, CodeInternalError) {
		return "Internal error."
	}
	return "Injected error " + code + "."
}

// writeResponse writes {"Response": {...}} with HTTP 200, as the service
// does for errors too.
func writeResponse(w http.ResponseWriter, resp map[string]any, aerr *apiErr) {
	if resp == nil {
		resp = map[string]any{}
	}
	if aerr != nil {
		resp = map[string]any{"Error": map[string]string{"Code": aerr.Code, "Message": aerr.Message}}
	}
	resp["RequestId"] = newRequestID()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": resp})
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
