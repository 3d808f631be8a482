package agora

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// Agora service codes the client acts on (agora.md §5).
const (
	codeInvalidParam    = 2
	codeRepeatStart     = 7
	codeBadRequest      = 8
	codeRepeatStop      = 49
	codeUIDBusy         = 53
	codeNotEnabled      = 62 // acquire: App ID not enabled; start: network, retry
	codeJitter          = 65
	codeTokenExpired    = 109
	codeTokenInvalid    = 110
	codeNotFound        = 404
	codeParamMismatch   = 432
	codeResourceExpired = 433
	codeNoFile          = 435
	codeExiting         = 501
	codeResourceDecrypt = 1001
	codeAppSIDMismatch  = 1003
	codeBadChannel      = 1013
	codeBadLayout       = 1028
)

// classify turns a non-2xx answer into a *providers.Error whose Code is
// Agora's service code (or the HTTP status for gateway errors) and whose
// Message says what to do.
func (p *Provider) classify(op string, status int, body []byte, hdr http.Header) *providers.Error {
	var eb errorBody
	_ = json.Unmarshal(body, &eb)
	reason := eb.Reason
	if reason == "" {
		reason = eb.Message
	}
	if reason == "" {
		reason = http.StatusText(status)
	}
	e := &providers.Error{Provider: Type, Op: op, HTTP: status, RequestID: hdr.Get("X-Request-Id"),
		Class: providers.Permanent}
	code := -1
	if eb.Code != nil {
		code = *eb.Code
		e.Code = strconv.Itoa(code)
	} else {
		e.Code = "HTTP" + strconv.Itoa(status)
	}
	msg := reason
	switch {
	case status == http.StatusTooManyRequests:
		e.Class = providers.Throttled
		e.RetryAfter = retryAfter(hdr)
		msg = reason + " (request rate above the App ID's QPS limit; lower spec.rateLimit)"
	case status >= 500:
		e.Class = providers.Retryable
	case status == http.StatusUnauthorized:
		msg = reason + ": check credentials customerId/customerSecret of provider " + p.name + " (Agora console, RESTful API keys)"
	case code < 0 && status == http.StatusBadRequest:
		msg = reason + ": check spec.appId and credentials customerId/customerSecret of provider " + p.name
	case code < 0 && status == http.StatusNotFound && strings.Contains(reason, "no Route"):
		msg = reason + ": wrong URL or method; check spec.endpoints of provider " + p.name
	case code < 0 && status == http.StatusNotFound:
		e.Class = providers.NotFound
	default:
		e.Class, msg = classifyCode(op, code, status, reason)
	}
	e.Message = p.red.scrub(msg)
	return e
}

// classifyCode maps Agora's service codes to a class and an actionable message.
func classifyCode(op string, code, status int, reason string) (providers.Class, string) {
	switch code {
	case codeInvalidParam:
		return providers.Permanent, "invalid parameter (" + reason + "): check the recording's options (mode, uid, maxIdleTime, storage)"
	case codeRepeatStart:
		return providers.Permanent, "a recording already runs on this resourceId (" + reason + ")"
	case codeBadRequest:
		return providers.Permanent, "request rejected (" + reason + "): bad headers, URL or method; check spec.endpoints"
	case codeRepeatStop, codeNotFound, codeNoFile, codeExiting:
		return providers.NotFound, reason
	case codeUIDBusy:
		return providers.AlreadyExists, "this uid already records the channel (" + reason + ")"
	case codeNotEnabled:
		if op == "acquire" {
			return providers.Permanent, "Cloud Recording is not enabled for this App ID (" + reason + "): enable it in the Agora console"
		}
		return providers.Retryable, reason
	case codeJitter:
		return providers.Retryable, "network jitter at Agora (" + reason + ")"
	case codeTokenExpired:
		return providers.Permanent, "the RTC token has expired (" + reason + "): renew the RTC token that options.token points at"
	case codeTokenInvalid:
		return providers.Permanent, "the RTC token is invalid (" + reason + "): renew the RTC token that options.token points at (it must be valid for the recorder's uids)"
	case codeParamMismatch:
		return providers.Permanent, "parameters do not match the resourceId (" + reason + ")"
	case codeResourceExpired:
		return providers.Retryable, "resourceId expired (" + reason + "): acquire again"
	case codeResourceDecrypt:
		return providers.Retryable, "resourceId could not be decrypted (" + reason + "): acquire again"
	case codeAppSIDMismatch:
		return providers.Permanent, "appId or sid does not match the resourceId (" + reason + "): check spec.appId"
	case codeBadChannel:
		return providers.Permanent, "invalid channel name (" + reason + "): check the recording's stream.channel"
	case codeBadLayout:
		return providers.Permanent, "invalid layout parameters (" + reason + ")"
	}
	if status == http.StatusNotFound {
		return providers.NotFound, reason
	}
	if op == "start" {
		return providers.Permanent, "start rejected, parameter problem (" + reason + "): check the recording's options"
	}
	return providers.Permanent, reason
}

// retryAfter reads a Retry-After header in seconds (0 if absent).
func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// codeOf returns the Agora service code carried by err, or -1.
func codeOf(err error) int {
	var pe *providers.Error
	if errors.As(err, &pe) {
		if c, e := strconv.Atoi(pe.Code); e == nil {
			return c
		}
	}
	return -1
}

// permanent builds a Permanent error for a problem found before any call.
func permanent(op, format string, a ...any) *providers.Error {
	return &providers.Error{Class: providers.Permanent, Provider: Type, Op: op, Message: fmt.Sprintf(format, a...)}
}

// redactor replaces known secret values in text that may reach users, in
// case a server ever echoes one back.
type redactor struct {
	mu   sync.Mutex
	vals map[string]struct{}
}

func (r *redactor) add(v string) {
	if len(v) < 4 { // too short to redact without mangling ordinary words
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.vals == nil {
		r.vals = map[string]struct{}{}
	}
	r.vals[v] = struct{}{}
}

func (r *redactor) scrub(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for v := range r.vals {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
