package spec

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ProviderType is the per-type half of the documents. Each provider package
// implements it and registers it (through providers.Register), the way a
// Prometheus discovery mechanism registers its config: spec decodes what is
// common to every Provider and Recording (metadata, stream, schedule,
// credentials references, rateLimit) and hands the rest to the type.
type ProviderType interface {
	// Name is the value of spec.type, e.g. "tencent".
	Name() string
	// Schema lists the type's Provider fields, credential names and
	// recording options with their JSON Schema fragments. spec rejects any
	// field or option the schema does not list, with one error naming the
	// type's own ones, and checks Required and Credentials itself.
	Schema() TypeSchema
	// DefaultRateLimit is the documented request rate (per second) used
	// when a Provider leaves spec.rateLimit out.
	DefaultRateLimit() float64
	// Channel: streams are channels ({channel: NAME}), not domain/app/name.
	Channel() bool
	// DecodeProvider decodes the type's own Provider fields (only names the
	// schema lists) and reports problems through d.
	DecodeProvider(d *Decoder, fields []Field) ProviderConfig
	// DecodeOptions decodes a Recording's options (fields is empty when the
	// document has none), reports problems through d (d.Errorf(nil, ...)
	// points at the options, or at the document when it has none) and
	// returns them with their defaults.
	DecodeOptions(d *Decoder, fields []Field) RecordingOptions
}

// ProviderConfig is a provider type's decoded Provider fields (region,
// endpoint, App ID ...), a value of the provider package's own type.
type ProviderConfig interface {
	// StreamScope names what a stream name is unique within besides the
	// provider type (agora: "App ID X", since channels are per App ID), or
	// "" when stream names are global (push domains belong to one account).
	StreamScope() string
	// Defaulted returns a copy with the type's defaults filled in.
	Defaulted() ProviderConfig
}

// RecordingOptions is a provider type's decoded recording options, a value
// of the provider package's own type.
type RecordingOptions interface {
	// ProviderType is the type these options are for.
	ProviderType() string
}

// TypeSchema describes a provider type's part of the documents.
type TypeSchema struct {
	// Description of the type, for spec.type in the JSON Schema.
	Description string
	// Fields are the Provider spec fields besides type, credentials and rateLimit.
	Fields []SchemaField
	// Required names the Fields that must be set.
	Required []string
	// Credentials are the credential names: all required, no others allowed.
	Credentials []string
	// Options are the recording options.
	Options []SchemaField
	// Defs are JSON Schema definitions the fragments refer to as
	// "#/$defs/NAME"; spec's own are secretRef and endpoint.
	Defs map[string]any
}

// SchemaField is one field and its JSON Schema fragment.
type SchemaField struct {
	Name   string
	Schema map[string]any
}

