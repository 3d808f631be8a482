package aliyun

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// Codes the client classifies (seed 003 table, older doc table, SDK).
const (
	CodeTaskAlreadyStarted    = "TaskAlreadyStarted"
	CodeStreamNotFound        = "StreamNotFound"
	CodeInvalidStreamNF       = "InvalidStream.NotFound"
	CodeConfigNotFound        = "CodeConfigNotFound"
	CodeInvalidConfigNF       = "InvalidConfig.NotFound"
	CodeInvalidDomainNF       = "InvalidDomain.NotFound"
	CodeMissingParam          = "MissingParam"
	CodeMalformedParam        = "MalformedParam"
	CodeInternalError         = "InternalError"
	CodeServiceUnavailable    = "ServiceUnavailable"
	CodeThrottlingUser        = "Throttling.User"
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	CodeTimestampExpired      = "InvalidTimeStamp.Expired"
	CodeTimestampFormat       = "InvalidTimeStamp.Format"
	CodeNonceUsed             = "SignatureNonceUsed"
	CodeAccessKeyNotFound     = "InvalidAccessKeyId.NotFound"
)

// hints tell the user what to fix for permanent errors.
var hints = map[string]string{
	CodeConfigNotFound: "the stream's domain/app has no recording configuration: add one (console or AddLiveAppRecordConfig) " +
		"for this domain and app with OnDemand=7 (manual recording only) so RealTimeRecordCommand can record it",
	CodeInvalidDomainNF:           "the domain is not an ingest domain of this account: check stream.domain",
	CodeMissingParam:              "a required parameter is missing: check stream domain, app and name",
	CodeMalformedParam:            "a parameter is malformed: check stream domain, app and name",
	CodeSignatureDoesNotMatch:     "the request signature was rejected: check credentials.accessKeySecret belongs to credentials.accessKeyId",
	CodeTimestampExpired:          "the request timestamp is outside the accepted window: synchronise this machine's clock (NTP)",
	CodeTimestampFormat:           "the request timestamp was rejected: synchronise this machine's clock",
	CodeNonceUsed:                 "a signature nonce was reused: retry the request",
	CodeAccessKeyNotFound:         "the AccessKey ID is unknown: check credentials.accessKeyId",
	"InvalidAccessKeyId.Inactive": "the AccessKey is disabled: enable it or use another one",
	"Forbidden.RAM":               "the RAM user lacks live:RealTimeRecordCommand permission",
}

// classify turns a non-2xx response into a *providers.Error.
func (c *Client) classify(op string, resp *http.Response, body []byte) error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	e := &providers.Error{
		Provider: Type, Op: op, Code: ae.Code, HTTP: resp.StatusCode,
		Message: c.scrub(ae.Message), RequestID: ae.RequestID,
	}
	switch code := ae.Code; {
	case code == CodeTaskAlreadyStarted:
		e.Class = providers.AlreadyExists
		e.Message = "the stream is already being recorded; adopting the recording"
	case code == CodeStreamNotFound || code == CodeInvalidStreamNF:
		e.Class = providers.StreamOffline
		e.Message = "the stream is not being pushed yet; waiting for the stream to be pushed"
	case code == "Throttling" || strings.HasPrefix(code, "Throttling.") || resp.StatusCode == http.StatusTooManyRequests:
		e.Class = providers.Throttled
		e.RetryAfter = throttleRetryAfter(resp.Header)
		if e.Message == "" {
			e.Message = "request rate limit reached"
		}
	case resp.StatusCode >= 500 || code == CodeInternalError || code == CodeServiceUnavailable:
		e.Class = providers.Retryable
		if e.Message == "" {
			e.Message = "server error " + strconv.Itoa(resp.StatusCode)
		}
	default:
		e.Class = providers.Permanent
		if code == CodeInvalidConfigNF {
			code = CodeConfigNotFound
		}
		if h, ok := hints[code]; ok {
			if e.Message != "" {
				h += " (aliyun said: " + e.Message + ")"
			}
			e.Message = h
		} else if e.Message == "" {
			e.Message = "request rejected with HTTP " + strconv.Itoa(resp.StatusCode)
		}
	}
	return e
}

// throttleRetryAfter reads TimeLeft (milliseconds) from x-ratelimit-user-api
// and x-ratelimit-user ("Limit:50,Remain:0,TimeLeft:2000,Reset:..."), as the
// darabonba SDK does; the larger wins. 0 when absent.
func throttleRetryAfter(h http.Header) time.Duration {
	best := int64(0)
	for _, name := range []string{"x-ratelimit-user-api", "x-ratelimit-user"} {
		for _, pair := range strings.Split(h.Get(name), ",") {
			k, v, ok := strings.Cut(pair, ":")
			if !ok || strings.TrimSpace(k) != "TimeLeft" {
				continue
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > best {
				best = n
			}
		}
	}
	return time.Duration(best) * time.Millisecond
}
