package agora

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// The status-query schedule (seed 004 §6). Agora cannot list recorders, so
// each one is queried by its sid; queries are spread over time and every
// wait is a scheduled recheck (Task.NextCheck), never a sleep inside List.
const (
	// firstQueryAfter: the first query of a start, after the sid (≥ 5 s).
	firstQueryAfter = 5 * time.Second
	// startingEvery is the cadence while a start is unconfirmed, so it is
	// confirmed (status 4/5) or failed within caps.StartDeadline.
	startingEvery = 10 * time.Second
	// RecheckEvery is the cadence of an open, confirmed recording; each
	// recorder's phase in it is its sid's hash, so n recorders cost n
	// queries spread over the minute, whatever their start times.
	RecheckEvery = time.Minute
	// ListBudget bounds the queries one List makes; the rest stay due and
	// are served first by the next List (the engine requeues at the
	// earliest Task.NextCheck). A List in the background (the daemon's)
	// makes no more than the pacer's background share lets go at once
	// (Pacer.BackgroundRoom: at most 3 a second at Agora's 10 requests/s),
	// so a window that opens meanwhile does not wait for them; 100 open
	// recorders at one query a minute each are about 35 such Lists a
	// minute.
	ListBudget = 5
	// ListTimeout bounds one List even when Agora does not answer.
	ListTimeout = 10 * time.Second
	// listWorkers bounds concurrent queries in one List without a Pacer.
	listWorkers = 4
)

var (
	// confirm404 are the rechecks of a recorder that answered 404 after its
	// start deadline (seed 004: confirm "not running" at 5, 10, 15 s).
	confirm404 = []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}
	// recheck5xx are the rechecks after a query failed with 5xx or no
	// answer (seed 004: 5, 10, 15, 30 s).
	recheck5xx = []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second}
)

// watch is what the provider knows of one recorder (by sid) between queries.
type watch struct {
	due    time.Time        // next query; zero once terminal
	status providers.Status // last status learnt ("" before the first query)
	files  []string
	miss   int // 404s in a row after the start deadline
	fails  int // failed queries (5xx, no answer) in a row
}

// List reports each managed task (Agora cannot list): status 4/5 is
// recording; not 4/5 90 s after the sid is a failed start; a 404 after the
// deadline confirmed three times (5, 10, 15 s apart) is gone; a query that
// fails with 5xx or no answer is unknown. Only tasks whose query is due are
// queried, at most ListBudget of them (in the background, no more than
// the pacer's background share has room for now), earliest due first; the
// others are
// reported with the last status seen and their NextCheck. A throttled
// query ends the List's querying (the rest stay due); credential and App
// ID errors fail the whole List. scope.Managed must hold every managed task
// of the provider: what is known of a recorder left out is forgotten. List
// makes no call while nothing is due, so calling it often is cheap.
func (p *Provider) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	now := p.now()
	out := make([]providers.Task, len(scope.Managed))
	type job struct {
		i   int
		due time.Time
	}
	var jobs []job
	p.mu.Lock()
	live := make(map[string]bool, len(scope.Managed))
	for i, t := range scope.Managed {
		out[i] = t
		switch t.Status {
		case providers.StatusStopped, providers.StatusFinished, providers.StatusGone:
			continue // terminal: nothing left to ask Agora
		}
		h := t.Handle
		sid := h["sid"]
		if h["resourceId"] == "" || sid == "" || h["mode"] == "" {
			out[i].Status = providers.StatusUnknown
			continue
		}
		live[sid] = true
		w := p.watches[sid]
		if w == nil {
			w = &watch{due: firstDue(t, now)}
			p.watches[sid] = w
		}
		if w.status != "" {
			out[i].Status = w.status
		}
		if len(w.files) > 0 {
			out[i].Files = w.files
		}
		out[i].NextCheck = w.due
		if !w.due.IsZero() && !w.due.After(now) {
			jobs = append(jobs, job{i, w.due})
		}
	}
	for sid := range p.watches {
		if !live[sid] {
			delete(p.watches, sid) // stopped, or no longer in the state
		}
	}
	p.mu.Unlock()

	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].due.Before(jobs[b].due) })
	// In the background (the daemon), no more than the account's
	// background share lets go now: a List that waited in the pacer would
	// hold up the worker's next window edge or edit. With no room, the due
	// queries wait for the next List.
	budget := ListBudget
	if providers.IsBackground(ctx) {
		budget = min(budget, p.pacer.BackgroundRoom())
	}
	if len(jobs) > budget {
		jobs = jobs[:budget] // the rest keep NextCheck <= now: due at the next List
	}
	ctx, cancel := context.WithTimeout(ctx, p.listTimeout)
	defer cancel()
	workers := listWorkers
	if p.pacer != nil {
		workers = min(p.pacer.InFlight(), 16)
	}
	var (
		wg        sync.WaitGroup
		sem       = make(chan struct{}, workers)
		mu        sync.Mutex
		fatal     error
		throttled bool
	)
	for _, j := range jobs {
		mu.Lock()
		stop := fatal != nil || throttled
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := out[j.i]
			h := t.Handle
			sr, err := p.query(ctx, h["resourceId"], h["sid"], h["mode"])
			if providers.ClassOf(err) == providers.Throttled {
				mu.Lock()
				throttled = true
				mu.Unlock()
				return // still due
			}
			if fatalErr(err) {
				mu.Lock()
				if fatal == nil {
					fatal = err
				}
				mu.Unlock()
				return
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			w := p.watches[h["sid"]]
			if w == nil { // a concurrent List dropped it
				w = &watch{}
				p.watches[h["sid"]] = w
			}
			p.learn(w, t, sr, err, p.now())
			out[j.i].Status, out[j.i].NextCheck = w.status, w.due
			if len(w.files) > 0 {
				out[j.i].Files = w.files
			}
		}()
	}
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	return out, nil
}

