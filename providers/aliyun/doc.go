// Package aliyun is the Alibaba Cloud ApsaraVideo Live provider: an RPC
// client for RealTimeRecordCommand (API 2016-11-01), its HMAC-SHA1
// signature version 1.0 signer (plus ACS3-HMAC-SHA256, tested against the
// SDK vectors but not used on the wire), and a wire-compatible emulator.
//
// Aliyun records on command only (Capabilities.ScheduleAhead=false,
// CanList=false): Create sends `start` at window open, Stop sends `stop` at
// window close and, when the Recording sets options.finalizeImmediately
// (Task.Handle finalize=1), `cancel_delay` right after, otherwise the file
// appears 180 s after the stop. Error classes:
//
//	TaskAlreadyStarted                      AlreadyExists (the Task is returned too: adopt)
//	StreamNotFound, InvalidStream.NotFound  StreamOffline (Task status waiting; keep trying)
//	CodeConfigNotFound, InvalidConfig.NotFound  Permanent: add an OnDemand=7 recording config
//	Throttling, Throttling.*, HTTP 429      Throttled (RetryAfter from x-ratelimit-user[-api] TimeLeft)
//	5xx, InternalError, ServiceUnavailable  Retryable
//	other 4xx (signature, timestamp, keys)  Permanent, with what to fix
//
// A manual recording ends when the stream is interrupted and does not resume
// (seed 003), and no API reports whether a stream is being recorded, so List
// reports managed tasks as StatusUnknown and Reassert re-issues `start` on
// every resync: TaskAlreadyStarted means still recording, success means the
// recording had dropped and was restarted. CheckStream looks the stream's
// recording configuration up (DescribeLiveRecordConfig) for plan-time warnings.
//
// # Emulator
//
// NewEmulator serves RealTimeRecordCommand (start, stop, cancel_delay,
// restart) and DescribeLiveRecordConfig on one handler. It checks the
// common parameters (MissingParam), the HMAC-SHA1 signature against the demo
// credentials (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound), the
// Timestamp within 15 minutes of its clock (InvalidTimeStamp.Expired), nonce
// reuse (SignatureNonceUsed) and 50 calls/s per key on its clock
// (Throttling.User, HTTP 400, with x-ratelimit-user-api). Recording
// configurations exist per domain/app ("*" = every app; DemoDomains have one
// at start); streams are online unless marked offline; going offline ends a
// recording for good. Stopped or interrupted recordings become files 180 s
// later on the emulator clock, at once after cancel_delay. `stop` and
// `cancel_delay` on an idle stream succeed (the real service's answer is not
// documented). Faults: FaultError => 500 InternalError, FaultThrottle =>
// Throttling.User, FaultTimeout => hang, then 503 ServiceUnavailable.
//
// Admin API (unsigned, same handler; stream given by ?domain=&app=&name=):
//
//	GET    /_emulator/streams              known streams: online, recording
//	POST   /_emulator/streams/online       the stream is being pushed
//	POST   /_emulator/streams/offline      the stream stops (ends its recording)
//	GET    /_emulator/configs              recording configurations ("domain/app")
//	POST   /_emulator/configs?domain=&app= add one (app defaults to "*")
//	DELETE /_emulator/configs?domain=&app= remove one (start => CodeConfigNotFound)
//	GET    /_emulator/recordings           recordings (optionally of one stream), with files
//	GET    /_emulator/calls                request counts per Action[/Command]
//	POST   /_emulator/ratelimit?qps=N      change the QPS limit (0: off)
//
// Go methods mirror these: SetStreamOnline, AddRecordConfig,
// RemoveRecordConfig, SetRateLimit, IsRecording, Recordings, Files, Calls.
package aliyun
