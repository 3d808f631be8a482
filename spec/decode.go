package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks yaml.v3 nodes of one file by hand (strict, positioned, and
// much cheaper than reflection) and collects every problem it finds.
type decoder struct {
	file string
	errs []*Error
	// dropped counts problems beyond maxFileErrors, not kept (a file of a
	// million bad items must not take a million messages of memory).
	dropped int
}

// maxFileErrors bounds the problems kept per file.
const maxFileErrors = 100

// count is the number of problems found, kept or not.
func (d *decoder) count() int { return len(d.errs) + d.dropped }

// pair is one key/value of a mapping, aliases resolved.
type pair struct{ key, val *yaml.Node }

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errf(n *yaml.Node, format string, a ...any) {
	if d.file != "" && len(d.errs) >= maxFileErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, a...)})
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// mapping returns the pairs of a mapping node, merging `<<` keys, reporting
// duplicate keys and keys not in allowed (nil: any key). path names the
// mapping in messages.
func (d *decoder) mapping(n *yaml.Node, path string, allowed []string) ([]pair, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if allowed == nil {
			d.errf(n, "%s must be a mapping", path)
		} else {
			d.errf(n, "%s must be a mapping with the fields %s", path, strings.Join(allowed, ", "))
		}
		return nil, false
	}
	out := make([]pair, 0, len(n.Content)/2)
	var merged []pair
	var index map[string]*yaml.Node // only for large mappings, where a scan would be quadratic
	if len(n.Content) > 64 {
		index = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errf(n.Content[i], "%s: field names must be plain strings", path)
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = d.mergePairs(v, path, merged, 0)
			continue
		}
		var first *yaml.Node
		if index != nil {
			first = index[k.Value]
			if first == nil {
				index[k.Value] = k
			}
		} else {
			first = keyBefore(n, i, k.Value)
		}
		if first != nil {
			d.errf(k, "%s: duplicate field %q (first at line %d); each field may appear once", path, k.Value, first.Line)
			continue
		}
		if allowed != nil && !contains(allowed, k.Value) {
			d.errf(k, "%s: unknown field %q; allowed: %s", path, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, pair{k, v})
	}
	if len(merged) > maxMerged {
		d.errf(n, "%s: merge (<<) brings more than %d fields", path, maxMerged)
		merged = nil
	}
	if len(merged) > 0 {
		taken := make(map[string]bool, len(out)+len(merged))
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
				taken[k.Value] = true
			}
		}
		for _, p := range merged {
			if taken[p.key.Value] {
				continue // explicit keys win over merged ones, earlier merges over later ones
			}
			taken[p.key.Value] = true
			if allowed != nil && !contains(allowed, p.key.Value) {
				d.errf(p.key, "%s: unknown field %q; allowed: %s", path, p.key.Value, strings.Join(allowed, ", "))
				continue
			}
			out = append(out, p)
		}
	}
	return out, true
}

// keyBefore returns the scalar key named name among the first end entries of
// mapping n (keys are few: a scan is cheaper than a map).
func keyBefore(n *yaml.Node, end int, name string) *yaml.Node {
	for j := 0; j+1 < end && j+1 < len(n.Content); j += 2 {
		if k := resolve(n.Content[j]); k != nil && k.Kind == yaml.ScalarNode && k.Value == name && k.ShortTag() != "!!merge" {
			return k
		}
	}
	return nil
}

// fieldPath is prefix + "." + key, from a table for the known fields so the
// hot path does not allocate.
func fieldPath(prefix, key string) string {
	if p, ok := fieldPaths[prefix][key]; ok {
		return p
	}
	return prefix + "." + key
}

var fieldPaths = func() map[string]map[string]string {
	t := map[string]map[string]string{}
	add := func(prefix string, keys []string) {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = prefix + "." + k
		}
		t[prefix] = m
	}
	add("spec", commonProviderKeys)
	for _, k := range recordingSpecKeys {
		t["spec"][k] = "spec." + k
	}
	add("spec.stream", streamKeys)
	add("spec.schedule", scheduleKeys)
	return t
}()

// maxMerged bounds the fields `<<` merges may bring into one mapping.
const maxMerged = 1000

