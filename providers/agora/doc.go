// Package agora is the Agora Cloud Recording provider: a RESTful client
// that follows Agora's reliability recipe (seed 004) and a wire-compatible
// emulator.
//
// # Provider document
//
//	spec: {type: agora, appId: ..., endpoints: [https://api.sd-rtn.com, https://api.agora.io],
//	       credentials: {customerId: {env: ...}, customerSecret: {file: ...}}}
//
// Requests carry HTTP Basic auth (customerId:customerSecret). endpoints are
// tried in order (default DefaultEndpoints): a request failing with a
// transport error, 5xx or 429 is retried once on the same domain, then on
// the next, waiting 1 s, 3 s, 6 s. The domain that answered stays first for
// 5 minutes, then the primary is tried again.
//
// # Recording options
//
// stream is {channel: NAME}. mode mix|individual|web (default mix; web uses
// acquire scene 1); uid/backupUid default 527841/527842 (backupUid defaults
// to uid+1 when only uid is set; sent as strings); token ({env}/{file}, must
// be valid for both uids, e.g. built for uid 0); maxIdleTime default 600 s
// (the API's 30 s ends recordings in short breaks); resourceExpiredHour
// default 24; storage {vendor, region, bucket, accessKey, secretKey,
// fileNamePrefix} is required. Token and storage keys are resolved only
// to build the start body and never appear in a Task, Handle or error.
//
// # Lifecycle (seed 004)
//
// Create: acquire, then start at once (channelType 1, streamTypes 2,
// avFileType hls). Start 5xx or code 62/65 is retried with the same
// parameters at 3, 6, 9 s. Code 433/1001 re-acquires with the same uid.
// Code 7 (this resourceId already started) and 53 (this uid already records
// the channel) mean a recorder of ours runs (a lost answer, a lost state):
// it is adopted by the resourceId and sid the error body echoes, never
// joined by a second one. When every start was answered 5xx, the same uid
// is acquired again (its 53 finds a recorder a 5xx hid); only when that
// fails too, and the Create is not resuming an attempt whose answer was
// lost, the backup uid (the seed's recipe). The first uid is the one the
// previous task (req.Previous) did not use, and a previous task that may
// still run is stopped first (a retryable failure of that stop fails the
// Create). The Task is {ID: sid, Handle: resourceId, sid, uid, mode, cname,
// startedAt} in status starting.
//
// List queries each managed task: status 4/5 recording; below 4 and more
// than 90 s after startedAt failed; 6 and above gone; 404 within 90 s
// starting, later confirmed at 5, 10, 15 s then gone; 5xx retried at 5, 10,
// 15, 30 s then unknown. Stop records the reported files (mix mode
// <sid>_<cname>.m3u8); code 49, 435 and 501 mean already stopped. A 404 for
// the sid, or a task adopted without one, is looked up by channel and uid
// (acquire + start with that uid: 53 names the running recorder, which is
// stopped; a start that succeeds shows none ran and is stopped at once)
// when this process holds the start parameters; otherwise a 404 means gone.
// A domain whose TLS certificate fails is not retried: the next domain is
// tried at once, and when all fail so the error is permanent.
//
// # Emulator
//
// NewEmulator serves two listeners (Handlers()[0] primary, [1] fallback)
// over one state, accepting DemoCustomerID/DemoCustomerSecret and App ID
// DemoAppID. A resourceId must be started within 5 minutes (433) and only
// once (7); a (cname, uid) already recording answers 53 (both echo the
// running recorder's resourceId and sid); sessions report
// status 1/2, then 5 after the start delay (3 s); a recorder leaves
// maxIdleTime after its channel becomes empty, and a left or stopped one
// answers 404; a second stop answers 49; tokens starting with "expired" or
// "invalid" answer 109/110. Time is cfg.Clock() plus Advance. Test controls
// (Go methods, and unsigned HTTP on both listeners):
//
//	GET  /_emulator/sessions                          Sessions()
//	GET  /_emulator/calls                             Calls(), ListenerCalls()
//	GET  /_emulator/channels                          channels marked empty
//	POST /_emulator/channels?cname=C&active=false     SetChannelActive (channels start active)
//	POST /_emulator/primary?down=true                 SetPrimaryDown: primary answers 503
//	POST /_emulator/starts/fail?n=4                   FailNextStarts: next n starts answer 500
//	POST /_emulator/starts/never-ready?on=true        SetNeverReady: new sessions stay at status 2
//	POST /_emulator/start-delay?d=3s                  SetStartDelay
//	POST /_emulator/advance?d=10m                     Advance the emulator clock
package agora
