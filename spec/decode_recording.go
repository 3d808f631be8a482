package spec

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// recordingSpec decodes and checks a Recording's spec (everything that does
// not need the Provider; Build checks the rest).
func (d *decoder) recordingSpec(sp *pair, r *Recording, ref *docRef) {
	pairs, ok := d.mapping(sp.val, "spec", recordingSpecKeys)
	if !ok {
		return
	}
	var when []*yaml.Node // keys of schedule, windows, continuous: true
	for _, kv := range pairs {
		path := fieldPath("spec", kv.key.Value)
		switch kv.key.Value {
		case "provider":
			ref.providerPos = d.pos(resolve(kv.val))
			if v, ok := d.str(kv.val, path); ok {
				if !validName(v) {
					d.errf(resolve(kv.val), "%s %q is not a valid Provider name (lowercase letters, digits and '-')", path, v)
				}
				r.Spec.Provider = v
			}
		case "stream":
			ref.streamPos = d.pos(kv.key)
			n := d.count()
			r.Spec.Stream = d.stream(kv.val)
			ref.streamOK = d.count() == n
		case "schedule":
			when = append(when, kv.key)
			r.Spec.Schedule = d.schedule(kv)
		case "windows":
			when = append(when, kv.key)
			r.Spec.Windows = d.windows(kv.val)
		case "continuous":
			if v, ok := d.boolean(kv.val, path); ok {
				r.Spec.Continuous = v
				if v {
					when = append(when, kv.key)
				}
			}
		case "options":
			// Decoded by Build, once the Provider's type is known.
			ref.optionsPos = d.pos(kv.key)
			ref.optionsKey, ref.optionsVal = kv.key, kv.val
			if n := resolve(kv.val); n == nil || n.Kind != yaml.MappingNode {
				d.errf(n, "spec.options must be a mapping of the provider type's recording options")
			}
		}
	}
	for _, f := range []string{"provider", "stream"} {
		if !hasKey(pairs, f) {
			d.errf(sp.key, "spec.%s is required", f)
		}
	}
	switch {
	case len(when) == 0:
		d.errf(sp.key, "spec needs exactly one of schedule, windows or continuous: true, to say when to record")
	case len(when) > 1:
		d.errf(when[1], "spec.%s: set only one of schedule, windows and continuous: true (spec.%s is already set at line %d)",
			when[1].Value, when[0].Value, when[0].Line)
	}
}

// stream decodes domain/app/name or channel; the shape must fit some provider
// type (Build checks it fits this Recording's provider).
func (d *decoder) stream(n *yaml.Node) Stream {
	var s Stream
	pairs, ok := d.mapping(n, "spec.stream", streamKeys)
	if !ok {
		return s
	}
	for _, kv := range pairs {
		path := fieldPath("spec.stream", kv.key.Value)
		v, ok := d.str(kv.val, path)
		if !ok {
			continue
		}
		at := resolve(kv.val)
		switch kv.key.Value {
		case "domain":
			if len(v) > 253 || !validDomain(v) {
				d.errf(at, "%s %q is not a domain name; use the push domain, e.g. push.example.com", path, v)
			}
			s.Domain = v
		case "app", "name":
			if !validPathPart(v) {
				d.errf(at, "%s %q must be non-empty without '/', '?', '#' or spaces", path, v)
			}
			if kv.key.Value == "app" {
				s.App = v
			} else {
				s.Name = v
			}
		case "channel":
			if len(v) > channelMaxLen || !validChannel(v) {
				d.errf(at, "%s must be 1 to %d characters: letters, digits, space and !#$%%&()+-:;<=.>?@[]^_{}|~,", path, channelMaxLen)
			}
			s.Channel = v
		}
	}
	dan := hasKey(pairs, "domain") || hasKey(pairs, "app") || hasKey(pairs, "name")
	switch {
	case dan && hasKey(pairs, "channel"):
		d.errf(resolve(n), "spec.stream: set either domain, app and name (%s) or channel (%s), not both", streamTypes(false), streamTypes(true))
	case dan:
		for _, f := range []string{"domain", "app", "name"} {
			if !hasKey(pairs, f) {
				d.errf(resolve(n), "spec.stream.%s is missing; %s streams need domain, app and name", f, streamTypes(false))
			}
		}
	case !hasKey(pairs, "channel"):
		d.errf(resolve(n), "spec.stream needs domain, app and name (%s) or channel (%s)", streamTypes(false), streamTypes(true))
	}
	return s
}

