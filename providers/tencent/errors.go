package tencent

import (
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// Error codes the client and emulator share (Tencent API 3.0 common codes and
// the CSS recording-task codes of tencent.md §4).
const (
	CodeInternalError        = "InternalError"
	CodeServiceUnavailable   = "ServiceUnavailable"
	CodeRequestLimitExceeded = "RequestLimitExceeded"
	CodeSignatureExpire      = "AuthFailure.SignatureExpire"
	CodeSignatureFailure     = "AuthFailure.SignatureFailure"
	CodeSecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	CodeInvalidSecretID      = "AuthFailure.InvalidSecretId"
	CodeTokenFailure         = "AuthFailure.TokenFailure"
	CodeInvalidAuthorization = "AuthFailure.InvalidAuthorization"
	CodeUnauthorized         = "AuthFailure.UnauthorizedOperation"
	CodeInvalidParameter     = "InvalidParameter"
	CodeInvalidParamValue    = "InvalidParameterValue"
	CodeMissingParameter     = "MissingParameter"
	CodeUnknownParameter     = "UnknownParameter"
	CodeMaxRunningTask       = "LimitExceeded.MaximumRunningTask"
	CodeInvalidVodStatus     = "ResourceUnavailable.InvalidVodStatus"
	CodeTaskNotFound         = "ResourceNotFound.TaskId"
	CodeForbidService        = "ResourceNotFound.ForbidService"
	CodeFreezeService        = "ResourceNotFound.FreezeService"
	CodeStopService          = "ResourceNotFound.StopService"
	CodeUserDisableService   = "ResourceNotFound.UserDisableService"
	CodeUnsupportedOperation = "UnsupportedOperation"
	CodeUnsupportedRegion    = "UnsupportedRegion"
	CodeUnsupportedProtocol  = "UnsupportedProtocol"
	CodeInvalidAction        = "InvalidAction"
	CodeNoSuchVersion        = "NoSuchVersion"
	CodeActionOffline        = "ActionOffline"
)

// throttleRetryAfter is the hint for RequestLimitExceeded: limits are per second.
const throttleRetryAfter = time.Second

// rule is how one code is classified and what the user is told to do.
type rule struct {
	class providers.Class
	hint  string
}

const credHint = "check credentials.secretId and credentials.secretKey of this Provider (an API key pair from https://console.cloud.tencent.com/cam/capi)"

// rules maps every documented code to its class; prefixes are matched in
// classify for codes not listed exactly.
var rules = map[string]rule{
	CodeInternalError:        {providers.Retryable, "temporary error at Tencent Cloud; will retry"},
	CodeServiceUnavailable:   {providers.Retryable, "Tencent Cloud is temporarily unavailable; will retry"},
	CodeRequestLimitExceeded: {providers.Throttled, "request rate limit (20/s) reached; lower the Provider's rateLimit if this persists"},
	CodeSignatureExpire: {providers.Retryable, "the request timestamp is more than 5 minutes away from Tencent Cloud's clock: " +
		"synchronise this machine's clock (NTP); will retry"},
	CodeSignatureFailure:     {providers.Permanent, "signature rejected: " + credHint + "; make sure the secretKey belongs to the secretId and has no stray whitespace"},
	CodeSecretIDNotFound:     {providers.Permanent, "the secretId does not exist or was deleted: " + credHint},
	CodeInvalidSecretID:      {providers.Permanent, "the secretId is not a valid cloud API key: " + credHint},
	CodeTokenFailure:         {providers.Permanent, "the temporary credential token is invalid or expired: use a long-lived API key pair"},
	CodeInvalidAuthorization: {providers.Permanent, "the Authorization header was rejected: " + credHint},
	CodeInvalidParameter: {providers.Permanent, "the service rejected a parameter: check the Recording's stream (domain/app/name), " +
		"its window (EndTime within 7 days from now, at most 24 h per task) and options (templateId must exist, streamType 0 or 1)"},
	CodeInvalidParamValue: {providers.Permanent, "the service rejected a parameter value: check the Recording's stream and options (templateId, streamType 0 or 1, extension)"},
	CodeMissingParameter:  {providers.Permanent, "recordctl sent an incomplete request; please report this as a bug"},
	CodeUnknownParameter:  {providers.Permanent, "recordctl sent a parameter the service does not know; please report this as a bug"},
	CodeMaxRunningTask: {providers.Permanent, "at most 3 overlapping recording tasks per stream: remove overlapping windows " +
		"or delete tasks created outside recordctl for this stream"},
	CodeInvalidVodStatus: {providers.Permanent, "recordings are stored in VOD, which is not activated for this account: " +
		"activate VOD at https://console.cloud.tencent.com/vod"},
	CodeTaskNotFound:       {providers.NotFound, "the task does not exist (deleted or older than 3 months)"},
	CodeForbidService:      {providers.Permanent, "the CSS (live) service is forbidden for this account: contact Tencent Cloud support"},
	CodeFreezeService:      {providers.Permanent, "the CSS (live) service is frozen for this account: check the account status in the console"},
	CodeStopService:        {providers.Permanent, "the CSS (live) service is suspended because the account is in arrears: top up the account"},
	CodeUserDisableService: {providers.Permanent, "the CSS (live) service was disabled on this account: re-enable it in the console"},
	CodeUnsupportedOperation: {providers.Permanent, "operation not supported for this task or account: recording tasks cannot be mixed " +
		"with the legacy CreateLiveRecord API on the same stream"},
	CodeUnsupportedProtocol: {providers.Permanent, "the endpoint rejected the request protocol: check the Provider's endpoint"},
	CodeInvalidAction:       {providers.Permanent, "the endpoint does not offer this API: check that the Provider's endpoint is Tencent CSS (https://live.tencentcloudapi.com)"},
	CodeNoSuchVersion:       {providers.Permanent, "the endpoint does not offer API version " + APIVersion + ": check the Provider's endpoint"},
	CodeActionOffline:       {providers.Permanent, "the API was taken offline by Tencent Cloud; recordctl needs an update"},
}

// prefixRules classify the sub-codes of a family (InternalError.NetworkError, ...).
var prefixRules = []struct {
	prefix string
	rule
}{
	{"InternalError.", rules[CodeInternalError]},
	{"RequestLimitExceeded.", rules[CodeRequestLimitExceeded]},
	{"AuthFailure.", rule{providers.Permanent, "authentication failed: " + credHint + ", and that the CAM user may call live:*RecordTask"}},
	{"InvalidParameter", rules[CodeInvalidParameter]},
	{"ResourceNotFound.", rule{providers.Permanent, "the account's CSS (live) service is not usable: check it in the Tencent Cloud console"}},
	{"ResourceUnavailable.", rule{providers.Permanent, "a resource the task needs is unavailable: check the account's CSS and VOD services"}},
	{"LimitExceeded.", rule{providers.Permanent, "an account limit was reached: check the Tencent Cloud console"}},
	{"UnsupportedOperation.", rules[CodeUnsupportedOperation]},
}

// classify turns a Response.Error into a classified *providers.Error whose
// message says what to do; secrets are scrubbed from the service's text.
func (c *Client) classify(op, code, msg, requestID string) *providers.Error {
	r, ok := rules[code]
	if !ok {
		r = rule{providers.Permanent, "unexpected error code from Tencent Cloud"}
		for _, p := range prefixRules {
			if strings.HasPrefix(code, p.prefix) {
				r = p.rule
				break
			}
		}
	}
	hint := r.hint
	switch code {
	case CodeUnsupportedRegion:
		r.class = providers.Permanent
		hint = "region " + c.region + " does not offer recording tasks: use one of " + strings.Join(regions, ", ")
	case CodeUnauthorized:
		hint = "the CAM user behind this secretId may not call live:" + op + ": grant it in CAM (https://console.cloud.tencent.com/cam)"
	}
	e := &providers.Error{
		Class:     r.class,
		Provider:  Type,
		Op:        op,
		Code:      code,
		Message:   c.scrub(joinMsg(msg, hint)),
		HTTP:      200,
		RequestID: requestID,
	}
	if r.class == providers.Throttled {
		e.RetryAfter = throttleRetryAfter
	}
	return e
}

func joinMsg(msg, hint string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return hint
	}
	return strings.TrimRight(msg, ".") + "; " + hint
}

// scrub removes credential values from text that came from the network.
func (c *Client) scrub(s string) string {
	for _, secret := range []string{c.signer.SecretKey, c.signer.SecretID} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
