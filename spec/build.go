package spec

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// BuildAt checks the documents of files against each other: names unique per
// kind, each Recording's Provider exists, stream shape and options fit the
// provider type, and no two Recordings record the same stream at once within
// ConflictHorizon after now. It fills defaults (rateLimit, agora endpoints,
// timezone) on copies, so files are never modified.
//
// The Set holds every document without an error of its own, sorted by name;
// Recordings in a conflict stay in it (the conflict is reported as an error).
// The error aggregates *Error values (a *multierror.Error), or is nil.
func BuildAt(dir string, files []*File, now time.Time) (*Set, error) {
	d := &decoder{}
	set := &Set{Dir: dir}
	refs := collectRefs(files)

	// Names unique per kind; the second occurrence (in file order) is dropped.
	first := map[string]*docRef{}
	dups := map[*docRef]bool{} // second documents of a name; refs are shared with the Files, never modified
	for _, r := range refs {
		if r.name == "" || r.kind == "" {
			continue
		}
		key := r.kind + "/" + r.name
		if f, dup := first[key]; dup {
			d.errs = append(d.errs, errAt(r.namePos, fmt.Sprintf("duplicate %s name %q: already defined at %s; names must be unique per kind across the directory", r.kind, r.name, f.namePos)))
			dups[r] = true
			continue
		}
		first[key] = r
	}

	// Providers: valid ones go into the Set; every decoded one with a known
	// type is used to check its Recordings, so those errors come in the same run.
	providers := map[string]*Provider{} // valid, defaulted
	decoded := map[string]*Provider{}   // first of each name, valid or not
	for _, r := range refs {
		if r.kind != KindProvider || dups[r] || r.name == "" {
			continue
		}
		if r.prov != nil && LookupType(r.prov.Spec.Type) != nil {
			decoded[r.name] = r.prov
		} else {
			decoded[r.name] = nil
		}
		if r.valid && !dups[r] && r.prov != nil {
			p := defaultProvider(r.prov)
			providers[r.name] = p
			set.Providers = append(set.Providers, p)
		}
	}

	var recs []*recRef
	for _, r := range refs {
		if r.rec == nil || r.rec.Spec.Provider == "" {
			continue
		}
		name := r.rec.Spec.Provider
		p, defined := decoded[name]
		if !defined {
			d.errs = append(d.errs, errAt(r.providerPos, fmt.Sprintf("spec.provider: there is no Provider named %q; defined Providers: %s",
				name, providerNames(decoded))))
			continue
		}
		if p == nil {
			continue
		}
		opts, ok := checkAgainstProvider(d, r, p)
		if !ok || !r.valid || dups[r] || providers[name] == nil {
			continue
		}
		rec := defaultRecording(r.rec)
		rec.Spec.Options = opts
		set.Recordings = append(set.Recordings, rec)
		recs = append(recs, &recRef{ref: r, rec: rec, prov: providers[name]})
	}
	findConflicts(d, recs, now)

	sort.Slice(set.Providers, func(i, j int) bool { return set.Providers[i].Metadata.Name < set.Providers[j].Metadata.Name })
	sort.Slice(set.Recordings, func(i, j int) bool { return set.Recordings[i].Metadata.Name < set.Recordings[j].Metadata.Name })
	set.Warnings = findWarnings(set, now)
	return set, d.result()
}

// collectRefs lists the documents of files in source order (file path, line,
// column); hand-made Files are described from their documents.
func collectRefs(files []*File) []*docRef {
	var refs []*docRef
	for _, f := range files {
		if f == nil {
			continue
		}
		if f.docs != nil {
			refs = append(refs, f.docs...)
			continue
		}
		for _, p := range f.Providers {
			refs = append(refs, &docRef{kind: KindProvider, name: p.Metadata.Name, pos: p.Pos, namePos: p.Pos, valid: true, prov: p})
		}
		for _, r := range f.Recordings {
			refs = append(refs, &docRef{kind: KindRecording, name: r.Metadata.Name, pos: r.Pos, namePos: r.Pos, valid: true, rec: r, streamOK: true,
				providerPos: r.Pos, streamPos: r.Pos, optionsPos: r.Pos})
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return posLess(refs[i].pos, refs[j].pos) })
	return refs
}

