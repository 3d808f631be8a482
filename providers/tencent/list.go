package tencent

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// maxPages bounds one DescribeRecordTask scroll, against a token that never ends.
const maxPages = 10000

// maxParallelQueries bounds the DescribeRecordTask scrolls of one List in
// flight at once (each scroll's pages follow one another).
const maxParallelQueries = 8

// retention is how long the service keeps task records (and how far back
// DescribeRecordTask may look).
const retention = 90 * 24 * time.Hour

// describeRequest is DescribeRecordTask's body.
type describeRequest struct {
	StartTime   int64  `json:"StartTime"`
	EndTime     int64  `json:"EndTime"`
	StreamName  string `json:"StreamName,omitempty"`
	DomainName  string `json:"DomainName,omitempty"`
	AppName     string `json:"AppName,omitempty"`
	ScrollToken string `json:"ScrollToken,omitempty"`
}

// recordTask is one entry of DescribeRecordTask's TaskList.
type recordTask struct {
	TaskID     string `json:"TaskId"`
	DomainName string `json:"DomainName"`
	AppName    string `json:"AppName"`
	StreamName string `json:"StreamName"`
	StartTime  int64  `json:"StartTime"`
	EndTime    int64  `json:"EndTime"`
	TemplateID int64  `json:"TemplateId"`
	Stopped    int64  `json:"Stopped"`
}

type describeResponse struct {
	ScrollToken string       `json:"ScrollToken"`
	TaskList    []recordTask `json:"TaskList"`
}

// span is a closed time range to be covered by queries.
type span struct{ from, to time.Time }

