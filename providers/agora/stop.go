package agora

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/recordctl/recordctl/providers"
)

// Stop ends the recorder and records the files Agora reports. A repeated
// stop (code 49), a recorder already gone (404, 501) or one that recorded
// nothing (435) count as stopped.
func (p *Provider) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	h := t.Handle
	rid, sid, mode := h["resourceId"], h["sid"], h["mode"]
	if h["unaddressable"] == "1" {
		return t, &providers.Error{Class: providers.NotFound, Provider: "agora", Op: "stop",
			Message: "recorder uid " + h["uid"] + " in channel " + h["cname"] + " was adopted without its sid (an answer was lost); Agora cannot stop it by API: it leaves once the channel has been empty for maxIdleTime"}
	}
	if rid == "" || sid == "" || mode == "" {
		return t, permanent("stop", "task %q has no resourceId/sid/mode in its handle; it cannot be stopped through the API", t.ID)
	}
	in := stopRequest{Cname: h["cname"], UID: h["uid"], ClientRequest: stopClientRequest{AsyncStop: false}}
	path := p.basePath() + "/resourceid/" + url.PathEscape(rid) + "/sid/" + url.PathEscape(sid) +
		"/mode/" + url.PathEscape(mode) + "/stop"
	out, err := p.call(ctx, "stop", http.MethodPost, path, in, defaultPolicy)
	var files []string
	code := codeOf(err)
	switch {
	case err == nil:
		var r sessionResponse
		if json.Unmarshal(out, &r) == nil {
			files = r.ServerResponse.files()
		}
	case code == codeNoFile:
		// stopped, nothing was recorded
	case providers.ClassOf(err) == providers.NotFound:
		files = t.Files // already stopped or left on its own
	default:
		return t, err
	}
	if len(files) == 0 && code != codeNoFile && mode == "mix" && h["cname"] != "" {
		// Seed 004: the mix-mode playlist is <sid>_<cname>.m3u8.
		files = []string{sid + "_" + h["cname"] + ".m3u8"}
	}
	now := p.now().UTC()
	t.Files = files
	if !t.End.IsZero() && !now.Before(t.End) {
		t.Status = providers.StatusFinished
	} else {
		t.Status, t.Stopped = providers.StatusStopped, now
	}
	return t, nil
}

func asErr(err error, target **providers.Error) bool { return errors.As(err, target) }
