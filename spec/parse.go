package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"
)

// File is one decoded source file: the documents that passed their own
// checks. The daemon keeps a file's last good *File when a new version breaks.
type File struct {
	Path       string // relative to the spec directory, forward slashes
	Providers  []*Provider
	Recordings []*Recording

	// docs describes every document of the file, including those that failed
	// their own checks, so Build can check names across files and point at
	// fields. Files built by hand (docs == nil) are described from their
	// documents.
	docs []*docRef
}

// docRef is what Build needs to know about one document beyond its type.
type docRef struct {
	kind    string
	name    string
	pos     Pos // the document (its first key)
	namePos Pos // metadata.name's value
	valid   bool
	prov    *Provider
	rec     *Recording
	// Recording fields, for errors Build reports.
	providerPos, streamPos, optionsPos Pos
	streamOK                           bool       // the stream decoded without errors
	optionsKey, optionsVal             *yaml.Node // spec.options, decoded by Build for the Provider's type
}

// ParseFile decodes and checks every document of one file. rel is the file's
// path relative to the spec directory (used in positions). The returned File
// holds every document that passed its own checks, even when err != nil;
// err aggregates *Error values (a *multierror.Error).
func ParseFile(rel string, data []byte) (f *File, err error) {
	f = &File{Path: rel}
	d := &decoder{file: rel}
	defer func() {
		// yaml.v3 has panicked on hostile input before; never take the caller down.
		if r := recover(); r != nil {
			d.errs = append(d.errs, &Error{Pos: Pos{File: rel}, Msg: fmt.Sprintf("cannot parse this file (internal error: %v)", r)})
			err = d.result()
		}
	}()
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		d.errs = append(d.errs, &Error{Pos: Pos{File: rel}, Msg: "not a UTF-8 text file (binary, or another encoding); spec files must be UTF-8 YAML"})
		return f, d.result()
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if e := dec.Decode(&doc); e != nil {
			if !errors.Is(e, io.EOF) {
				d.errs = append(d.errs, syntaxError(rel, data, e))
			}
			break
		}
		if ref := d.document(&doc); ref != nil {
			f.docs = append(f.docs, ref)
			if ref.valid {
				if ref.prov != nil {
					f.Providers = append(f.Providers, ref.prov)
				} else if ref.rec != nil {
					f.Recordings = append(f.Recordings, ref.rec)
				}
			}
		}
	}
	return f, d.result()
}

func (d *decoder) result() error {
	if d.count() == 0 {
		return nil
	}
	me := &multierror.Error{ErrorFormat: formatErrors}
	for _, e := range d.errs {
		me.Errors = append(me.Errors, e)
	}
	if d.dropped > 0 {
		me.Errors = append(me.Errors, &Error{Pos: Pos{File: d.file}, Msg: fmt.Sprintf("%d more problems in this file are not shown (at most %d are); fix these first", d.dropped, maxFileErrors)})
	}
	return me
}

// formatErrors prints one positioned error per line.
func formatErrors(es []error) string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

var (
	reYAMLLine = regexp.MustCompile(`^line (\d+): `)
	reAnchor   = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parserProblems start yaml.v3's parser (not scanner) error messages.
var parserProblems = []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"}

// syntaxError turns a yaml.v3 parse error into an Error at its line.
// yaml.v3 counts lines from 0 and adds 1 for scanner errors only, and leaves
// the line out when that count is 0; this undoes both, and places the two
// errors it reports without a position (bad control characters, unknown
// anchors) by looking for them in data.
func syntaxError(file string, data []byte, e error) *Error {
	msg := strings.TrimPrefix(e.Error(), "yaml: ")
	p := Pos{File: file}
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		for _, pp := range parserProblems {
			if strings.HasPrefix(msg, pp) {
				p.Line++
			}
		}
		// An error at the end of the input points past the last line.
		last := bytes.Count(data, []byte{'\n'})
		if len(data) > 0 && data[len(data)-1] != '\n' {
			last++
		}
		p.Line, p.Col = max(1, min(p.Line, last)), 1
	} else if m := reAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			p.Line, p.Col = lineCol(data, i)
		}
	} else if msg == "control characters are not allowed" {
		if i := firstControl(data); i >= 0 {
			p.Line, p.Col = lineCol(data, i)
		}
	} else if !strings.HasPrefix(msg, "attempted to go past") {
		p.Line, p.Col = 1, 1
	}
	return &Error{Pos: p, Msg: "YAML syntax error: " + msg}
}

