package agora

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/spec"
)

func TestRegistered(t *testing.T) {
	r, ok := providers.Lookup(Type)
	if !ok || r.New == nil {
		t.Fatal("agora is not registered with a factory")
	}
	c := r.Capabilities
	if c.ScheduleAhead || c.CanList || c.StartDeadline != 90*time.Second || c.DefaultRateLimit != 10 {
		t.Errorf("capabilities = %+v", c)
	}
}

func TestCreateSendsTheDocumentedRequests(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("news", nil), nil)

	if task.Status != providers.StatusStarting || task.ID == "" || task.ID != task.Handle["sid"] {
		t.Fatalf("task = %+v", task)
	}
	for k, want := range map[string]string{"uid": "527841", "mode": "mix", "cname": "news",
		"startedAt": e.clock.Now().UTC().Format(time.RFC3339Nano)} {
		if task.Handle[k] != want {
			t.Errorf("Handle[%s] = %q, want %q", k, task.Handle[k], want)
		}
	}
	if task.Handle["resourceId"] == "" {
		t.Error("no resourceId in handle")
	}
	if len(e.sleeps.take()) != 0 {
		t.Error("a clean create slept")
	}
	hits := e.tap.take()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want acquire+start", len(hits))
	}
	var acq map[string]any
	if err := json.Unmarshal(hits[0].body, &acq); err != nil {
		t.Fatal(err)
	}
	cr := acq["clientRequest"].(map[string]any)
	if acq["uid"] != "527841" || acq["cname"] != "news" || cr["scene"] != 0.0 || cr["resourceExpiredHour"] != 24.0 {
		t.Errorf("acquire body %s", hits[0].body)
	}
	var st startRequest
	if err := json.Unmarshal(hits[1].body, &st); err != nil {
		t.Fatal(err)
	}
	rc, sc := st.ClientRequest.RecordingConfig, st.ClientRequest.StorageConfig
	if rc == nil || rc.ChannelType != 1 || rc.StreamTypes != 2 || rc.MaxIdleTime != 600 {
		t.Errorf("recordingConfig = %+v", rc)
	}
	if f := st.ClientRequest.RecordingFileConfig; f == nil || len(f.AvFileType) != 1 || f.AvFileType[0] != "hls" {
		t.Errorf("recordingFileConfig = %+v", f)
	}
	if sc == nil || sc.Vendor != 2 || sc.Bucket != "rec-bucket" || sc.AccessKey != testAccessKey ||
		sc.SecretKey != testSecretKey || strings.Join(sc.FileNamePrefix, "/") != "rec/news" {
		t.Errorf("storageConfig not resolved as configured")
	}
	if st.ClientRequest.Token != testToken {
		t.Error("token not sent")
	}
	if !strings.HasSuffix(hits[1].path, "/resourceid/"+task.Handle["resourceId"]+"/mode/mix/start") {
		t.Errorf("start path %s", hits[1].path)
	}
	if s := e.session(task.ID); s.UID != "527841" || s.Channel != "news" || s.StorageBucket != "rec-bucket" {
		t.Errorf("emulator session = %+v", s)
	}
}

func TestOptionsChangeTheRequests(t *testing.T) {
	e := newEnv(t)
	uid, idle, hours := int64(9000), int64(1200), int64(48)
	task := e.mustCreate(e.recording("opts", func(o *Options) {
		o.Mode, o.UID, o.MaxIdleTime, o.ResourceExpiredHour = "individual", &uid, &idle, &hours
	}), nil)
	if task.Handle["uid"] != "9000" || task.Handle["mode"] != "individual" {
		t.Errorf("handle = %v", task.Handle)
	}
	hits := e.tap.take()
	if !strings.Contains(string(hits[0].body), `"resourceExpiredHour":48`) ||
		!strings.Contains(string(hits[1].body), `"maxIdleTime":1200`) ||
		!strings.Contains(hits[1].path, "/mode/individual/start") {
		t.Errorf("options not applied: %s / %s %s", hits[0].body, hits[1].path, hits[1].body)
	}
	// Web mode acquires with scene 1.
	e.mustCreate(e.recording("webpage", func(o *Options) { o.Mode = "web" }), nil)
	hits = e.tap.take()
	if !strings.Contains(string(hits[0].body), `"scene":1`) || !strings.Contains(hits[1].path, "/mode/web/start") {
		t.Errorf("web mode: %s %s", hits[0].body, hits[1].path)
	}
}

