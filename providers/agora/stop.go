package agora

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"github.com/recordctl/recordctl/providers"
)

// Stop ends the recorder and records the files Agora reports. A repeated
// stop (code 49), a recorder exiting (501) or one that recorded nothing
// (435) count as stopped. A recorder Agora cannot find by its sid (404), or
// one adopted without a sid, is looked up by channel and uid before it is
// believed gone (findRecorder): a recorder of ours that still runs is
// stopped, never reported as stopped while it records.
func (p *Provider) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	h := t.Handle
	if h["unaddressable"] == "1" || h["sid"] == "" && h["cname"] != "" && h["uid"] != "" {
		return p.stopFound(ctx, t)
	}
	rid, sid, mode := h["resourceId"], h["sid"], h["mode"]
	if rid == "" || sid == "" || mode == "" {
		return t, permanent("stop", "task %q has no resourceId/sid/mode in its handle; it cannot be stopped through the API", t.ID)
	}
	files, code, err := p.stopSID(ctx, rid, sid, mode, h["cname"], h["uid"])
	switch {
	case err == nil:
	case code == codeNotFound || code < 0 && providers.ClassOf(err) == providers.NotFound:
		// Not found by its sid: look for a recorder of this channel and uid
		// before believing it gone. The lookup needs the start parameters
		// of this process's Create; without them (another process started
		// it), the 404 for this sid is all Agora can tell: it has left.
		if _, ok := p.recipe(h["cname"], h["uid"]); ok {
			return p.stopFound(ctx, t)
		}
		files = t.Files
	case providers.ClassOf(err) == providers.NotFound:
		files = t.Files // already stopped, exiting, or nothing recorded
	default:
		return t, err
	}
	return p.stopped(t, sid, mode, files, code), nil
}

// stopSID stops the recorder (rid, sid) and returns its files.
func (p *Provider) stopSID(ctx context.Context, rid, sid, mode, cname, uid string) ([]string, int, error) {
	in := stopRequest{Cname: cname, UID: uid, ClientRequest: stopClientRequest{AsyncStop: false}}
	path := p.basePath() + "/resourceid/" + url.PathEscape(rid) + "/sid/" + url.PathEscape(sid) +
		"/mode/" + url.PathEscape(mode) + "/stop"
	out, err := p.call(ctx, "stop", http.MethodPost, path, in, defaultPolicy)
	if err != nil {
		return nil, codeOf(err), err
	}
	var r sessionResponse
	var files []string
	if json.Unmarshal(out, &r) == nil {
		files = r.ServerResponse.files()
	}
	return files, 0, nil
}

// stopped returns t as ended now, with its files.
func (p *Provider) stopped(t providers.Task, sid, mode string, files []string, code int) providers.Task {
	cname := t.Handle["cname"]
	if len(files) == 0 && code != codeNoFile && mode == "mix" && cname != "" && sid != "" {
		// Seed 004: the mix-mode playlist is <sid>_<cname>.m3u8.
		files = []string{sid + "_" + cname + ".m3u8"}
	}
	now := p.now().UTC()
	t.Files = files
	if !t.End.IsZero() && !now.Before(t.End) {
		t.Status = providers.StatusFinished
	} else {
		t.Status, t.Stopped = providers.StatusStopped, now
	}
	return t
}

// stopFound finds the recorder of t's channel and uid and stops it.
func (p *Provider) stopFound(ctx context.Context, t providers.Task) (providers.Task, error) {
	h := t.Handle
	cname, uid, mode := h["cname"], h["uid"], h["mode"]
	rid, sid, fresh, err := p.findRecorder(ctx, cname, uid, mode)
	if err != nil {
		return t, err
	}
	files, code, err := p.stopSID(ctx, rid, sid, mode, cname, uid)
	if fresh {
		// Nothing of ours was running: t's recorder had left. The one the
		// lookup started is stopped at once (nothing recorded: 435).
		if err != nil && providers.ClassOf(err) != providers.NotFound {
			return t, err
		}
		return p.stopped(t, h["sid"], h["mode"], t.Files, 0), nil
	}
	switch {
	case err == nil:
	case providers.ClassOf(err) == providers.NotFound && code != codeNotFound:
		// 49, 435, 501: stopped (or stopping) now
	case providers.ClassOf(err) == providers.NotFound:
		return t, &providers.Error{Class: providers.Retryable, Provider: Type, Op: "stop",
			Message: "the recorder of uid " + uid + " in channel " + cname + " was found (sid " + sid + ") but could not be stopped yet", Err: err}
	default:
		return t, err
	}
	if t.Handle["unaddressable"] == "1" || t.Handle["sid"] != sid {
		t.Handle = maps.Clone(t.Handle)
		delete(t.Handle, "unaddressable")
		t.Handle["resourceId"], t.Handle["sid"] = rid, sid
	}
	return p.stopped(t, sid, mode, files, code), nil
}

// findRecorder looks up the recorder of (cname, uid) the only way Agora
// allows without its sid: acquire and start with the same uid, as the last
// Create did. A running recorder answers 53 (or 7), echoing its resourceId
// and sid; a start that succeeds means none was running (fresh), and the
// one just started is returned, so that the caller stops it at once.
func (p *Provider) findRecorder(ctx context.Context, cname, uid, mode string) (rid, sid string, fresh bool, err error) {
	rec, ok := p.recipe(cname, uid)
	if !ok {
		return "", "", false, &providers.Error{Class: providers.Permanent, Provider: Type, Op: "stop",
			Message: "the recorder of uid " + uid + " in channel " + cname + " has no known sid and this process has not started it, so it cannot be looked up " +
				"(a lookup needs the recording's start parameters): it may still record; stop it in the Agora console, or it leaves once the channel has been empty for maxIdleTime"}
	}
	if mode == "" {
		mode = rec.o.Mode
	}
	rid, err = p.acquire(ctx, cname, uid, rec.o)
	if err != nil {
		return "", "", false, err
	}
	sr, err := p.start(ctx, rid, cname, uid, mode, rec.cr)
	switch code := codeOf(err); {
	case err == nil:
		return rid, sr.SID, true, nil
	case (code == codeUIDBusy || code == codeRepeatStart) && sr.SID != "":
		if sr.ResourceID != "" {
			rid = sr.ResourceID
		}
		return rid, sr.SID, false, nil
	case code == codeUIDBusy || code == codeRepeatStart:
		return "", "", false, &providers.Error{Class: providers.Permanent, Provider: Type, Op: "stop", Code: strconv.Itoa(code),
			Message: "a recorder of uid " + uid + " records channel " + cname + " but Agora did not say its sid: stop it in the Agora console, or it leaves once the channel has been empty for maxIdleTime"}
	}
	return "", "", false, err
}

func asErr(err error, target **providers.Error) bool { return errors.As(err, target) }
