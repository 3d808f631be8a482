package aliyunemu

// Wire facts of ApsaraVideo Live's RPC API (aliyun.md), kept here rather
// than imported from the client so the emulator checks the client instead
// of agreeing with it by construction.
const (
	APIVersion = "2016-11-01"
	// TimestampFormat is the ISO 8601 UTC form of the Timestamp parameter.
	TimestampFormat = "2006-01-02T15:04:05Z"
)

// Error codes the emulator answers with (aliyun.md §4 and the RPC common codes).
const (
	CodeTaskAlreadyStarted    = "TaskAlreadyStarted"
	CodeStreamNotFound        = "StreamNotFound"
	CodeConfigNotFound        = "CodeConfigNotFound"
	CodeConfigAlreadyExists   = "CodeConfigAlreadyExists"
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