// The whole window: acquire+start, query confirms, stop with the same sid
// returns the file list.
func TestWindowLifecycle(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("class_101", nil), nil)

	if got := e.list(task); got.Status != providers.StatusStarting {
		t.Fatalf("right after start: %s, want starting", got.Status)
	}
	e.clock.Advance(5 * time.Second)
	got := e.list(task)
	if got.Status != providers.StatusRecording {
		t.Fatalf("5 s after start: %s, want recording", got.Status)
	}
	e.tap.take()
	stopped, err := e.prov.Stop(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	hits := e.tap.take()
	if len(hits) != 1 || !strings.HasSuffix(hits[0].path, "/sid/"+task.ID+"/mode/mix/stop") {
		t.Fatalf("stop requests: %+v", hits)
	}
	if !strings.Contains(string(hits[0].body), `"async_stop":false`) || !strings.Contains(string(hits[0].body), `"uid":"527841"`) {
		t.Errorf("stop body %s", hits[0].body)
	}
	want := task.ID + "_class_101.m3u8"
	if len(stopped.Files) != 1 || stopped.Files[0] != want {
		t.Errorf("files = %v, want [%s]", stopped.Files, want)
	}
	if stopped.Status != providers.StatusStopped || stopped.Stopped.IsZero() {
		t.Errorf("after stop: %+v", stopped)
	}
	if s := e.session(task.ID); s.Status != 7 {
		t.Errorf("emulator status after stop = %d", s.Status)
	}
	// A repeated stop (code 49) is not an error and keeps the files.
	again, err := e.prov.Stop(context.Background(), stopped)
	if err != nil || len(again.Files) != 1 || again.Files[0] != want {
		t.Errorf("second stop: %v %v", again.Files, err)
	}
	// A stopped task is terminal for List: no query is sent.
	e.tap.take()
	if got := e.list(stopped); got.Status != providers.StatusStopped || len(e.tap.take()) != 0 {
		t.Errorf("list after stop: %s", got.Status)
	}
}

func TestStopAtWindowEndIsFinished(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("late", nil), nil)
	e.clock.Advance(time.Hour)
	got, err := e.prov.Stop(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != providers.StatusFinished || !got.Stopped.IsZero() {
		t.Errorf("stop at end: %+v", got)
	}
}

func TestStopOfRecorderThatLeftIsNotAnError(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("empty", nil), nil)
	e.emu.SetChannelActive("empty", false)
	e.clock.Advance(11 * time.Minute)
	got, err := e.prov.Stop(context.Background(), task)
	if err != nil {
		t.Fatalf("stop after idle exit: %v", err)
	}
	if got.Status != providers.StatusStopped || len(got.Files) != 1 || got.Files[0] != task.ID+"_empty.m3u8" || got.Handle["sid"] != task.ID {
		t.Errorf("got %+v", got)
	}
	// Not found by its sid, the recorder was looked up by channel and uid;
	// nothing of ours runs in the channel afterwards.
	for _, s := range e.emu.Sessions() {
		if s.Ended.IsZero() {
			t.Errorf("recorder %s still runs after the stop", s.SID)
		}
	}
}

// Another process (apply at the window's end) has no start parameters to
// look the recorder up with: a 404 for its sid means it has left.
func TestStopInAnotherProcessOfRecorderThatLeft(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("left", nil), nil)
	e.emu.SetChannelActive("left", false)
	e.clock.Advance(11 * time.Minute)
	got, err := e.newProvider(e.doc).Stop(context.Background(), task)
	if err != nil || got.Status != providers.StatusStopped || len(got.Files) != 1 || got.Files[0] != task.ID+"_left.m3u8" {
		t.Fatalf("Stop = %+v, %v", got, err)
	}
	if n := len(e.emu.Sessions()); n != 1 {
		t.Errorf("%d sessions: the stop must not start a recorder to look one up it cannot start", n)
	}
}