// lineCol is the 1-based line and column (in runes) of byte offset i.
func lineCol(data []byte, i int) (int, int) {
	line := 1 + bytes.Count(data[:i], []byte{'\n'})
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	return line, 1 + utf8.RuneCount(data[start:i])
}

// firstControl returns the offset of the first character YAML forbids, or -1.
func firstControl(data []byte) int {
	for i, r := range string(data) {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xfffe || r == 0xffff:
			return i
		}
	}
	return -1
}

// document decodes one YAML document; nil for an empty document.
func (d *decoder) document(doc *yaml.Node) *docRef {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		root = doc.Content[0]
	}
	root = resolve(root)
	if root == nil || isNull(root) {
		return nil
	}
	nerr := d.count()
	ref := &docRef{pos: d.pos(root)}
	if root.Kind == yaml.MappingNode && len(root.Content) > 0 {
		ref.pos = d.pos(root.Content[0])
	}
	pairs, ok := d.mapping(root, "document", docKeys)
	if !ok {
		return ref
	}
	var apiVersion, kind, metadata, spec *pair
	for i := range pairs {
		switch pairs[i].key.Value {
		case "apiVersion":
			apiVersion = &pairs[i]
		case "kind":
			kind = &pairs[i]
		case "metadata":
			metadata = &pairs[i]
		case "spec":
			spec = &pairs[i]
		}
	}
	if apiVersion == nil {
		d.errf(root, "apiVersion is missing; use apiVersion: %s", APIVersion)
	} else if v, ok := d.str(apiVersion.val, "apiVersion"); ok && v != APIVersion {
		d.errf(resolve(apiVersion.val), "apiVersion %q is not supported; use %s", v, APIVersion)
	}
	if kind == nil {
		d.errf(root, "kind is missing; use kind: %s or kind: %s", KindProvider, KindRecording)
	} else if v, ok := d.str(kind.val, "kind"); ok {
		if v != KindProvider && v != KindRecording {
			d.errf(resolve(kind.val), "kind %q is not known; use %s or %s", v, KindProvider, KindRecording)
		} else {
			ref.kind = v
		}
	}
	var md Metadata
	if metadata == nil {
		d.errf(root, "metadata is missing; every document needs metadata.name")
	} else {
		md = d.metadata(metadata.val, ref)
	}
	if spec == nil {
		d.errf(root, "spec is missing")
	}
	switch {
	case spec == nil:
	case ref.kind == KindProvider:
		ref.prov = &Provider{Pos: ref.pos, Metadata: md}
		d.providerSpec(spec, ref.prov)
	case ref.kind == KindRecording:
		ref.rec = &Recording{Pos: ref.pos, Metadata: md}
		d.recordingSpec(spec, ref.rec, ref)
	}
	ref.valid = ref.kind != "" && d.count() == nerr
	return ref
}

// metadata decodes metadata.name and labels.
func (d *decoder) metadata(n *yaml.Node, ref *docRef) Metadata {
	var md Metadata
	pairs, ok := d.mapping(n, "metadata", metadataKeys)
	if !ok {
		return md
	}
	hasName := false
	for _, p := range pairs {
		switch p.key.Value {
		case "name":
			hasName = true
			v, ok := d.str(p.val, "metadata.name")
			ref.namePos = d.pos(resolve(p.val))
			if !ok {
				continue
			}
			if len(v) > nameMaxLen || !validName(v) {
				d.errf(resolve(p.val), "metadata.name %q is not a valid name: use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", v, nameMaxLen)
				continue
			}
			md.Name, ref.name = v, v
		case "labels":
			md.Labels = d.labels(p.val)
		}
	}
	if !hasName {
		d.errf(n, "metadata.name is missing")
	}
	return md
}

// labels decodes a string-to-string mapping.
func (d *decoder) labels(n *yaml.Node) map[string]string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errf(n, "metadata.labels must be a mapping of strings to strings")
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn == nil || kn.Kind != yaml.ScalarNode || isNull(kn) {
			d.errf(n.Content[i], "metadata.labels: label names must be strings")
			continue
		}
		k := kn.Value
		if _, dup := out[k]; dup {
			d.errf(kn, "metadata.labels: duplicate label %q", k)
			continue
		}
		if vn == nil || vn.Kind != yaml.ScalarNode || isNull(vn) {
			d.errf(n.Content[i+1], "metadata.labels.%s must be a string", k)
			continue
		}
		out[k] = vn.Value
	}
	return out
}
