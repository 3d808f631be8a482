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
// resource, the lookup of a running recorder, the backup uid).
const maxAcquires = 5

// Create starts a recorder in the channel following seed 004: acquire, then
// start at once; start 5xx/65 retried with the same parameters at 3, 6, 9 s;
// after that, acquire again with the other uid. The start is confirmed later
// by List (status 4/5 within the StartDeadline capability).
func (p *Provider) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	if req.Recording == nil {
		return providers.Task{}, permanent("create", "no recording given")
	}
	cname := req.Stream.Channel
	if cname == "" {
		return providers.Task{}, permanent("create", "recording %s: stream.channel is required for agora", req.Recording.Name())
	}
	o, err := parseOptions(optionsOf(req.Recording))
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
		if _, err := p.Stop(ctx, *prev); err != nil {
			if ctx.Err() != nil {
				return providers.Task{}, ctxErr("stop", ctx.Err(), nil)
			}
			if providers.IsRetryable(err) {
				// It may still record: a second recorder beside it would
				// record the channel twice. Try again later.
				return providers.Task{}, err
			}
		}
	}
	uids := o.uidOrder(req.Previous)
	if req.Resume && p.takeLostUID(req.Key) == uids[1] {
		// The lost start was under the other uid (after the switch): ask
		// that uid first, so its 53 finds the recorder.
		uids[0], uids[1] = uids[1], uids[0]
	}
	p.remember(cname, uids, o, cr)
	ui, switched, looked := 0, false, false
	var last error
	for round := 0; round < maxAcquires; round++ {
		uid := uids[ui]
		rid, err := p.acquire(ctx, cname, uid, o)
		if err != nil {
			return providers.Task{}, err
		}
		sr, err := p.start(ctx, rid, cname, uid, o.Mode, cr)
		if err == nil {
			now := p.now().UTC()
			return providers.Task{
				ID: sr.SID,
				Handle: map[string]string{
					"resourceId": rid, "sid": sr.SID, "uid": uid, "mode": o.Mode, "cname": cname,
					"startedAt": now.Format(time.RFC3339Nano),
				},
				Stream: req.Stream, Start: now, End: req.End, Status: providers.StatusStarting,
			}, nil
		}
		last = err
		switch code := codeOf(err); {
		case code == codeResourceExpired || code == codeResourceDecrypt:
			continue // same uid, fresh resourceId
		case code == codeRepeatStart || code == codeUIDBusy:
			// 7: a retried start of this very resourceId; 53: a recorder
			// with this uid already records the channel. Either way it is
			// ours (our uid, our channel: an attempt whose answer was
			// lost, or a state that was lost): adopt it. Starting a second
			// recorder under the backup uid would record the channel twice.
			return p.adopt(req, rid, uid, o.Mode, sr), &providers.Error{Class: providers.AlreadyExists, Provider: Type, Op: "start",
				Code: strconv.Itoa(code), Message: "channel already recorded by recordctl's recorder uid " + uid + ": adopted"}
		case providers.OutcomeUnknown(err):
			// A start may have acted without its answer reaching us: a bot
			// under the other uid would record the channel twice. The
			// engine retries with Resume, and this uid's 53 or 7 then
			// adopts the lost start's recorder.
			p.mu.Lock()
			p.lostUID[req.Key] = uid
			p.mu.Unlock()
			return providers.Task{}, err
		case providers.ClassOf(err) == providers.Retryable:
			// Every start was answered with a 5xx (none acted) after the
			// seed's 3 retries. Never switch uids while resuming (a lost
			// earlier start may run under this uid) nor twice. First look
			// for a recorder of this uid (one of a lost state, whose 53 a
			// 5xx may have hidden): acquire again with the same uid, whose
			// start answers 53 if one runs. Only when that is answered
			// 5xx too (no recorder found), the seed's backup uid.
			if switched || req.Resume {
				return providers.Task{}, err
			}
			if !looked {
				looked = true
				continue
			}
			ui, switched = 1, true
		default:
			return providers.Task{}, err
		}
	}
	return providers.Task{}, last
}

// recipe is what a start of (channel, uid) sent, so that Stop can look
// the recorder up by channel and uid (findRecorder). In memory only: it
// holds resolved secrets.
type recipe struct {
	o  recOptions
	cr startClientRequest
}

// remember keeps the start parameters of cname for both uids.
func (p *Provider) remember(cname string, uids [2]string, o recOptions, cr startClientRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, uid := range uids {
		p.recipes[cname+"\x00"+uid] = recipe{o: o, cr: cr}
	}
}

// recipe returns the remembered start parameters of (cname, uid).
func (p *Provider) recipe(cname, uid string) (recipe, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.recipes[cname+"\x00"+uid]
	return r, ok
}

// takeLostUID returns and forgets the uid of key's lost start, if any.
func (p *Provider) takeLostUID(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	uid := p.lostUID[key]
	delete(p.lostUID, key)
	return uid
}

// adopt is the running recorder of (channel, uid) that a start's 7 or 53
// answer pointed at. Agora's error body echoes its resourceId and sid; when
// it does not, the task is unaddressable (no sid): Stop then finds it by
// channel and uid (findRecorder).
func (p *Provider) adopt(req providers.CreateRequest, rid, uid, mode string, echo startResponse) providers.Task {
	now := p.now().UTC()
	h := map[string]string{"resourceId": rid, "uid": uid, "mode": mode, "cname": req.Stream.Channel,
		"startedAt": now.Format(time.RFC3339Nano)}
	id := "unaddressable:" + req.Stream.Channel + "/" + uid
	if echo.SID != "" {
		id, h["sid"] = echo.SID, echo.SID
		if echo.ResourceID != "" {
			h["resourceId"] = echo.ResourceID
		}
	} else {
		h["unaddressable"] = "1"
	}
	return providers.Task{ID: id, Handle: h, Stream: req.Stream, Start: now, End: req.End, Status: providers.StatusRecording}
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

// start starts the recorder on a resourceId. On a 7 or 53 answer the
// returned response holds the resourceId and sid the error body echoes.
func (p *Provider) start(ctx context.Context, rid, cname, uid, mode string, cr startClientRequest) (startResponse, error) {
	in := startRequest{Cname: cname, UID: uid, ClientRequest: cr}
	path := p.basePath() + "/resourceid/" + url.PathEscape(rid) + "/mode/" + url.PathEscape(mode) + "/start"
	out, err := p.call(ctx, "start", http.MethodPost, path, in, startPolicy)
	var r startResponse
	if err != nil {
		if c := codeOf(err); c == codeRepeatStart || c == codeUIDBusy {
			_ = json.Unmarshal(out, &r)
		}
		return r, err
	}
	if err := json.Unmarshal(out, &r); err != nil || r.SID == "" {
		return r, &providers.Error{Class: providers.Retryable, Provider: Type, Op: "start",
			Message: "answer without a sid"}
	}
	return r, nil
}