// schedule decodes cron, duration, timezone, padding and exclude.
func (d *decoder) schedule(kv pair) *Schedule {
	s := &Schedule{Pos: d.pos(kv.key), Location: time.UTC}
	pairs, ok := d.mapping(kv.val, "spec.schedule", scheduleKeys)
	if !ok {
		return s
	}
	for _, p := range pairs {
		path := fieldPath("spec.schedule", p.key.Value)
		at := resolve(p.val)
		switch p.key.Value {
		case "padding":
			s.Padding = d.padding(p.val, path)
			continue
		case "exclude":
			s.Exclude = d.exclusions(p.val, path)
			continue
		}
		v, ok := d.str(p.val, path)
		switch p.key.Value {
		case "cron":
			s.Pos = d.pos(at)
			if ok {
				s.Cron = v
				if reason := cronProblem(v); reason != "" {
					d.errf(at, "%s: invalid cron expression: %s; use 5 fields (minute hour day-of-month month day-of-week) with an optional leading seconds field, or @hourly, @daily, @weekly, @monthly, @every DURATION", path, reason)
				}
			}
		case "duration":
			if !ok {
				continue
			}
			s.DurationPos = d.pos(at)
			dur, err := time.ParseDuration(v)
			switch {
			case err != nil:
				d.errf(at, "%s %q is not a duration; use a Go duration such as 90m or 1h30m", path, v)
			case dur <= 0:
				d.errf(at, "%s must be > 0, e.g. 1h30m", path)
			}
			s.Duration = dur
		case "timezone":
			if !ok {
				continue
			}
			s.Timezone = v
			s.TimezonePos = d.pos(at)
			if loc, err := loadLocation(v); err != nil {
				d.errf(at, "%s %q is not an IANA time zone; use a name such as UTC, Europe/Berlin or Asia/Shanghai", path, v)
			} else {
				s.Location = loc
			}
		}
	}
	for _, f := range []string{"cron", "duration"} {
		if !hasKey(pairs, f) {
			d.errf(kv.key, "spec.schedule.%s is required", f)
		}
	}
	return s
}

// padding decodes {before, after}: non-negative durations up to maxPadding.
func (d *decoder) padding(n *yaml.Node, path string) Padding {
	var pd Padding
	pairs, ok := d.mapping(n, path, paddingKeys)
	if !ok {
		return pd
	}
	for _, kv := range pairs {
		p := path + "." + kv.key.Value
		v, ok := d.str(kv.val, p)
		if !ok {
			continue
		}
		at := resolve(kv.val)
		dur, err := time.ParseDuration(v)
		switch {
		case err != nil:
			d.errf(at, "%s %q is not a duration; use a Go duration such as 2m or 10m", p, v)
			continue
		case dur < 0 || dur > maxPadding:
			d.errf(at, "%s must be between 0s and %s, got %s", p, maxPadding, v)
			continue
		}
		if kv.key.Value == "before" {
			pd.Before = dur
		} else {
			pd.After = dur
		}
	}
	return pd
}