// List reports every managed task (StatusGone when the service no longer
// returns it) and every other task of scope.Streams overlapping
// [From, To). DescribeRecordTask only returns tasks that lie wholly inside
// a query window of at most a week, so each stream's range is widened by
// the longest task (24 h) and cut into 7-day windows overlapping by 24 h:
// every task then lies wholly inside at least one window.
func (c *Client) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	now := c.now()
	floor := now.Add(-retention).Add(time.Minute) // the service refuses older windows
	// One query per push domain (filtered by DomainName, then by stream
	// here): a fleet of streams on one domain costs one paged query per
	// week-window, not one per stream.
	perDomain := map[string][]span{}
	wanted := map[spec.Stream]bool{}
	var order []string
	add := func(s spec.Stream, sp span) {
		wanted[s] = true
		if sp.from.Before(floor) {
			sp.from = floor
		}
		if !sp.to.After(sp.from) {
			return
		}
		if _, ok := perDomain[s.Domain]; !ok {
			order = append(order, s.Domain)
		}
		perDomain[s.Domain] = append(perDomain[s.Domain], sp)
	}
	if scope.To.After(scope.From) {
		for _, s := range scope.Streams {
			add(s, span{scope.From.Add(-MaxTaskDuration), scope.To.Add(MaxTaskDuration)})
		}
	}
	for _, m := range scope.Managed {
		if !m.Start.IsZero() && !m.End.IsZero() {
			// a minute of slack either way, in case the service's window bounds are exclusive
			add(m.Stream, span{m.Start.Add(-time.Minute), m.End.Add(time.Minute)})
		}
	}

	// One stream and nothing managed (a look for one task before a
	// create): filter by the stream too, so a busy domain costs one page.
	var only *spec.Stream
	if len(scope.Streams) == 1 && len(scope.Managed) == 0 {
		only = &scope.Streams[0]
	}
	// The queries go out together (the pacer spaces them when the account
	// is busy): a plan over several domains waits for one answer, not for
	// each in turn.
	type query struct {
		domain string
		w      span
	}
	var queries []query
	for _, d := range order {
		for _, w := range windows(merge(perDomain[d])) {
			queries = append(queries, query{d, w})
		}
	}
	results := make([]map[string]recordTask, len(queries))
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var failed error // the first query that failed; it cancels the others
	sem := make(chan struct{}, maxParallelQueries)
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = map[string]recordTask{}
			if err := c.describe(qctx, q.domain, only, q.w, wanted, results[i]); err != nil {
				once.Do(func() { failed = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	found := map[string]recordTask{}
	for _, r := range results {
		for id, rt := range r {
			found[id] = rt
		}
	}

	var out []providers.Task
	managed := map[string]bool{}
	for _, m := range scope.Managed {
		managed[m.ID] = true
		t := m
		if rt, ok := found[m.ID]; ok {
			got := c.toTask(rt, now)
			t.Stream, t.Start, t.End, t.Stopped, t.Status = got.Stream, got.Start, got.End, got.Stopped, got.Status
		} else if m.Start.IsZero() || m.End.IsZero() {
			t.Status = providers.StatusUnknown // nowhere to look for it
		} else {
			t.Status = providers.StatusGone
		}
		out = append(out, t)
	}
	var others []providers.Task
	for id, rt := range found {
		if managed[id] {
			continue
		}
		t := c.toTask(rt, now)
		if t.Start.Before(scope.To) && t.End.After(scope.From) {
			others = append(others, t)
		}
	}
	sort.Slice(others, func(i, j int) bool {
		if !others[i].Start.Equal(others[j].Start) {
			return others[i].Start.Before(others[j].Start)
		}
		return others[i].ID < others[j].ID
	})
	return append(out, others...), nil
}

// describe reads every page of one domain's query window (of one stream
// when only is set) into found, keeping the tasks of wanted streams.
func (c *Client) describe(ctx context.Context, domain string, only *spec.Stream, w span, wanted map[spec.Stream]bool, found map[string]recordTask) error {
	const op = "DescribeRecordTask"
	req := describeRequest{StartTime: w.from.Unix(), EndTime: w.to.Unix(), DomainName: domain}
	if only != nil {
		req.AppName, req.StreamName = only.App, only.Name
	}
	for page := 0; ; page++ {
		if page == maxPages {
			return &providers.Error{Class: providers.Retryable, Provider: Type, Op: op, Message: "paging did not end (ScrollToken kept coming)"}
		}
		var resp describeResponse
		if err := c.call(ctx, op, req, &resp); err != nil {
			return err
		}
		for _, rt := range resp.TaskList {
			if rt.TaskID != "" && wanted[spec.Stream{Domain: rt.DomainName, App: rt.AppName, Name: rt.StreamName}] {
				found[rt.TaskID] = rt
			}
		}
		if resp.ScrollToken == "" || len(resp.TaskList) == 0 {
			return nil
		}
		req.ScrollToken = resp.ScrollToken
	}
}

func (c *Client) toTask(rt recordTask, now time.Time) providers.Task {
	t := providers.Task{
		ID:     rt.TaskID,
		Stream: spec.Stream{Domain: rt.DomainName, App: rt.AppName, Name: rt.StreamName},
		Start:  time.Unix(rt.StartTime, 0).UTC(),
		End:    time.Unix(rt.EndTime, 0).UTC(),
	}
	if rt.Stopped > 0 {
		t.Stopped = time.Unix(rt.Stopped, 0).UTC()
	}
	t.Status = statusAt(now, t.Start, t.End, t.Stopped)
	return t
}

// merge sorts spans and joins the ones that overlap or touch.
func merge(in []span) []span {
	sort.Slice(in, func(i, j int) bool { return in[i].from.Before(in[j].from) })
	var out []span
	for _, s := range in {
		if n := len(out); n > 0 && !s.from.After(out[n-1].to) {
			if s.to.After(out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// windows cuts spans into query windows of at most MaxQueryWindow, each
// starting MaxTaskDuration before the previous one ends, so that a task of
// at most MaxTaskDuration lying inside a span lies inside one window.
func windows(spans []span) []span {
	step := MaxQueryWindow - MaxTaskDuration
	var out []span
	for _, s := range spans {
		from, to := s.from.Truncate(time.Second), s.to.Truncate(time.Second)
		if s.to.After(to) {
			to = to.Add(time.Second)
		}
		for {
			end := from.Add(MaxQueryWindow)
			if !end.Before(to) {
				out = append(out, span{from, to})
				break
			}
			out = append(out, span{from, end})
			from = from.Add(step)
		}
	}
	return out
}
