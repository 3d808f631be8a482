// Package tencent is the Tencent Cloud CSS (live) provider: a client for the
// recording-task API (CreateRecordTask, StopRecordTask, DeleteRecordTask,
// DescribeRecordTask, version 2018-08-01) with its TC3-HMAC-SHA256 signer,
// and a wire-compatible emulator for tests and `recordctl emulate`.
//
// Provider document: region (required), endpoint (default
// https://live.tencentcloudapi.com), credentials secretId and secretKey.
// Recording options: templateId, streamType (0|1), extension.
//
// Tasks are scheduled ahead with StartTime/EndTime (EndTime < now+7d,
// at most 24 h each); Tencent reports no status, so it is derived from the
// times and the Stopped field.
//
// The emulator checks signatures against DemoSecretID/DemoSecretKey,
// enforces the documented limits (7 days, 24 h, 3 overlapping tasks per
// stream, 20 requests/s per action, week-long query windows), pages
// DescribeRecordTask DefaultPageSize tasks at a time, and keeps task
// lifecycle on the injected clock. Besides its Go methods (Tasks, Calls,
// InjectTask, FailNext, SetPageSize, SetRateLimit, SetVODActive) it serves an
// unsigned admin API on the same handler:
//
//	GET  /_emulator/tasks                  every task as JSON (deleted ones included)
//	POST /_emulator/tasks                  inject someone else's task:
//	                                       {"stream":{"domain","app","name"},"startTime":RFC3339,"endTime":RFC3339}
//	GET  /_emulator/calls                  request counts per action
//	POST /_emulator/fail?action=A&code=C   answer the next request for A (any if empty) with code C
//	POST /_emulator/config                 {"pageSize":n,"rateLimit":rps,"vodActive":bool}
package tencent