// exclusions decodes schedule.exclude: a list of dates (2026-12-25), inclusive
// date ranges (2027-01-01..2027-01-03) and cron expressions.
func (d *decoder) exclusions(n *yaml.Node, path string) []Exclusion {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errf(n, "%s must be a list of dates (2026-12-25), date ranges (2027-01-01..2027-01-03) or cron expressions", path)
		return nil
	}
	out := make([]Exclusion, 0, len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		v, ok := d.str(item, p)
		if !ok {
			continue
		}
		at := resolve(item)
		e, msg := ParseExclusion(v)
		if msg != "" {
			d.errf(at, "%s %q: %s", p, v, msg)
			continue
		}
		e.Pos = d.pos(at)
		out = append(out, e)
	}
	return out
}

// ParseExclusion reads one schedule.exclude entry; the message says what is
// wrong (empty when it is valid).
func ParseExclusion(v string) (Exclusion, string) {
	e := Exclusion{Text: v}
	t := strings.TrimSpace(v)
	if len(t) > 0 && t[0] >= '0' && t[0] <= '9' && !strings.ContainsAny(t, " *") {
		from, to, isRange := strings.Cut(t, "..")
		if !isRange {
			to = from
		}
		a, err1 := time.Parse(time.DateOnly, from)
		b, err2 := time.Parse(time.DateOnly, to)
		switch {
		case err1 != nil || err2 != nil:
			return e, "is not a date (2026-12-25) or an inclusive date range (2027-01-01..2027-01-03)"
		case b.Before(a):
			return e, "the range ends before it starts"
		}
		e.From, e.To = a, b
		return e, ""
	}
	if reason := cronProblem(t); reason != "" {
		return e, "is neither a date, a date range nor a cron expression: " + reason
	}
	if _, ok := mustCron(t).(*cron.SpecSchedule); !ok {
		return e, "@every cannot exclude; use a date, a date range or a cron expression such as \"* * * * SAT,SUN\""
	}
	e.Cron = t
	return e, ""
}

func mustCron(expr string) cron.Schedule {
	s, _ := cachedCron(expr)
	return s
}

// cronProblem returns why expr is not a valid schedule, or "".
func cronProblem(expr string) (reason string) {
	defer func() {
		if r := recover(); r != nil {
			reason = fmt.Sprint(r)
		}
	}()
	t := strings.TrimSpace(expr)
	if strings.HasPrefix(t, "TZ=") || strings.HasPrefix(t, "CRON_TZ=") {
		return "a time zone prefix is not allowed here; set spec.schedule.timezone instead"
	}
	if _, err := ParseCron(expr); err != nil {
		return err.Error()
	}
	return ""
}

var locations sync.Map // name -> *time.Location; time.LoadLocation reads the zone database each call

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// windows decodes a non-empty list of {start, end} in RFC 3339.
func (d *decoder) windows(n *yaml.Node) []Window {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errf(n, "spec.windows must be a non-empty list of {start, end} (RFC 3339 times)")
		return nil
	}
	out := make([]Window, 0, len(n.Content))
	for i, item := range n.Content {
		path := "spec.windows[" + strconv.Itoa(i) + "]"
		it := resolve(item)
		w := Window{Pos: d.pos(it)}
		pairs, ok := d.mapping(it, path, windowKeys)
		if !ok {
			continue
		}
		good := true
		for _, f := range windowRequired {
			if !hasKey(pairs, f) {
				d.errf(it, "%s.%s is missing", path, f)
				good = false
			}
		}
		for _, p := range pairs {
			if p.key.Value == "padding" {
				w.Padding = d.padding(p.val, path+".padding")
				continue
			}
			v, ok := d.str(p.val, path+"."+p.key.Value)
			if !ok {
				good = false
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d.errf(resolve(p.val), "%s.%s %q is not an RFC 3339 time; use e.g. 2026-12-31T22:00:00+08:00", path, p.key.Value, v)
				good = false
				continue
			}
			if p.key.Value == "start" {
				w.Start = t
			} else {
				w.End = t
			}
		}
		if good && !w.Start.Before(w.End) {
			d.errf(it, "%s: start must be before end", path)
		}
		out = append(out, w)
	}
	return out
}
