package spec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Schema returns the JSON Schema (draft 2020-12) of a document kind, built
// from the same tables the decoder uses: KindProvider, KindRecording, or ""
// for a schema that accepts either kind (for files that hold both).
// schemas/*.schema.json are generated from it (go test ./spec -run TestSchemaFiles -update).
func Schema(kind string) ([]byte, error) {
	defs, err := schemaDefs()
	if err != nil {
		return nil, err
	}
	var root obj
	switch kind {
	case KindProvider:
		root = docSchema(KindProvider, "providerSpec")
		root["title"] = "recordctl Provider"
		root["description"] = "One cloud account recordctl records through (recordctl/v1)."
	case KindRecording:
		root = docSchema(KindRecording, "recordingSpec")
		root["title"] = "recordctl Recording"
		root["description"] = "One live stream and when to record it (recordctl/v1)."
	case "":
		root = obj{
			"title":       "recordctl document",
			"description": "A recordctl/v1 Provider or Recording.",
			"type":        "object",
			"required":    []string{"kind"},
			"if":          obj{"properties": obj{"kind": obj{"const": KindProvider}}},
			"then":        obj{"$ref": "#/$defs/provider"},
			"else":        obj{"$ref": "#/$defs/recording"},
		}
		defs["provider"] = docSchema(KindProvider, "providerSpec")
		defs["recording"] = docSchema(KindRecording, "recordingSpec")
	default:
		return nil, fmt.Errorf("no schema for kind %q; use %s or %s", kind, KindProvider, KindRecording)
	}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$defs"] = reachableDefs(root, defs)
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type obj = map[string]any

// docSchema is the envelope of one kind.
func docSchema(kind, specDef string) obj {
	return obj{
		"type":                 "object",
		"additionalProperties": false,
		"required":             docKeys,
		"properties": obj{
			"apiVersion": obj{"const": APIVersion, "description": "Always " + APIVersion + "."},
			"kind":       obj{"const": kind},
			"metadata":   obj{"$ref": "#/$defs/metadata"},
			"spec":       obj{"$ref": "#/$defs/" + specDef},
		},
	}
}

// strictObject lists exactly keys as properties, taking each from frags; it
// fails when the two disagree, so a field cannot be added to one and not the other.
func strictObject(what string, keys []string, frags obj) (obj, error) {
	props := obj{}
	for _, k := range keys {
		f, ok := frags[k]
		if !ok {
			return nil, fmt.Errorf("schema: %s has no schema for field %q", what, k)
		}
		props[k] = f
	}
	for k := range frags {
		if !contains(keys, k) {
			return nil, fmt.Errorf("schema: %s describes field %q the decoder does not know", what, k)
		}
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props}, nil
}

// schemaDefs builds the shared definitions.
func schemaDefs() (obj, error) {
	var firstErr error
	must := func(o obj, err error) obj {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return o
	}
	secret := obj{"$ref": "#/$defs/secretRef"}
	defs := obj{}

	sr := must(strictObject("secretRef", secretRefKeys, obj{
		"env":  obj{"type": "string", "pattern": envNamePattern, "description": "Name of an environment variable holding the secret."},
		"file": obj{"type": "string", "minLength": 1, "description": "Path of a file holding the secret (trailing newlines are dropped)."},
	}))
	sr["description"] = "A reference to a secret: {env: NAME} or {file: PATH}. Literal secrets are not allowed."
	sr["oneOf"] = []obj{{"required": []string{"env"}}, {"required": []string{"file"}}}
	defs["secretRef"] = sr

	defs["endpoint"] = obj{"type": "string", "pattern": endpointPattern,
		"description": "Base URL: https://, or http:// to a loopback host (127.0.0.0/8, ::1, localhost), e.g. an emulator."}

	md := must(strictObject("metadata", metadataKeys, obj{
		"name": obj{"type": "string", "pattern": namePattern, "maxLength": nameMaxLen,
			"description": "Unique per kind across the directory: lowercase letters, digits and '-'."},
		"labels": obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "Free-form string labels, e.g. team: news."},
	}))
	md["required"] = []string{"name"}
	defs["metadata"] = md

	// Provider spec: the common fields and the union of every registered
	// type's own, narrowed per type below.
	ts := registeredTypes()
	credProps := obj{}
	for _, c := range allCredentialNames() {
		credProps[c] = secret
	}
	var rates []string
	for _, t := range ts {
		rates = append(rates, fmt.Sprintf("%s %g", t.Name(), t.DefaultRateLimit()))
	}
	psFrags := obj{
		"type": obj{"enum": typeNames(), "description": typeDescriptions(ts)},
		"credentials": obj{"type": "object", "additionalProperties": false, "properties": credProps,
			"description": "Per-type credential references."},
		"rateLimit": obj{"type": "number", "exclusiveMinimum": 0,
			"description": "Requests per second. Default: " + quoteList(rates) + "."},
	}
	for k, f := range unionFragments(ts, func(s TypeSchema) []SchemaField { return s.Fields }) {
		psFrags[k] = f
	}
	ps := must(strictObject("providerSpec", providerSpecKeys(), psFrags))
	ps["required"] = []string{"type", "credentials"}
	var perType []obj
	for _, t := range ts {
		sch := t.Schema()
		own := Names(sch.Fields)
		props := obj{}
		for _, k := range providerSpecKeys() {
			if !contains(commonProviderKeys, k) && !contains(own, k) {
				props[k] = false
			}
		}
		for _, f := range sch.Fields {
			props[f.Name] = obj(f.Schema)
		}
		props["credentials"] = obj{"required": sch.Credentials, "propertyNames": obj{"enum": sch.Credentials}}
		then := obj{"properties": props}
		if len(sch.Required) > 0 {
			then["required"] = sch.Required
		}
		perType = append(perType, obj{
			"if":   obj{"properties": obj{"type": obj{"const": t.Name()}}, "required": []string{"type"}},
			"then": then,
		})
		for name, def := range sch.Defs {
			if _, dup := defs[name]; dup {
				return nil, fmt.Errorf("schema: %s defines $defs/%s, which is already defined", t.Name(), name)
			}
			defs[name] = def
		}
	}
	ps["allOf"] = perType
	defs["providerSpec"] = ps

	// Recording spec.
	stream := must(strictObject("stream", streamKeys, obj{
		"domain":  obj{"type": "string", "pattern": domainPattern, "description": "Push domain (" + streamTypes(false) + ")."},
		"app":     obj{"type": "string", "pattern": pathPartPattern, "description": "App name (" + streamTypes(false) + ")."},
		"name":    obj{"type": "string", "pattern": pathPartPattern, "description": "Stream name (" + streamTypes(false) + ")."},
		"channel": obj{"type": "string", "pattern": channelPattern, "maxLength": channelMaxLen, "description": "Channel name (" + streamTypes(true) + ")."},
	}))
	stream["oneOf"] = []obj{
		{"required": []string{"domain", "app", "name"}, "not": obj{"required": []string{"channel"}}},
		{"required": []string{"channel"}, "properties": obj{"domain": false, "app": false, "name": false}},
	}
	stream["description"] = "domain/app/name for " + streamTypes(false) + "; channel for " + streamTypes(true) + "."
	defs["stream"] = stream

	sched := must(strictObject("schedule", scheduleKeys, obj{
		"cron": obj{"type": "string", "minLength": 1,
			"description": "5 fields (minute hour day-of-month month day-of-week), optional leading seconds field, or @hourly/@daily/@weekly/@monthly/@every DURATION."},
		"duration": obj{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
			"description": "How long each window lasts, a Go duration such as 1h30m."},
		"timezone": obj{"type": "string", "minLength": 1, "description": "IANA time zone of the cron fields, e.g. Asia/Shanghai. Default UTC."},
		"padding":  obj{"$ref": "#/$defs/padding"},
		"exclude": obj{"type": "array", "items": obj{"type": "string", "minLength": 1},
			"description": "Days on which no window starts: dates (2026-12-25) and inclusive date ranges (2027-01-01..2027-01-03) in the schedule's zone, or cron expressions matching the starts to leave out (\"* * * * SAT,SUN\"). A window that started before is not cut."},
	}))
	sched["required"] = []string{"cron", "duration"}
	defs["schedule"] = sched

	rfc3339 := obj{"type": "string", "format": "date-time",
		"pattern": `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`}
	dur := obj{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	pad := must(strictObject("padding", paddingKeys, obj{
		"before": obj{"$ref": "#/$defs/paddingDuration", "description": "Start recording this long before each window (Go duration, at most 24h)."},
		"after":  obj{"$ref": "#/$defs/paddingDuration", "description": "Keep recording this long after each window (Go duration, at most 24h)."},
	}))
	pad["description"] = "Start early and run over; part of the window's extent (merging, overlap and provider limits), not of its identity."
	defs["padding"] = pad
	defs["paddingDuration"] = dur
	win := must(strictObject("window", windowKeys, obj{"start": rfc3339, "end": rfc3339, "padding": obj{"$ref": "#/$defs/padding"}}))
	win["required"] = windowRequired
	win["description"] = "A one-off window [start, end) in RFC 3339; start before end."
	defs["window"] = win

	// Options: the union of every type's (which type applies depends on
	// the Provider document, which a schema cannot follow).
	optFrags := unionFragments(ts, func(s TypeSchema) []SchemaField { return s.Options })
	var optNames, perTypeOpts []string
	for _, t := range ts {
		own := Names(t.Schema().Options)
		for _, n := range own {
			if !contains(optNames, n) {
				optNames = append(optNames, n)
			}
		}
		if len(own) == 0 {
			perTypeOpts = append(perTypeOpts, t.Name()+" none")
		} else {
			perTypeOpts = append(perTypeOpts, t.Name()+" "+strings.Join(own, "/"))
		}
	}
	opts := must(strictObject("options", optNames, optFrags))
	opts["description"] = "Provider-specific options: " + strings.Join(perTypeOpts, "; ") + "."
	defs["options"] = opts

	rs := must(strictObject("recordingSpec", recordingSpecKeys, obj{
		"provider":   obj{"type": "string", "pattern": namePattern, "description": "metadata.name of the Provider to record through."},
		"stream":     obj{"$ref": "#/$defs/stream"},
		"schedule":   obj{"$ref": "#/$defs/schedule"},
		"windows":    obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/window"}},
		"continuous": obj{"type": "boolean", "description": "true: always recording."},
		"options":    obj{"$ref": "#/$defs/options"},
	}))
	rs["required"] = []string{"provider", "stream"}
	rs["oneOf"] = []obj{
		{"required": []string{"schedule"}},
		{"required": []string{"windows"}},
		{"required": []string{"continuous"}, "properties": obj{"continuous": obj{"const": true}}},
	}
	defs["recordingSpec"] = rs
	return defs, firstErr
}

// typeDescriptions describes spec.type from the registered types.
func typeDescriptions(ts []ProviderType) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Name()
		if d := t.Schema().Description; d != "" {
			parts[i] += " (" + d + ")"
		}
	}
	return "Which cloud: " + strings.Join(parts, ", ") + "."
}

