package spec

import (
	"fmt"
	"sync"
	"time"
)

// chainMemo remembers the chains of touching windows found for one
// schedule (by content), so that plans made one after another do not walk
// the same long chain again: an endless chain (@every 10m for 1h) is walked
// 400 days once, then only as far as time has moved on.
type chainMemo struct {
	mu     sync.Mutex
	chains []chainSpan // most recently used last
}

// chainSpan is what is known of one chain: its starts from first to last
// all touch. startDone: first is the chain's first start (else the chain
// goes back past first, found walking back from anchor). endDone: last is
// its last start (else it goes on past last).
type chainSpan struct {
	first, last        time.Time
	startDone, endDone bool
	anchor             time.Time
}

const memoChains = 16

var memos sync.Map // schedule key -> *chainMemo

func memoFor(sc *Schedule) *chainMemo {
	loc := "UTC"
	if sc.Location != nil {
		loc = sc.Location.String()
	}
	key := fmt.Sprintf("%q|%d|%d|%d|%s", sc.Cron, sc.Duration, sc.Padding.Before, sc.Padding.After, loc)
	for _, e := range sc.Exclude {
		key += fmt.Sprintf("|%q|%d|%d", e.Cron, e.From.Unix(), e.To.Unix())
	}
	if m, ok := memos.Load(key); ok {
		return m.(*chainMemo)
	}
	m, _ := memos.LoadOrStore(key, &chainMemo{})
	return m.(*chainMemo)
}

// find returns the known chain holding start f, moved to the end (most recent).
func (m *chainMemo) find(f time.Time) *chainSpan {
	for i := len(m.chains) - 1; i >= 0; i-- {
		c := m.chains[i]
		if !f.Before(c.first) && !f.After(c.last) {
			m.chains = append(append(m.chains[:i:i], m.chains[i+1:]...), c)
			return &m.chains[len(m.chains)-1]
		}
	}
	return nil
}

func (m *chainMemo) add(c chainSpan) *chainSpan {
	if len(m.chains) >= memoChains {
		m.chains = append(m.chains[:0:0], m.chains[1:]...)
	}
	m.chains = append(m.chains, c)
	return &m.chains[len(m.chains)-1]
}

// start is chainStart(f) with what is known: the same answer as walking
// back from f, with at most the part not walked before.
func (m *chainMemo) start(x *expander, f time.Time) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.find(f)
	switch {
	case c != nil && c.startDone:
		return c.first, f.Sub(c.first) > maxChain
	case c != nil && !f.Before(c.anchor):
		return c.first, true // the chain goes back past anchor-maxChain, so past f-maxChain
	}
	s, endless := x.walkStart(f, f.Add(-maxChain))
	if c == nil {
		c = m.add(chainSpan{first: s, last: f, anchor: f})
	}
	if s.Before(c.first) {
		c.first = s
	}
	c.startDone, c.anchor = !endless, f
	return s, endless
}

// end is chainEnd(f) with what is known: the walk resumes where an earlier
// one stopped.
func (m *chainMemo) end(x *expander, f time.Time) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := f.Add(maxChain)
	c := m.find(f)
	if c == nil {
		c = m.add(chainSpan{first: f, last: f, anchor: f, startDone: false})
		c.anchor = ContinuousEnd // nothing known backwards yet
	}
	if c.endDone {
		return c.last, c.last.After(limit)
	}
	if c.last.After(limit) {
		return c.last, true
	}
	e, endless := x.walkEnd(c.last, limit)
	c.last, c.endDone = e, !endless
	return e, endless
}
