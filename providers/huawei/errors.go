package huawei

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Error codes (Live error-code table, APIG table, seed 002).
const (
	CodeIllegal       = "LIVE.100011001" // invalid request / resource does not exist (404)
	CodeNoPermission  = "LIVE.100011003"
	CodeHTTPSRequired = "LIVE.100011004"
	CodeUnsupported   = "LIVE.100011006"
	CodeMaintenance   = "LIVE.100011008"
	CodeTaskExists    = "LIVE.100011022" // START < 10 s after STOP, or already recording
	CodeAuthFailed    = "APIGW.0301"
	CodeThrottled     = "APIGW.0308"
)

const authHint = "authentication failed: check credentials.accessKey/secretKey and projectId, " +
	"and that this machine's clock is in sync (X-Sdk-Date must be within 15 minutes)"

// classify turns a non-2xx response into a *providers.Error. START-specific
// meanings (LIVE.100011022, 404 LIVE.100011001) are refined by the caller.
func (c *Client) classify(op string, resp *http.Response, body []byte) error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	msg := ae.Msg
	if ae.Detail != "" {
		msg += " (" + ae.Detail + ")"
	}
	if c.sk != "" {
		msg = strings.ReplaceAll(msg, c.sk, "***")
	}
	e := &providers.Error{Provider: Type, Op: op, Code: ae.Code, HTTP: resp.StatusCode,
		Message: msg, RequestID: resp.Header.Get("X-Request-Id")}
	if e.RequestID == "" {
		e.RequestID = ae.RequestID
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || ae.Code == CodeThrottled:
		e.Class = providers.Throttled
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	case resp.StatusCode >= 500 || ae.Code == CodeUnsupported || ae.Code == CodeMaintenance:
		e.Class = providers.Retryable
	case resp.StatusCode == http.StatusUnauthorized || strings.HasPrefix(ae.Code, "APIGW.") || strings.HasPrefix(ae.Code, "APIG."):
		e.Class = providers.Permanent
		e.Message = withSaid(authHint, msg)
	case ae.Code == CodeNoPermission || ae.Code == "LIVE.100011014" || resp.StatusCode == http.StatusForbidden:
		e.Class = providers.Permanent
		e.Message = withSaid("the account or IAM user lacks permission for Live recording commands", msg)
	case ae.Code == CodeHTTPSRequired:
		e.Class = providers.Permanent
		e.Message = withSaid("Huawei Live requires HTTPS: use an https:// endpoint", msg)
	default:
		e.Class = providers.Permanent
		if e.Message == "" {
			e.Message = "request rejected with HTTP " + strconv.Itoa(resp.StatusCode)
		}
	}
	return e
}

func withSaid(hint, said string) string {
	if said == "" {
		return hint
	}
	return hint + " (huawei said: " + said + ")"
}

// ruleHint tells the user what to create when no COMMAND_RECORD rule matches.
func ruleHint(s spec.Stream) string {
	return "no COMMAND_RECORD recording rule covers " + s.String() + ": create one for publish_domain " +
		strconv.Quote(s.Domain) + " with app " + strconv.Quote(s.App) + " (or \"*\") and record_type COMMAND_RECORD " +
		"(console Recording settings, or CreateRecordRule) so recording commands are accepted"
}
