package aliyun

import (
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Type is the provider type name.
const Type = "aliyun"

// Config is an aliyun Provider document's own fields.
type Config struct {
	Region   string // required, e.g. cn-shanghai
	Endpoint string // default DefaultEndpoint
}

// StreamScope: push domains are global.
func (Config) StreamScope() string { return "" }

// Defaulted returns c (the endpoint default is applied by New).
func (c Config) Defaulted() spec.ProviderConfig { return c }

// Options are an aliyun Recording's options.
type Options struct {
	// FinalizeImmediately sends cancel_delay right after stop, so the file
	// appears at once instead of 180 s later.
	FinalizeImmediately bool
}

// ProviderType is "aliyun".
func (Options) ProviderType() string { return Type }

// Capabilities: with FinalizeImmediately the file appears right after the stop.
func (o Options) Capabilities(c providers.Capabilities) providers.Capabilities {
	if o.FinalizeImmediately {
		c.StopFinalizeDelay, c.StopFinalizeHint = 0, ""
	}
	return c
}

// specType is aliyun's part of the documents.
type specType struct{}

func (specType) Name() string              { return Type }
func (specType) DefaultRateLimit() float64 { return rateLimit }
func (specType) Channel() bool             { return false }

func (specType) Schema() spec.TypeSchema {
	return spec.TypeSchema{
		Description: "ApsaraVideo Live",
		Fields: []spec.SchemaField{
			{Name: "region", Schema: map[string]any{"type": "string", "pattern": spec.RegionPattern,
				"description": "The region id, e.g. cn-shanghai."}},
			{Name: "endpoint", Schema: spec.EndpointSchema()},
		},
		Required:    []string{"region"},
		Credentials: []string{"accessKeyId", "accessKeySecret"},
		Options: []spec.SchemaField{
			{Name: "finalizeImmediately", Schema: map[string]any{"type": "boolean",
				"description": "aliyun: finalize the recording right after stop (cancel_delay)."}},
		},
	}
}

func (specType) DecodeProvider(d *spec.Decoder, fields []spec.Field) spec.ProviderConfig {
	var c Config
	for _, f := range fields {
		switch path := d.Path(f.Name()); f.Name() {
		case "region":
			c.Region, _ = d.Region(f.Value, path)
		case "endpoint":
			c.Endpoint, _ = d.Endpoint(f.Value, path)
		}
	}
	return c
}

func (specType) DecodeOptions(d *spec.Decoder, fields []spec.Field) spec.RecordingOptions {
	var o Options
	for _, f := range fields {
		if f.Name() == "finalizeImmediately" {
			o.FinalizeImmediately, _ = d.Bool(f.Value, d.Path(f.Name()))
		}
	}
	return o
}

// configOf returns the Provider document's aliyun fields (zero when unset).
func configOf(p *spec.Provider) Config { return spec.ConfigOf[Config](p) }

// optionsOf returns a Recording's aliyun options (zero when unset).
func optionsOf(r *spec.Recording) Options { return spec.OptionsOf[Options](r) }

// pointAt returns cfg with its endpoint set to the first base URL and the
// emulator's demo region when the document names none.
func pointAt(cfg spec.ProviderConfig, urls []string, demo map[string]string) spec.ProviderConfig {
	c, _ := cfg.(Config)
	if len(urls) > 0 {
		c.Endpoint = urls[0]
	}
	if c.Region == "" {
		c.Region = demo["region"]
	}
	return c
}
