package agora

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// confirm404 are the waits before re-querying a recorder that answered 404
// (seed 004: confirm "not running" at 5, 10, 15 s).
var confirm404 = []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}

// listWorkers bounds concurrent queries in one List.
const listWorkers = 4

// List queries each managed task (Agora cannot list): status 4/5 is
// recording; not there 90 s after the sid is a failed start; a confirmed 404
// (or a recorder past status 5) is gone; 5xx after the seed's retries is
// unknown. Auth, gateway and throttling errors fail the whole List.
func (p *Provider) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	out := make([]providers.Task, len(scope.Managed))
	errs := make([]error, len(scope.Managed))
	sem := make(chan struct{}, listWorkers)
	var wg sync.WaitGroup
	for i, t := range scope.Managed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = p.observe(ctx, t)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// observe returns t with its current status.
func (p *Provider) observe(ctx context.Context, t providers.Task) (providers.Task, error) {
	switch t.Status {
	case providers.StatusStopped, providers.StatusFinished, providers.StatusGone:
		return t, nil // terminal: nothing left to ask Agora
	}
	h := t.Handle
	rid, sid, mode := h["resourceId"], h["sid"], h["mode"]
	if rid == "" || sid == "" || mode == "" {
		t.Status = providers.StatusUnknown
		return t, nil
	}
	started, _ := time.Parse(time.RFC3339Nano, h["startedAt"])
	inWindow := p.now().Sub(started) <= caps.StartDeadline
	sr, err := p.query(ctx, rid, sid, mode)
	if err != nil && providers.ClassOf(err) == providers.NotFound && !inWindow {
		// 404: not started or left; confirm before believing it.
		for _, d := range confirm404 {
			if e := p.sleep(ctx, d); e != nil {
				return t, ctxErr("query", e, nil)
			}
			if sr, err = p.query(ctx, rid, sid, mode); err == nil || providers.ClassOf(err) != providers.NotFound {
				break
			}
		}
	}
	if err != nil {
		switch providers.ClassOf(err) {
		case providers.NotFound:
			if inWindow {
				t.Status = providers.StatusStarting // the recorder may not be up yet
			} else {
				t.Status = providers.StatusGone // idle timeout or crash: the bot left
			}
			return t, nil
		case providers.Retryable:
			t.Status = providers.StatusUnknown
			return t, nil
		case providers.Throttled:
			return t, err
		}
		var pe *providers.Error
		if asErr(err, &pe) && (pe.HTTP == http.StatusUnauthorized || codeOf(err) < 0 || pe.Err != nil) {
			return t, err // credentials, appId or cancellation: the whole account is affected
		}
		t.Status = providers.StatusUnknown
		return t, nil
	}
	switch s := sr.Status; {
	case s == 4 || s == 5:
		t.Status = providers.StatusRecording
	case s >= 6:
		t.Status = providers.StatusGone // stop requested, stopped or exited
	case inWindow:
		t.Status = providers.StatusStarting
	default:
		t.Status = providers.StatusFailed // not 4/5 within 90 s of the sid (seed 004)
	}
	if f := sr.files(); len(f) > 0 {
		t.Files = f
	}
	return t, nil
}

// query asks for a recorder's serverResponse.
func (p *Provider) query(ctx context.Context, rid, sid, mode string) (serverResponse, error) {
	path := p.basePath() + "/resourceid/" + url.PathEscape(rid) + "/sid/" + url.PathEscape(sid) +
		"/mode/" + url.PathEscape(mode) + "/query"
	out, err := p.call(ctx, "query", http.MethodGet, path, nil, queryPolicy)
	if err != nil {
		return serverResponse{}, err
	}
	var r sessionResponse
	if err := json.Unmarshal(out, &r); err != nil {
		return serverResponse{}, &providers.Error{Class: providers.Retryable, Provider: "agora", Op: "query",
			Message: "unreadable answer: " + err.Error()}
	}
	return r.ServerResponse, nil
}