func TestStopBeforeAnythingRecordedHasNoFiles(t *testing.T) {
	e := newEnv(t)
	task := e.mustCreate(e.recording("quick", nil), nil)
	got, err := e.prov.Stop(context.Background(), task) // status still 1: code 435
	if err != nil || got.Status != providers.StatusStopped || len(got.Files) != 0 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(e *env) *spec.Recording
		class     providers.Class
		code      string
		msg       string          // substring of the message
		sleeps    []time.Duration // waits the client took
		starts    int             // start calls seen
		noRequest bool
	}{
		{name: "bad secret", class: providers.Permanent, code: "HTTP401", msg: "customerId/customerSecret",
			setup: func(e *env) *spec.Recording {
				e.doc.Spec.Credentials["customerSecret"] = spec.SecretRef{File: e.secretFile("wrong", "nope-nope")}
				e.prov = e.newProvider(e.doc)
				return e.recording("c", nil)
			}},
		{name: "bad appId", class: providers.Permanent, code: "HTTP400", msg: "spec.appId",
			setup: func(e *env) *spec.Recording {
				e.doc.Spec.Config = Config{AppID: "ffffffffffffffffffffffffffffffff", Endpoints: configOf(e.doc).Endpoints}
				e.prov = e.newProvider(e.doc)
				return e.recording("c", nil)
			}},
		{name: "throttled", class: providers.Throttled, code: "HTTP429", msg: "rate", sleeps: secs(1, 3, 6),
			setup: func(e *env) *spec.Recording { e.faults.Set(0, 0, true); return e.recording("c", nil) }},
		{name: "internal error", class: providers.Retryable, code: "HTTP500", sleeps: secs(1, 3, 6),
			setup: func(e *env) *spec.Recording { e.faults.Set(1, 0, false); return e.recording("c", nil) }},
		{name: "invalid storage (code 2)", class: providers.Permanent, code: "2", msg: "invalid parameter", starts: 1,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) { o.Storage.Vendor = 0 })
			}},
		{name: "token expired (109)", class: providers.Permanent, code: "109", msg: "renew the RTC token", starts: 1,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) {
					o.Token = &spec.SecretRef{File: e.secretFile("tok2", "expired-"+testToken)}
				})
			}},
		{name: "token invalid (110)", class: providers.Permanent, code: "110", msg: "renew the RTC token", starts: 1,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) {
					o.Token = &spec.SecretRef{File: e.secretFile("tok3", "invalid-"+testToken)}
				})
			}},
		{name: "bad channel (1013)", class: providers.Permanent, code: "1013", msg: "stream.channel",
			setup: func(e *env) *spec.Recording { return e.recording("bad/channel*", nil) }},
		{name: "unknown mode", class: providers.Permanent, msg: "options.mode", noRequest: true,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) { o.Mode = "audio" })
			}},
		{name: "same uids", class: providers.Permanent, msg: "backupUid must differ", noRequest: true,
			setup: func(e *env) *spec.Recording {
				u := int64(7)
				return e.recording("c", func(o *Options) { o.UID, o.BackupUID = &u, &u })
			}},
		{name: "idle out of range", class: providers.Permanent, msg: "maxIdleTime", noRequest: true,
			setup: func(e *env) *spec.Recording {
				v := int64(2)
				return e.recording("c", func(o *Options) { o.MaxIdleTime = &v })
			}},
		{name: "no storage", class: providers.Permanent, msg: "options.storage is required", noRequest: true,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) { o.Storage = nil })
			}},
		{name: "unset secret", class: providers.Permanent, msg: "env:AGORA_TEST_UNSET_TOKEN", noRequest: true,
			setup: func(e *env) *spec.Recording {
				return e.recording("c", func(o *Options) { o.Token = &spec.SecretRef{Env: "AGORA_TEST_UNSET_TOKEN"} })
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := tc.setup(e)
			_, err := e.create(rec, nil)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			pe := classOf(t, err)
			if pe.Class != tc.class {
				t.Errorf("class = %s, want %s (%v)", pe.Class, tc.class, err)
			}
			if tc.code != "" && pe.Code != tc.code {
				t.Errorf("code = %q, want %q (%v)", pe.Code, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
			if got := e.sleeps.take(); !sameDurations(got, tc.sleeps) {
				t.Errorf("sleeps = %v, want %v", got, tc.sleeps)
			}
			if got := e.emu.Calls()["start"]; got != tc.starts {
				t.Errorf("start calls = %d, want %d", got, tc.starts)
			}
			if hits := e.tap.take(); tc.noRequest && len(hits) != 0 {
				t.Errorf("%d requests sent for a config error", len(hits))
			}
		})
	}
}

