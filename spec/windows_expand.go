package spec

import "time"

func (r *Recording) windows(from, to time.Time) []Interval { return nil }
