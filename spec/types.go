// Package spec defines recordctl's documents (Provider, Recording), loads them
// from YAML with source positions, validates them and fills defaults.
package spec

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// APIVersion is the only apiVersion recordctl/v1 documents may carry.
const APIVersion = "recordctl/v1"

// Document kinds.
const (
	KindProvider  = "Provider"
	KindRecording = "Recording"
)

// Pos is a position in a source file; File is relative to the loaded directory.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Metadata names a document.
type Metadata struct {
	Name   string            `yaml:"name" json:"name"`
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// SecretRef points at a secret; the value itself never lives in a document.
type SecretRef struct {
	Env  string `yaml:"env,omitempty" json:"env,omitempty"`
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// demo is an emulator's demo value (DemoSecret); never from a document.
	demo, demoName string
}

// DemoSecret is a reference that resolves to value itself, for the demo
// values an emulator accepts (never a real secret: documents cannot hold
// one). It is shown as "demo:NAME".
func DemoSecret(name, value string) SecretRef { return SecretRef{demo: value, demoName: name} }

// IsZero reports whether the reference is empty.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" && r.demoName == "" }

// String names the reference (never the value), e.g. "env:TENCENTCLOUD_SECRET_ID".
func (r SecretRef) String() string {
	if r.demoName != "" {
		return "demo:" + r.demoName
	}
	if r.Env != "" {
		return "env:" + r.Env
	}
	if r.File != "" {
		return "file:" + r.File
	}
	return "<unset>"
}

// Resolve reads the secret. Errors name the reference, never the value.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.demoName != "":
		return r.demo, nil
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("secret %s: environment variable is not set", r)
		}
		return v, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return "", fmt.Errorf("secret %s: %v", r, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", fmt.Errorf("secret reference is empty")
}

// Provider is one cloud account.
type Provider struct {
	Pos      Pos // position of the document (its first key)
	Metadata Metadata
	Spec     ProviderSpec
}

// Name returns metadata.name.
func (p *Provider) Name() string { return p.Metadata.Name }

// ProviderSpec holds what every Provider has; the type's own fields
// (region, endpoint, App ID ...) are in Config, decoded by the type's package.
type ProviderSpec struct {
	Type string `yaml:"type" json:"type"`
	// Credentials maps a per-type field name (secretId, accessKeyId, customerId, ...) to a reference.
	Credentials map[string]SecretRef `yaml:"credentials" json:"credentials"`
	// RateLimit is requests per second; defaulted per type.
	RateLimit float64 `yaml:"rateLimit,omitempty" json:"rateLimit,omitempty"`
	// Config is the type's own fields, a value of its package's type (nil
	// when the type is unknown).
	Config ProviderConfig `yaml:"-" json:"-"`
}

// Recording is one stream on one schedule.
type Recording struct {
	Pos      Pos // position of the document (its first key)
	Metadata Metadata
	Spec     RecordingSpec
}

// Name returns metadata.name.
func (r *Recording) Name() string { return r.Metadata.Name }

// RecordingSpec says what is recorded, when and through which Provider.
// Exactly one of Schedule, Windows and Continuous is set.
type RecordingSpec struct {
	Provider   string    `yaml:"provider" json:"provider"`
	Stream     Stream    `yaml:"stream" json:"stream"`
	Schedule   *Schedule `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	Windows    []Window  `yaml:"windows,omitempty" json:"windows,omitempty"`
	Continuous bool      `yaml:"continuous,omitempty" json:"continuous,omitempty"`
	// Options are the provider type's recording options, decoded by its
	// package with defaults (nil in a File: Build decodes them once the
	// Provider's type is known).
	Options RecordingOptions `yaml:"-" json:"-"`
}

// Stream identifies a live stream: Domain/App/Name, or Channel for agora.
type Stream struct {
	Domain  string `yaml:"domain,omitempty" json:"domain,omitempty"`
	App     string `yaml:"app,omitempty" json:"app,omitempty"`
	Name    string `yaml:"name,omitempty" json:"name,omitempty"`
	Channel string `yaml:"channel,omitempty" json:"channel,omitempty"`
}

// String renders the stream as domain/app/name or the channel name.
func (s Stream) String() string {
	if s.Channel != "" {
		return s.Channel
	}
	return s.Domain + "/" + s.App + "/" + s.Name
}

// Schedule is a cron schedule with a duration, in a time zone.
type Schedule struct {
	Pos      Pos            `yaml:"-" json:"-"` // position of the cron value
	Cron     string         `yaml:"cron" json:"cron"`
	Duration time.Duration  `yaml:"duration" json:"duration"`
	Timezone string         `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	Location *time.Location `yaml:"-" json:"-"` // resolved Timezone; UTC by default
	// Padding starts each window early and lets it run over.
	Padding Padding `yaml:"padding,omitempty" json:"padding,omitempty"`
	// Exclude lists dates, date ranges and cron expressions on which no window starts.
	Exclude []Exclusion `yaml:"exclude,omitempty" json:"exclude,omitempty"`

	// Positions for warnings (zero when the schedule was built by hand).
	TimezonePos, DurationPos Pos `yaml:"-" json:"-"`
}

// Padding extends a window: recording starts Before its scheduled start and
// runs After past its scheduled end. It is part of the window's extent.
type Padding struct {
	Before time.Duration `yaml:"before,omitempty" json:"before,omitempty"`
	After  time.Duration `yaml:"after,omitempty" json:"after,omitempty"`
}

// Exclusion is one entry of schedule.exclude: an inclusive range of local
// dates (From == To for one date), or a cron expression matching the local
// start times to leave out.
type Exclusion struct {
	Pos  Pos    `yaml:"-" json:"-"`
	Text string `yaml:"-" json:"text"` // as written (the plan digest covers it)
	// From, To are local dates (midnight UTC stands for the date).
	From, To time.Time `yaml:"-" json:"-"`
	Cron     string    `yaml:"-" json:"-"`
}

// Window is an explicit one-off window [Start, End).
type Window struct {
	Pos     Pos       `yaml:"-" json:"-"`
	Start   time.Time `yaml:"start" json:"start"`
	End     time.Time `yaml:"end" json:"end"`
	Padding Padding   `yaml:"padding,omitempty" json:"padding,omitempty"`
}

// Set is a loaded, validated spec directory.
type Set struct {
	Dir        string
	Providers  []*Provider  // sorted by name
	Recordings []*Recording // sorted by name
	// Warnings are inputs that are valid but most likely mistakes (a
	// fixed-offset zone, a cron that never fires, ...), sorted by position.
	Warnings []*Error
}

// Provider returns the named Provider or nil.
func (s *Set) Provider(name string) *Provider {
	for _, p := range s.Providers {
		if p.Metadata.Name == name {
			return p
		}
	}
	return nil
}