// mergePairs expands the value of a `<<` merge key (a mapping or a list of
// mappings), earlier sources first.
func (d *decoder) mergePairs(v *yaml.Node, path string, acc []pair, depth int) []pair {
	v = resolve(v)
	if len(acc) > maxMerged {
		return acc // reported once by mapping
	}
	if depth > 8 || v == nil {
		d.errf(v, "%s: merge (<<) nests too deeply", path)
		return acc
	}
	switch v.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k := resolve(v.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				d.errf(v.Content[i], "%s: field names must be plain strings", path)
				continue
			}
			if k.ShortTag() == "!!merge" {
				acc = d.mergePairs(v.Content[i+1], path, acc, depth+1)
				continue
			}
			acc = append(acc, pair{k, v.Content[i+1]})
		}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			acc = d.mergePairs(item, path, acc, depth+1)
		}
	default:
		d.errf(v, "%s: merge (<<) needs a mapping or a list of mappings", path)
	}
	return acc
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str decodes a scalar as a string (numbers and booleans keep their text).
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		d.errf(n, "%s must be a string", path)
		return "", false
	}
	return n.Value, true
}

// integer decodes a YAML integer.
func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return v, true
		}
	}
	d.errf(n, "%s must be an integer", path)
	return 0, false
}

// intRange decodes an integer and checks min <= v <= max.
func (d *decoder) intRange(n *yaml.Node, path string, min, max int64) (int64, bool) {
	v, ok := d.integer(n, path)
	if ok && (v < min || v > max) {
		d.errf(resolve(n), "%s must be between %d and %d, got %d", path, min, max, v)
		return v, false
	}
	return v, ok
}

// number decodes a YAML integer or float as a finite float64.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		s := strings.ReplaceAll(n.Value, "_", "")
		if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v, true
		}
		if v, err := strconv.ParseInt(s, 0, 64); err == nil {
			return float64(v), true
		}
	}
	d.errf(n, "%s must be a number", path)
	return 0, false
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return v, true
		}
	}
	d.errf(n, "%s must be true or false", path)
	return false, false
}

// secretRef decodes {env: NAME} or {file: PATH}. A literal is an error that
// names the field and never repeats the value.
func (d *decoder) secretRef(n *yaml.Node, path string) (SecretRef, bool) {
	r := resolve(n)
	if r == nil || r.Kind != yaml.MappingNode {
		switch {
		case isNull(r):
			d.errf(r, "%s must be a secret reference {env: NAME} or {file: PATH}", path)
		case r.Kind == yaml.SequenceNode:
			d.errf(r, "%s must be a secret reference {env: NAME} or {file: PATH}, not a list", path)
		default:
			d.errf(r, "%s must be a secret reference {env: NAME} or {file: PATH}, not a literal value (secrets never go into spec files; the value is not shown)", path)
		}
		return SecretRef{}, false
	}
	pairs, _ := d.mapping(r, path, secretRefKeys)
	var ref SecretRef
	ok := true
	for _, p := range pairs {
		v := resolve(p.val)
		if v == nil || v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
			d.errf(p.val, "%s.%s must be a non-empty string", path, p.key.Value)
			ok = false
			continue
		}
		switch p.key.Value {
		case "env":
			if !validEnvName(v.Value) {
				d.errf(v, "%s.env must be an environment variable name (letters, digits and _, not starting with a digit; the value is not shown)", path)
				ok = false
			}
			ref.Env = v.Value
		case "file":
			ref.File = v.Value
		}
	}
	if len(pairs) > 1 {
		d.errf(r, "%s: set either env or file, not both", path)
		return SecretRef{}, false
	}
	if ok && ref.IsZero() {
		d.errf(r, "%s must be a secret reference {env: NAME} or {file: PATH}", path)
		return SecretRef{}, false
	}
	return ref, ok
}

// stringList decodes a sequence of strings; each item is checked by item.
func (d *decoder) stringList(n *yaml.Node, path string, item func(v *yaml.Node, path, s string) bool) ([]string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errf(n, "%s must be a list of strings", path)
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, it := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		s, good := d.str(it, p)
		if good && item != nil {
			good = item(resolve(it), p, s)
		}
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

func quoteList(list []string) string {
	return strings.Join(list, ", ")
}
