package agora

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// maxAcquires bounds the acquire+start rounds of one Create (expired
// resource, busy uid, exhausted start retries).
const maxAcquires = 4

// Create starts a recorder in the channel following seed 004: acquire, then
// start at once; start 5xx/65 retried with the same parameters at 3, 6, 9 s;
// after that, acquire again with the other uid. The start is confirmed later
// by List (status 4/5 within Caps.StartDeadline).
func (p *Provider) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	if req.Recording == nil {
		return providers.Task{}, permanent("create", "no recording given")
	}
	cname := req.Stream.Channel
	if cname == "" {
		return providers.Task{}, permanent("create", "recording %s: stream.channel is required for agora", req.Recording.Name())
	}
	o, err := parseOptions(req.Recording.Spec.Options)
	if err != nil {
		return providers.Task{}, err
	}
	cr, err := p.startBody(o)
	if err != nil {
		return providers.Task{}, err
	}
	if prev := req.Previous; prev != nil && needsStop(prev.Status) && prev.Handle["sid"] != "" {
		// A start that never confirmed (or a task being replaced) may still
		// hold a recorder: end it first, best effort.
		if _, err := p.Stop(ctx, *prev); err != nil && ctx.Err() != nil {
			return providers.Task{}, ctxErr("stop", ctx.Err(), nil)
		}
	}
	uids := o.uidOrder(req.Previous)
	if req.Resume && p.takeLostUID(req.Key) == uids[1] {
		// The lost start was under the other uid (after the switch): ask
		// that uid first, so its 53 finds the recorder.
		uids[0], uids[1] = uids[1], uids[0]
	}
	ui, switched := 0, false
	var last error
	for round := 0; round < maxAcquires; round++ {
		uid := uids[ui]
		rid, err := p.acquire(ctx, cname, uid, o)
		if err != nil {
			return providers.Task{}, err
		}
		sid, err := p.start(ctx, rid, cname, uid, o.Mode, cr)
		if err == nil {
			now := p.now().UTC()
			return providers.Task{
				ID: sid,
				Handle: map[string]string{
					"resourceId": rid, "sid": sid, "uid": uid, "mode": o.Mode, "cname": cname,
					"startedAt": now.Format(time.RFC3339Nano),
				},
				Stream: req.Stream, Start: now, End: req.End, Status: providers.StatusStarting,
			}, nil
		}
		last = err
		switch code := codeOf(err); {
		case code == codeResourceExpired || code == codeResourceDecrypt:
			continue // same uid, fresh resourceId
		case code == codeRepeatStart || code == codeUIDBusy && req.Resume && !switched:
			// 7: a retried start of this very resourceId: an earlier try
			// started and its answer was lost. 53 while resuming: our own
			// recorder from an attempt whose answer was never recorded.
			// Either way it is ours; starting a second bot beside it would
			// record the channel twice. Agora cannot list recorders, so the
			// sid is unknown: adopt it as unaddressable.
			return unaddressable(req, rid, uid, o.Mode), &providers.Error{Class: providers.AlreadyExists, Provider: "agora", Op: "start",
				Code: strconv.Itoa(code), Message: "channel already recorded by recordctl's own recorder (uid " + uid + ") from an attempt whose answer was lost"}
		case providers.OutcomeUnknown(err):
			// A start may have acted without its answer reaching us: a bot
			// under the other uid would record the channel twice. The
			// engine retries with Resume, and this uid's 53 or 7 then shows
			// whether the lost start is running.
			p.mu.Lock()
			p.lostUID[req.Key] = uid
			p.mu.Unlock()
			return providers.Task{}, err
		case code == codeUIDBusy || code == codeRepeatStart || providers.ClassOf(err) == providers.Retryable:
			// 53: this uid already records the channel; 7 on a retried start:
			// an earlier try's answer was lost; 5xx x4: the seed's recipe.
			if switched {
				if code == codeUIDBusy {
					return providers.Task{}, permanent("start",
						"channel %q is already recorded under both uid %s and uid %s (recorders outside recordctl's state): "+
							"stop them in the Agora console, wait for them to leave after maxIdleTime, or choose other uids",
						cname, uids[0], uids[1])
				}
				return providers.Task{}, err
			}
			ui, switched = 1, true
		default:
			return providers.Task{}, err
		}
	}
	return providers.Task{}, last
}

// takeLostUID returns and forgets the uid of key's lost start, if any.
func (p *Provider) takeLostUID(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	uid := p.lostUID[key]
	delete(p.lostUID, key)
	return uid
}

// unaddressable is a recorder known to run (uid, channel) whose sid was lost
// with an answer: it cannot be queried or stopped through the API and
// leaves once the channel has been empty for maxIdleTime.
func unaddressable(req providers.CreateRequest, rid, uid, mode string) providers.Task {
	now := time.Now().UTC()
	return providers.Task{
		ID:     "unaddressable:" + req.Stream.Channel + "/" + uid,
		Handle: map[string]string{"resourceId": rid, "uid": uid, "mode": mode, "cname": req.Stream.Channel, "unaddressable": "1"},
		Stream: req.Stream, Start: now, End: req.End, Status: providers.StatusRecording,
	}
}

// needsStop says whether a previous task may still hold a recorder.
func needsStop(s providers.Status) bool {
	switch s {
	case providers.StatusGone, providers.StatusStopped, providers.StatusFinished:
		return false
	}
	return true
}

// acquire gets a resourceId (valid 5 minutes, one session) for (cname, uid).
func (p *Provider) acquire(ctx context.Context, cname, uid string, o recOptions) (string, error) {
	in := acquireRequest{Cname: cname, UID: uid,
		ClientRequest: acquireClientRequest{Scene: o.scene(), ResourceExpiredHour: o.ResourceExpiredHour}}
	out, err := p.call(ctx, "acquire", http.MethodPost, p.basePath()+"/acquire", in, defaultPolicy)
	if err != nil {
		return "", err
	}
	var r acquireResponse
	if err := json.Unmarshal(out, &r); err != nil || r.ResourceID == "" {
		return "", &providers.Error{Class: providers.Retryable, Provider: "agora", Op: "acquire",
			Message: "answer without a resourceId"}
	}
	return r.ResourceID, nil
}

// start starts the recorder on a resourceId and returns the sid.
func (p *Provider) start(ctx context.Context, rid, cname, uid, mode string, cr startClientRequest) (string, error) {
	in := startRequest{Cname: cname, UID: uid, ClientRequest: cr}
	path := p.basePath() + "/resourceid/" + url.PathEscape(rid) + "/mode/" + url.PathEscape(mode) + "/start"
	out, err := p.call(ctx, "start", http.MethodPost, path, in, startPolicy)
	if err != nil {
		return "", err
	}
	var r startResponse
	if err := json.Unmarshal(out, &r); err != nil || r.SID == "" {
		return "", &providers.Error{Class: providers.Retryable, Provider: "agora", Op: "start",
			Message: "answer without a sid"}
	}
	return r.SID, nil
}
