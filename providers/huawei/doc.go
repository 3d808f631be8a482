// Package huawei is the Huawei Cloud Live provider: a client for RunRecord
// (POST /v1/{project_id}/record/control?action=START|STOP) and
// ListRecordRules, its SDK-HMAC-SHA256 signer (as the Go SDK signs: Host not
// signed, canonical URI with a trailing '/', JSON body ending in "\n"), and a
// wire-compatible emulator.
//
// Huawei records on command only (ScheduleAhead=false, CanList=false) and
// requires more than 10 s between a STOP and the next START of a stream
// (Capabilities.MinRestartGap). The client remembers when it sent each STOP
// (and uses CreateRequest.Previous.Stopped) and refuses locally, without a
// call, to START within 10 s: a Retryable error whose RetryAfter is the
// remaining gap plus 1 s (the engine waits; the provider never sleeps).
// LIVE.100011022 ("Record task exist") means that gap when our own STOP was
// at most 15 s ago, and "already recording" otherwise (AlreadyExists: adopt).
// A STOP sent by someone else within 10 s therefore reads as "already
// recording" until the next Reassert. A 404 LIVE.100011001 ("resource not
// exists") is either a missing COMMAND_RECORD rule or a stream that is not
// being pushed; the client asks ListRecordRules which: Permanent (with the
// rule to create) or StreamOffline. Other classes: 429 APIGW.0308 Throttled,
// 5xx Retryable, 401/APIGW.* Permanent (check AK/SK, projectId, clock),
// LIVE.100011004 Permanent (use https). DefaultRateLimit 20/s is a guess:
// Huawei documents no rate for these APIs.
//
// Nothing reports whether a stream is being recorded, so List returns
// managed tasks as StatusUnknown and Reassert re-issues START on each resync
// (already recording => restarted=false; success => restarted=true, logged;
// stream offline => waiting; inside the 10 s gap => Retryable). CheckStream
// looks for a COMMAND_RECORD rule so plan can warn early.
//
// # Emulator
//
// NewEmulator accepts the demo AK/SK and project "demo" (plus any projectId
// passed to Configure). It verifies the signature over the headers the
// Authorization lists (401 APIGW.0301 otherwise), rejects X-Sdk-Date more
// than 15 minutes off its clock, requires HTTPS except from loopback
// (LIVE.100011004), and requires X-Project-Id to match the path. START needs
// a matching COMMAND_RECORD rule (404 LIVE.100011001 otherwise; DemoDomains
// have an app "*" stream "*" rule at start), answers LIVE.100011022 when the
// stream is being recorded or was STOPped 10 s ago or less, and answers 404
// LIVE.100011001 "stream is not being pushed" for an offline stream (our
// choice; Huawei documents no code for it). STOP always succeeds when a rule
// matches and starts the 10 s clock. A recording survives an interruption
// of up to 10 s (SetInterruptThreshold; Huawei's threshold is not
// documented); a longer one ends it for good. ListRecordRules filters by
// publish_domain/app/stream/record_type and pages with offset (>= 0) and
// limit (1-100, default 10). Faults: FaultError => 500, FaultThrottle => 429
// APIGW.0308, FaultTimeout => hang, then 504.
//
// Admin API (unsigned, same handler; a stream is ?domain=&app=&name=):
//
//	GET    /_emulator/streams              known streams: online, recording
//	POST   /_emulator/streams/online       the stream is being pushed
//	POST   /_emulator/streams/offline      the stream stops being pushed
//	GET    /_emulator/rules                recording rules
//	POST   /_emulator/rules?publish_domain=&app=&stream=&record_type=  add (defaults *, *, COMMAND_RECORD)
//	DELETE /_emulator/rules?id=  or  ?publish_domain=[&app=&stream=]    remove
//	GET    /_emulator/recordings           recordings (optionally of one stream)
//	GET    /_emulator/calls                counts: RunRecord/START, RunRecord/STOP, ListRecordRules
//
// Go methods mirror these: SetStreamOnline, AddRule, RemoveRules, Rules,
// SetInterruptThreshold, IsRecording, Recordings, Calls.
package huawei