// unionFragments merges the types' field fragments by name; a name two
// types describe differently accepts either (anyOf), in type order.
func unionFragments(ts []ProviderType, list func(TypeSchema) []SchemaField) obj {
	out := obj{}
	seen := map[string][]string{} // name -> distinct fragments as JSON
	for _, t := range ts {
		for _, f := range list(t.Schema()) {
			b, _ := json.Marshal(f.Schema)
			if contains(seen[f.Name], string(b)) {
				continue
			}
			seen[f.Name] = append(seen[f.Name], string(b))
			switch prev := out[f.Name].(type) {
			case nil:
				out[f.Name] = obj(f.Schema)
			case obj:
				if alts, ok := prev["anyOf"].([]obj); ok && len(prev) == 1 {
					prev["anyOf"] = append(alts, obj(f.Schema))
				} else {
					out[f.Name] = obj{"anyOf": []obj{prev, obj(f.Schema)}}
				}
			}
		}
	}
	return out
}

// reachableDefs keeps the definitions root refers to, directly or not, so
// each file carries only what its kind uses.
func reachableDefs(root, defs obj) obj {
	out := obj{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case obj:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/$defs/")
				if _, done := out[name]; !done && defs[name] != nil {
					out[name] = defs[name]
					walk(defs[name])
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []obj:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	return out
}