func TestThrottleCarriesRetryAfter(t *testing.T) {
	p := &Provider{name: "x"}
	h := http.Header{}
	h.Set("Retry-After", "7")
	err := p.classify("query", 429, []byte(`{"message":"API rate limit exceeded"}`), h)
	if err.Class != providers.Throttled || err.RetryAfter != 7*time.Second {
		t.Errorf("got %+v", err)
	}
}

func TestDeleteIsPermanent(t *testing.T) {
	e := newEnv(t)
	err := e.prov.Delete(context.Background(), providers.Task{ID: "x"})
	if providers.ClassOf(err) != providers.Permanent {
		t.Errorf("Delete: %v", err)
	}
}

func TestResourceExpiredReacquires(t *testing.T) {
	e := newEnv(t)
	acquires := 0
	e.tap.after = func(h hit) {
		if strings.HasSuffix(h.path, "/acquire") {
			acquires++
			if acquires == 1 {
				e.clock.Advance(6 * time.Minute) // start comes too late: 433
			}
		}
	}
	task := e.mustCreate(e.recording("slow", nil), nil)
	c := e.emu.Calls()
	if c["acquire"] != 2 || c["start"] != 2 {
		t.Errorf("calls = %v, want 2 acquires and 2 starts", c)
	}
	if task.Handle["uid"] != "527841" {
		t.Errorf("re-acquire after 433 changed uid to %s", task.Handle["uid"])
	}
}

// A fresh state over a running recorder (apply --state s1, then --state s2):
// the primary uid's 53 adopts the recorder by the sid it echoes; no second
// recorder is started under the backup uid.
func TestBusyUIDAdoptsTheRunningRecorder(t *testing.T) {
	e := newEnv(t)
	rec := e.recording("busy", nil)
	first := e.mustCreate(rec, nil)
	fresh := e.newProvider(e.doc) // another process, another state
	now := e.clock.Now()
	second, err := fresh.Create(context.Background(), providers.CreateRequest{Key: "busy@" + now.Format(time.RFC3339),
		Recording: rec, Stream: rec.Spec.Stream, Start: now, End: now.Add(time.Hour), Now: now})
	if pe := classOf(t, err); pe.Class != providers.AlreadyExists {
		t.Fatalf("second Create: %v, want AlreadyExists (adopt)", err)
	}
	if second.ID != first.ID || second.Handle["sid"] != first.ID || second.Handle["uid"] != "527841" || second.Handle["unaddressable"] != "" {
		t.Errorf("adopted %+v, want the running recorder %s", second, first.ID)
	}
	if n := len(e.emu.Sessions()); n != 1 {
		t.Fatalf("%d recorders in the channel, want 1: %+v", n, e.emu.Sessions())
	}
	// The adopted task is addressable: the new process stops it by its sid.
	if _, err := fresh.Stop(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if s := e.session(first.ID); s.Status != 7 {
		t.Errorf("recorder status %d after the stop, want 7 (stopped)", s.Status)
	}
}

func TestNewRejectsBadDocuments(t *testing.T) {
	e := newEnv(t)
	for name, mod := range map[string]func(d *spec.Provider){
		"no appId": func(d *spec.Provider) { d.Spec.Config = Config{Endpoints: configOf(d).Endpoints} },
		"bad endpoint": func(d *spec.Provider) {
			d.Spec.Config = Config{AppID: agoraemu.DemoAppID, Endpoints: []string{"ftp://x"}}
		},
		"no customerId":  func(d *spec.Provider) { delete(d.Spec.Credentials, "customerId") },
		"unset variable": func(d *spec.Provider) { d.Spec.Credentials["customerSecret"] = spec.SecretRef{Env: "AGORA_TEST_NOPE"} },
	} {
		d := *e.doc
		d.Spec.Credentials = map[string]spec.SecretRef{}
		for k, v := range e.doc.Spec.Credentials {
			d.Spec.Credentials[k] = v
		}
		mod(&d)
		if _, err := New(&d, providers.Options{}); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), agoraemu.DemoCustomerSecret) {
			t.Errorf("%s: error shows the secret", name)
		}
	}
}