func posLess(a, b Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

func providerNames[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return strings.Join(names, ", ")
}

// checkAgainstProvider checks the stream shape against p's type and decodes
// the options with it (a hand-made Recording's options must be of that type).
func checkAgainstProvider(d *decoder, r *docRef, p *Provider) (RecordingOptions, bool) {
	typ := LookupType(p.Spec.Type)
	if typ == nil {
		return nil, false
	}
	n := d.count()
	s := r.rec.Spec.Stream
	if !r.streamOK {
		// its own error is reported already
	} else if typ.Channel() && s.Channel == "" {
		d.errs = append(d.errs, errAt(r.streamPos, fmt.Sprintf("spec.stream: %s provider %q records channels; use stream: {channel: NAME}", typ.Name(), p.Metadata.Name)))
	}
	if r.streamOK && !typ.Channel() && (s.Channel != "" || s.Domain == "") {
		d.errs = append(d.errs, errAt(r.streamPos, fmt.Sprintf("spec.stream: %s provider %q records streams by domain, app and name; use stream: {domain: D, app: A, name: N}", typ.Name(), p.Metadata.Name)))
	}
	opts := r.rec.Spec.Options
	if opts != nil && r.optionsVal == nil {
		// A hand-made Recording carries typed options already.
		if opts.ProviderType() != typ.Name() {
			d.errs = append(d.errs, errAt(r.optionsPos, fmt.Sprintf("spec.options are %s options, but provider %q is of type %s", opts.ProviderType(), p.Metadata.Name, typ.Name())))
		}
		return opts, len(d.errs) == n
	}
	opts = decodeOptions(d, r, p, typ)
	return opts, len(d.errs) == n
}

// decodeOptions decodes a Recording's options with its Provider's type; an
// unknown option is one error that lists that type's options.
func decodeOptions(d *decoder, r *docRef, p *Provider, typ ProviderType) RecordingOptions {
	od := &decoder{file: r.pos.File}
	x := &Decoder{d: od, path: "spec.options", at: r.optionsKey, atP: r.pos}
	var fields []Field
	if r.optionsVal != nil {
		own := infoOf(typ.Name()).options
		pairs, _ := od.mapping(r.optionsVal, "spec.options", nil)
		for _, kv := range pairs {
			if contains(own, kv.key.Value) {
				fields = append(fields, Field{kv.key, kv.val})
				continue
			}
			allowed := "they take no options"
			if len(own) > 0 {
				allowed = "allowed: " + quoteList(own)
			}
			od.errf(kv.key, "spec.options.%s is not an option for %s providers (provider %q); %s", kv.key.Value, typ.Name(), p.Metadata.Name, allowed)
		}
	}
	opts := typ.DecodeOptions(x, fields)
	d.errs = append(d.errs, od.errs...)
	return opts
}

// defaultProvider returns a copy of p with the type's defaults filled in.
func defaultProvider(p *Provider) *Provider {
	c := *p
	if c.Spec.RateLimit == 0 {
		c.Spec.RateLimit = DefaultRateLimit(c.Spec.Type)
	}
	if c.Spec.Config != nil {
		c.Spec.Config = c.Spec.Config.Defaulted()
	}
	return &c
}

// defaultRecording returns a copy of r whose schedule has its time zone resolved.
func defaultRecording(r *Recording) *Recording {
	c := *r
	if s := c.Spec.Schedule; s != nil && (s.Location == nil || s.Timezone == "") {
		sc := *s
		if sc.Timezone == "" {
			sc.Timezone = "UTC"
		}
		if sc.Location == nil {
			sc.Location = time.UTC
			if l, err := loadLocation(sc.Timezone); err == nil {
				sc.Location = l
			}
		}
		c.Spec.Schedule = &sc
	}
	return &c
}
