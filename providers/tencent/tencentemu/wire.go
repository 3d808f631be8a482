package tencentemu

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// Wire facts of the CSS recording-task API (tencent.md), kept here rather
// than imported from the client so the emulator checks the client instead
// of agreeing with it by construction.
const (
	APIVersion = "2018-08-01"
	// Algorithm is the name of Tencent Cloud's API 3.0 signature scheme.
	Algorithm = "TC3-HMAC-SHA256"
	// Service is the credential-scope service name of the CSS (live) API.
	Service = "live"

	MaxTaskDuration = 24 * time.Hour     // EndTime - StartTime
	MaxEndAhead     = 7 * 24 * time.Hour // EndTime < now + 7 days
	MaxOverlap      = 3                  // overlapping tasks per stream
	MaxQueryWindow  = 7 * 24 * time.Hour // DescribeRecordTask window
	RateLimit       = 20                 // requests/s per API
	// retention is how long the service keeps task records.
	retention = 90 * 24 * time.Hour
)

// Error codes the emulator answers with (API 3.0 common codes and the CSS
// recording-task codes of tencent.md §4).
const (
	CodeInternalError        = "InternalError"
	CodeServiceUnavailable   = "ServiceUnavailable"
	CodeRequestLimitExceeded = "RequestLimitExceeded"
	CodeSignatureExpire      = "AuthFailure.SignatureExpire"
	CodeSignatureFailure     = "AuthFailure.SignatureFailure"
	CodeSecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	CodeInvalidAuthorization = "AuthFailure.InvalidAuthorization"
	CodeInvalidParameter     = "InvalidParameter"
	CodeInvalidParamValue    = "InvalidParameterValue"
	CodeMissingParameter     = "MissingParameter"
	CodeUnknownParameter     = "UnknownParameter"
	CodeMaxRunningTask       = "LimitExceeded.MaximumRunningTask"
	CodeInvalidVodStatus     = "ResourceUnavailable.InvalidVodStatus"
	CodeTaskNotFound         = "ResourceNotFound.TaskId"
	CodeUnsupportedRegion    = "UnsupportedRegion"
	CodeUnsupportedProtocol  = "UnsupportedProtocol"
	CodeInvalidAction        = "InvalidAction"
	CodeNoSuchVersion        = "NoSuchVersion"
)

// Regions serve the recording task APIs (tencent.md §1, current docs):
// ap-beijing and ap-shanghai do not, and get UnsupportedRegion as there.
var Regions = []string{
	"ap-bangkok", "ap-guangzhou", "ap-hongkong", "ap-jakarta", "ap-mumbai", "ap-seoul",
	"ap-singapore", "ap-tokyo", "eu-frankfurt", "na-ashburn", "na-siliconvalley",
	"na-toronto", "sa-saopaulo",
}

// statusAt derives a task's status from the clock: the service reports none.
func statusAt(now, start, end, stopped time.Time) providers.Status {
	switch {
	case !stopped.IsZero():
		return providers.StatusStopped
	case now.Before(start):
		return providers.StatusScheduled
	case now.Before(end):
		return providers.StatusRecording
	}
	return providers.StatusFinished
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
