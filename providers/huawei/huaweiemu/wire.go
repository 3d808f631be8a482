package huaweiemu

import (
	"time"

	"github.com/recordctl/recordctl/spec"
)

// Wire facts of Huawei Cloud Live (huawei.md), kept here rather than
// imported from the client so the emulator checks the client instead of
// agreeing with it by construction.
const (
	// MinRestartGap: a START less than 10 s after the STOP of the same
	// stream is refused with CodeTaskExists.
	MinRestartGap = 10 * time.Second
	// HeaderSdkDate carries the signing time in DateFormat.
	HeaderSdkDate = "X-Sdk-Date"
	// DateFormat is X-Sdk-Date's layout (UTC).
	DateFormat = "20060102T150405Z"
)

// Error codes the emulator answers with (huawei.md §4).
const (
	CodeIllegal       = "LIVE.100011001" // invalid request / resource does not exist (404)
	CodeHTTPSRequired = "LIVE.100011004"
	CodeTaskExists    = "LIVE.100011022" // START < 10 s after STOP, or already recording
	CodeAuthFailed    = "APIGW.0301"
	CodeThrottled     = "APIGW.0308"
)

// RecordRule is one recording rule as ListRecordRules returns it.
type RecordRule struct {
	ID            string `json:"id"`
	PublishDomain string `json:"publish_domain"`
	App           string `json:"app"`
	Stream        string `json:"stream"`
	RecordType    string `json:"record_type"`
	CreateTime    string `json:"create_time,omitempty"`
	UpdateTime    string `json:"update_time,omitempty"`
}

// Matches reports whether the rule covers s ("*" matches any app/stream).
func (r RecordRule) Matches(s spec.Stream) bool {
	return r.PublishDomain == s.Domain && (r.App == s.App || r.App == "*") && (r.Stream == s.Name || r.Stream == "*")
}

// apiError is the body of every error answer.
type apiError struct {
	Code      string `json:"error_code"`
	Msg       string `json:"error_msg"`
	Detail    string `json:"error_detail"`
	RequestID string `json:"request_id"`
}

// controlBody is RunRecord's request body.
type controlBody struct {
	PublishDomain string `json:"publish_domain"`
	App           string `json:"app"`
	Stream        string `json:"stream"`
}