// Names lists the fields' names in order.
func Names(fs []SchemaField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// SecretRefSchema is the JSON Schema fragment of a secret reference
// ({"$ref": "#/$defs/secretRef"}), for TypeSchema fragments.
func SecretRefSchema() map[string]any { return map[string]any{"$ref": "#/$defs/secretRef"} }

// EndpointSchema is the JSON Schema fragment of a base URL
// ({"$ref": "#/$defs/endpoint"}), for TypeSchema fragments.
func EndpointSchema() map[string]any { return map[string]any{"$ref": "#/$defs/endpoint"} }

var (
	typeMu sync.RWMutex
	types  = map[string]ProviderType{}
	infos  = map[string]*typeInfo{}
)

// typeInfo is a registered type's schema, taken once at registration (the
// decoder consults it for every document).
type typeInfo struct {
	sch             TypeSchema
	fields, options []string // names, in schema order
}

// infoOf returns the registered type's schema, or nil.
func infoOf(name string) *typeInfo {
	typeMu.RLock()
	defer typeMu.RUnlock()
	return infos[name]
}

// RegisterType makes a provider type known to the decoder, the validator and
// the JSON Schema. It panics on a duplicate name (a programming error).
// Provider packages call it through providers.Register.
func RegisterType(t ProviderType) {
	typeMu.Lock()
	defer typeMu.Unlock()
	if _, dup := types[t.Name()]; dup {
		panic("spec: RegisterType called twice for " + t.Name())
	}
	types[t.Name()] = t
	sch := t.Schema()
	infos[t.Name()] = &typeInfo{sch: sch, fields: Names(sch.Fields), options: Names(sch.Options)}
}

// LookupType returns the registered type of that name, or nil.
func LookupType(name string) ProviderType {
	typeMu.RLock()
	defer typeMu.RUnlock()
	return types[name]
}

// registeredTypes returns the registered types sorted by name.
func registeredTypes() []ProviderType {
	typeMu.RLock()
	defer typeMu.RUnlock()
	out := make([]ProviderType, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// typeNames lists the registered type names, sorted.
func typeNames() []string {
	ts := registeredTypes()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name()
	}
	return out
}

// DefaultRateLimit is the documented request rate (per second) of a provider
// type, used when a Provider leaves spec.rateLimit out; 0 for unknown types.
func DefaultRateLimit(typ string) float64 {
	if t := LookupType(typ); t != nil {
		return t.DefaultRateLimit()
	}
	return 0
}

// Field is one key and value of a mapping, aliases resolved.
type Field struct {
	Key, Value *yaml.Node
}

// Name is the field's key.
func (f Field) Name() string { return f.Key.Value }

// Decoder decodes the per-type parts of documents for a ProviderType and
// collects each problem at its file:line:col.
type Decoder struct {
	d    *decoder
	path string     // "spec" or "spec.options"
	at   *yaml.Node // where Errorf(nil, ...) points
	atP  Pos        // when at is nil
}

// Path is path + "." + name, e.g. "spec.options.uid", for messages.
func (x *Decoder) Path(name string) string { return fieldPath(x.path, name) }

// Errorf reports a problem at n, or at the mapping being decoded when n is nil.
func (x *Decoder) Errorf(n *yaml.Node, format string, a ...any) {
	switch {
	case n != nil:
		x.d.errf(resolve(n), format, a...)
	case x.at != nil:
		x.d.errf(x.at, format, a...)
	default:
		x.d.errs = append(x.d.errs, &Error{Pos: x.atP, Msg: fmt.Sprintf(format, a...)})
	}
}

// Mapping decodes a nested mapping and reports unknown and duplicate keys.
func (x *Decoder) Mapping(n *yaml.Node, path string, allowed []string) ([]Field, bool) {
	pairs, ok := x.d.mapping(n, path, allowed)
	out := make([]Field, len(pairs))
	for i, p := range pairs {
		out[i] = Field{p.key, p.val}
	}
	return out, ok
}

// String decodes a scalar as a string.
func (x *Decoder) String(n *yaml.Node, path string) (string, bool) { return x.d.str(n, path) }

// NonEmpty decodes a string that must not be blank.
func (x *Decoder) NonEmpty(n *yaml.Node, path string) (string, bool) {
	v, ok := x.d.str(n, path)
	if ok && strings.TrimSpace(v) == "" {
		x.d.errf(resolve(n), "%s must not be empty", path)
		return v, false
	}
	return v, ok
}

// Int decodes an integer in [min, max].
func (x *Decoder) Int(n *yaml.Node, path string, min, max int64) (int64, bool) {
	return x.d.intRange(n, path, min, max)
}

// Integer decodes any integer.
func (x *Decoder) Integer(n *yaml.Node, path string) (int64, bool) { return x.d.integer(n, path) }

// Bool decodes true or false.
func (x *Decoder) Bool(n *yaml.Node, path string) (bool, bool) { return x.d.boolean(n, path) }

// SecretRef decodes {env: NAME} or {file: PATH}; a literal is an error that
// never repeats the value.
func (x *Decoder) SecretRef(n *yaml.Node, path string) (SecretRef, bool) {
	return x.d.secretRef(n, path)
}

// Endpoint decodes a base URL: https, or http to a loopback host.
func (x *Decoder) Endpoint(n *yaml.Node, path string) (string, bool) {
	v, ok := x.d.str(n, path)
	return v, ok && x.d.endpoint(resolve(n), path, v)
}

// Region decodes a region id of the general shape (RegionPattern).
func (x *Decoder) Region(n *yaml.Node, path string) (string, bool) {
	v, ok := x.d.str(n, path)
	if ok && !reRegion.MatchString(v) {
		x.d.errf(resolve(n), "%s %q is not a region name; use the provider's region id, e.g. ap-guangzhou, cn-shanghai, cn-north-4", path, v)
		return v, false
	}
	return v, ok
}

// StringList decodes a list of strings, each checked by item (may be nil).
func (x *Decoder) StringList(n *yaml.Node, path string, item func(n *yaml.Node, path, s string) bool) ([]string, bool) {
	return x.d.stringList(n, path, item)
}

// QuoteList joins names with ", " for messages.
func QuoteList(names []string) string { return quoteList(names) }

// Patterns the JSON Schema fragments of provider types may use.
const (
	RegionPattern = regionPattern
)

// streamTypes names the registered types whose streams are channels
// (channel true) or domain/app/name, for messages.
func streamTypes(channel bool) string {
	var names []string
	for _, t := range registeredTypes() {
		if t.Channel() == channel {
			names = append(names, t.Name())
		}
	}
	return strings.Join(names, ", ")
}

// ConfigOf returns p's type-specific fields as T (its provider package's
// Config), or the zero T when they are unset or of another type.
func ConfigOf[T ProviderConfig](p *Provider) T {
	c, _ := p.Spec.Config.(T)
	return c
}

// OptionsOf returns r's recording options as T (its provider package's
// Options), or the zero T when r is nil or its options are unset or of
// another type.
func OptionsOf[T RecordingOptions](r *Recording) T {
	var o T
	if r != nil {
		o, _ = r.Spec.Options.(T)
	}
	return o
}
