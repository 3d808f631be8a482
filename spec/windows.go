package spec

import (
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts 5 fields with an optional leading seconds field and
// descriptors (@daily, @every 1h, ...).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule's cron expression as recordctl does.
func ParseCron(expr string) (cron.Schedule, error) { return cronParser.Parse(expr) }

// Interval is a half-open time range [Start, End).
type Interval struct {
	Start, End time.Time
}

// Windows returns the recording's windows that overlap [from, to), merged
// (windows of one recording that overlap or touch become one), sorted.
// Implemented in windows_expand.go.
func (r *Recording) Windows(from, to time.Time) []Interval { return r.windows(from, to) }