// firstDue is when a recorder first seen by this process is queried: 5 s
// after its sid while starting, else at once.
func firstDue(t providers.Task, now time.Time) time.Time {
	started, err := time.Parse(time.RFC3339Nano, t.Handle["startedAt"])
	if err == nil && (t.Status == providers.StatusStarting || t.Status == "") {
		if first := started.Add(firstQueryAfter); first.After(now) {
			return first
		}
	}
	return now
}

// fatalErr says whether a query error affects the whole account:
// credentials, App ID or cancellation.
func fatalErr(err error) bool {
	if err == nil {
		return false
	}
	switch providers.ClassOf(err) {
	case providers.NotFound, providers.Retryable, providers.Throttled:
		return false
	}
	var pe *providers.Error
	return asErr(err, &pe) && (pe.HTTP == http.StatusUnauthorized || codeOf(err) < 0 || pe.Err != nil)
}

// learn updates w from one query's answer at now: the status to report
// and when to query next. p.mu is held.
func (p *Provider) learn(w *watch, t providers.Task, sr serverResponse, err error, now time.Time) {
	started, _ := time.Parse(time.RFC3339Nano, t.Handle["startedAt"])
	deadline := started.Add(caps.StartDeadline)
	inWindow := !now.After(deadline)
	// While starting, query on the short cadence and once just after the
	// deadline, which decides between confirmed and failed.
	startingNext := now.Add(startingEvery)
	if after := deadline.Add(time.Second); after.Before(startingNext) && after.After(now) {
		startingNext = after
	}
	if w.status == "" {
		w.status = t.Status
	}
	if err != nil {
		switch providers.ClassOf(err) {
		case providers.NotFound:
			w.fails = 0
			switch {
			case inWindow:
				w.status, w.due = providers.StatusStarting, startingNext // the recorder may not be up yet
			case w.miss < len(confirm404):
				// 404: not started or left; confirm before believing it.
				w.due = now.Add(confirm404[w.miss])
				w.miss++
			default:
				w.status, w.due = providers.StatusGone, time.Time{} // idle timeout or crash: the bot left
			}
		case providers.Retryable:
			w.status, w.due = providers.StatusUnknown, now.Add(recheck5xx[min(w.fails, len(recheck5xx)-1)])
			w.fails++
		default:
			w.status, w.due = providers.StatusUnknown, spread(t.Handle["sid"], now, RecheckEvery)
		}
		return
	}
	w.miss, w.fails = 0, 0
	switch s := sr.Status; {
	case s == 4 || s == 5:
		w.status, w.due = providers.StatusRecording, spread(t.Handle["sid"], now, RecheckEvery)
	case s >= 6:
		w.status, w.due = providers.StatusGone, time.Time{} // stop requested, stopped or exited
	case inWindow:
		w.status, w.due = providers.StatusStarting, startingNext
	default:
		w.status, w.due = providers.StatusFailed, time.Time{} // not 4/5 within 90 s of the sid (seed 004)
	}
	if f := sr.files(); len(f) > 0 {
		w.files = f
	}
}

// spread is the first instant after now at key's phase in every period.
func spread(key string, now time.Time, every time.Duration) time.Time {
	h := fnv.New64a()
	h.Write([]byte(key))
	phase := time.Duration(h.Sum64() % uint64(every))
	at := now.Truncate(every).Add(phase)
	if !at.After(now) {
		at = at.Add(every)
	}
	return at
}

// query asks for a recorder's serverResponse: one try per domain, no
// waits (rechecks are scheduled by learn instead).
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
