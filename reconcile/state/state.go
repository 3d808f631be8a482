// Package state records every task recordctl manages: window identity ->
// provider handle, phase and timestamps. An intent is written before each
// provider call and the result after it, so a crash at any point is
// recovered on the next start without a duplicate task.
package state

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Phase is where a managed task is in recordctl's own lifecycle.
type Phase string

const (
	// Pending: an intent was written; the provider call's outcome is unknown.
	Pending Phase = "pending"
	// Active: the provider holds the task (scheduled or recording).
	Active Phase = "active"
	// Waiting: the window is open but the stream is not pushed yet; recordctl keeps trying.
	Waiting Phase = "waiting"
	// Done: stopped, deleted, finished or gone; kept for history.
	Done Phase = "done"
	// Failed: the last create failed permanently; the plan will try again.
	Failed Phase = "failed"
)

// Live reports whether a record in this phase may still have a task at the provider.
func (p Phase) Live() bool { return p == Pending || p == Active || p == Waiting }

// Record is one managed task (one window piece).
type Record struct {
	ID        string      `json:"id"`
	Key       string      `json:"key"`    // piece identity: window id, "#n" for later pieces
	Window    string      `json:"window"` // <recording>@<start UTC>
	Recording string      `json:"recording"`
	Provider  string      `json:"provider"` // Provider document name
	Type      string      `json:"type"`
	Stream    spec.Stream `json:"stream"`
	// Start, End: the piece's desired times.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Task is the provider's handle, once known.
	Task   *providers.Task `json:"task,omitempty"`
	Phase  Phase           `json:"phase"`
	Intent string          `json:"intent,omitempty"` // provider call in flight: create, stop, delete
	Reason string          `json:"reason,omitempty"` // last outcome worth showing (error code, waiting ...)
	// Created is when the record was made; Updated its last change.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// State is the whole store content.
type State struct {
	Version int `json:"version"`
	// Lineage identifies this state's history; Serial increases on every write.
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	// LastReconcile is when a reconcile last completed (for missed-window reports).
	LastReconcile time.Time `json:"last_reconcile,omitempty"`
	Records       []*Record `json:"records"`

	idx map[string]int // record index by ID, built on demand
}

// NewID returns a random identifier for records and lineages.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Clone returns a deep-enough copy (records are copied; their tasks shared read-only).
func (s *State) Clone() *State {
	c := *s
	c.Records = make([]*Record, len(s.Records))
	c.idx = make(map[string]int, len(s.Records))
	for i, r := range s.Records {
		rc := *r
		c.Records[i] = &rc
		c.idx[r.ID] = i
	}
	return &c
}

// Find returns the record with id, or nil.
// Find never writes s, so concurrent readers of one State are safe: it
// uses the index that Clone and Apply keep, or scans.
func (s *State) Find(id string) *Record {
	if s.idx != nil {
		if i, ok := s.idx[id]; ok && i < len(s.Records) && s.Records[i].ID == id {
			return s.Records[i]
		}
		if len(s.idx) == len(s.Records) {
			return nil
		}
	}
	for _, r := range s.Records {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Live returns the records whose tasks may still exist, sorted by key.
func (s *State) Live() []*Record {
	var out []*Record
	for _, r := range s.Records {
		if r.Phase.Live() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Prune drops done and failed records last updated before cutoff, keeping
// recent history for `state list` and missed-window reports.
func (tx *Tx) Prune(cutoff time.Time) {
	for _, r := range tx.Base().Records {
		if !r.Phase.Live() && !r.Updated.After(cutoff) {
			tx.Drop(r.ID)
		}
	}
}
