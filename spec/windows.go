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

// Interval is a half-open time range [Start, End).
type Interval struct {
	Start, End time.Time
}

// Windows returns the recording's windows that overlap [from, to), merged
// (windows of one recording that overlap or touch become one), sorted.
// Implemented in windows_expand.go.
func (r *Recording) Windows(from, to time.Time) []Interval { return r.windows(from, to) }
