package spec

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts 5 fields with an optional leading seconds field and
// descriptors (@daily, @every 1h, ...).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule's cron expression as recordctl does.
func ParseCron(expr string) (cron.Schedule, error) { return cronParser.Parse(expr) }

// parsedCron caches successful parses: windows are expanded on every plan.
var parsedCron sync.Map // string -> cron.Schedule

func cachedCron(expr string) (cron.Schedule, error) {
	if s, ok := parsedCron.Load(expr); ok {
		return s.(cron.Schedule), nil
	}
	s, err := ParseCron(expr)
	if err == nil {
		parsedCron.Store(expr, s)
	}
	return s, err
}

// Interval is one window of a recording. Start and End are its extent, the
// half-open range [Start, End) recorded, padding included; NomStart and
// NomEnd are the scheduled window without padding (its identity is
// WindowID(recording, NomStart)). Windows that overlap or touch, padding
// included, are merged into one.
type Interval struct {
	Start, End       time.Time
	NomStart, NomEnd time.Time
}

// ID is the window's identity for the recording named name.
func (iv Interval) ID(name string) string { return WindowID(name, iv.NomStart) }

// Windows returns the recording's windows that overlap [from, to), merged,
// sorted. A window's start and end are the same whatever from and to are.
// Implemented in windows_expand.go.
func (r *Recording) Windows(from, to time.Time) []Interval { return r.windows(from, to) }
