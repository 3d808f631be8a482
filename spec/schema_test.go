package spec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/recordctl/recordctl/spec"
)

var update = flag.Bool("update", false, "rewrite schemas/*.schema.json from spec.Schema")

// schemaFiles maps each committed schema file to the kind it is generated for.
var schemaFiles = map[string]string{
	"provider.schema.json":  spec.KindProvider,
	"recording.schema.json": spec.KindRecording,
	"recordctl.schema.json": "",
}

// TestSchemaFiles fails when schemas/ is stale; -update rewrites it.
func TestSchemaFiles(t *testing.T) {
	for file, kind := range schemaFiles {
		want, err := spec.Schema(kind)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "schemas", file)
		if *update {
			must(t, os.MkdirAll(filepath.Dir(path), 0o755))
			must(t, os.WriteFile(path, want, 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run: go test ./spec -run TestSchemaFiles -update", path)
		}
	}
}

// compileSchemas compiles the committed schema files.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for file := range schemaFiles {
		b, err := os.ReadFile(filepath.Join("..", "schemas", file))
		must(t, err)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		must(t, err)
		must(t, c.AddResource("file:///schemas/"+file, doc))
	}
	for file := range schemaFiles {
		s, err := c.Compile("file:///schemas/" + file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[file] = s
	}
	return out
}

// yamlDocs turns each document of a YAML file into a JSON value, as an editor's
// YAML language server would see it (timestamps stay strings).
func yamlDocs(t *testing.T, data []byte) []any {
	t.Helper()
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if len(n.Content) == 0 {
			continue
		}
		b, err := json.Marshal(nodeValue(n.Content[0]))
		must(t, err)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		must(t, err)
		out = append(out, v)
	}
}

func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, nodeValue(c))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return v
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!null":
		return nil
	}
	return n.Value
}

var reSchemaComment = regexp.MustCompile(`^# yaml-language-server: \$schema=(\S+)\n`)

// TestExamplesPassSchemaAndSpec: every example file names a schema on its
// first line, every document passes it, and spec loads the examples cleanly.
func TestExamplesPassSchemaAndSpec(t *testing.T) {
	schemas := compileSchemas(t)
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*", "*.yaml"))
	deeper, _ := filepath.Glob(filepath.Join("..", "examples", "*", "*", "*.yaml"))
	files = append(files, deeper...)
	if len(files) < 5 {
		t.Fatalf("found only %d example files", len(files))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		must(t, err)
		m := reSchemaComment.FindSubmatch(data)
		if m == nil {
			t.Errorf("%s: first line must be # yaml-language-server: $schema=...", path)
			continue
		}
		ref := filepath.Join(filepath.Dir(path), string(m[1]))
		s := schemas[filepath.Base(ref)]
		if s == nil || filepath.Clean(filepath.Dir(ref)) != filepath.Join("..", "schemas") {
			t.Errorf("%s: $schema=%s does not point at a file in schemas/", path, m[1])
			continue
		}
		for i, doc := range yamlDocs(t, data) {
			if err := s.Validate(doc); err != nil {
				t.Errorf("%s document %d fails %s:\n%v", path, i+1, filepath.Base(ref), err)
			}
		}
		if _, err := spec.ParseFile(path, data); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// TestSchemaRejectsWhatSpecRejects: documents spec rejects on their own are
// rejected by the schema too (so the schema is not vacuous), and the valid
// test documents pass it.
func TestSchemaRejectsWhatSpecRejects(t *testing.T) {
	all := compileSchemas(t)["recordctl.schema.json"]
	good := []string{tx, ag,
		rec("r", "  provider: tx\n"+okStream+okSched),
		rec("r", "  provider: ag\n  stream: {channel: c}\n  continuous: true\n  options:\n    mode: mix\n    uid: 1\n"+agStorage),
		rec("r", "  provider: tx\n"+okStream+"  windows: [{start: \"2026-03-02T10:00:00+08:00\", end: \"2026-03-02T11:00:00Z\"}]\n"),
	}
	bad := map[string]string{
		"unknown top-level field": tx + "status: {}\n",
		"wrong apiVersion":        strings.Replace(tx, "recordctl/v1", "recordctl/v2", 1),
		"bad name":                strings.Replace(tx, "name: tx", "name: Tx", 1),
		"unknown type":            prov("p", "  type: tencnet\n  credentials: {}\n"),
		"literal credential":      prov("p", "  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: x, secretKey: {env: B}}\n"),
		"missing credential":      prov("p", "  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {env: A}}\n"),
		"credential of another type": prov("p", "  type: tencent\n  region: ap-guangzhou\n"+
			"  credentials: {secretId: {env: A}, secretKey: {env: B}, accessKey: {env: C}}\n"),
		"field of another type":    prov("p", "  type: tencent\n  region: ap-guangzhou\n  appId: x\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"tencent ap-beijing":       prov("p", "  type: tencent\n  region: ap-beijing\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"huawei without projectId": prov("p", "  type: huawei\n  region: cn-north-4\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n"),
		"http endpoint":            prov("p", "  type: tencent\n  region: ap-guangzhou\n  endpoint: http://x.example.com\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"rateLimit 0":              prov("p", "  type: tencent\n  region: ap-guangzhou\n  rateLimit: 0\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"no when":                  rec("r", "  provider: tx\n"+okStream),
		"two whens":                rec("r", "  provider: tx\n"+okStream+okSched+"  continuous: true\n"),
		"both stream shapes":       rec("r", "  provider: tx\n  stream: {domain: d.example.com, app: a, name: n, channel: c}\n"+okSched),
		"incomplete stream":        rec("r", "  provider: tx\n  stream: {domain: d.example.com, app: a}\n"+okSched),
		"duration not a duration":  rec("r", "  provider: tx\n"+okStream+"  schedule: {cron: \"@daily\", duration: 90}\n"),
		"window not RFC 3339":      rec("r", "  provider: tx\n"+okStream+"  windows: [{start: \"2026-03-02\", end: \"2026-03-03T00:00:00Z\"}]\n"),
		"unknown option":           rec("r", "  provider: tx\n"+okStream+okSched+"  options: {template: 1}\n"),
		"streamType 2":             rec("r", "  provider: tx\n"+okStream+okSched+"  options: {streamType: 2}\n"),
		"agora mode":               rec("r", "  provider: ag\n  stream: {channel: c}\n"+okSched+"  options: {mode: mixed}\n"),
		"agora uid 0":              rec("r", "  provider: ag\n  stream: {channel: c}\n"+okSched+"  options: {uid: 0}\n"),
		"maxIdleTime 4":            rec("r", "  provider: ag\n  stream: {channel: c}\n"+okSched+"  options: {maxIdleTime: 4}\n"),
		"storage without bucket":   rec("r", "  provider: ag\n  stream: {channel: c}\n"+okSched+"  options: {storage: {vendor: 2, region: 0, accessKey: {env: A}, secretKey: {env: B}}}\n"),
		"literal token":            rec("r", "  provider: ag\n  stream: {channel: c}\n"+okSched+"  options: {token: abc}\n"),
	}
	for i, doc := range good {
		if err := all.Validate(yamlDocs(t, []byte(doc))[0]); err != nil {
			t.Errorf("good document %d fails the schema: %v", i, err)
		}
	}
	for name, doc := range bad {
		if specAccepts(doc) {
			t.Errorf("%s: spec accepts it", name)
		}
		if err := all.Validate(yamlDocs(t, []byte(doc))[0]); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// specAccepts reports whether spec loads doc cleanly; a Recording is built
// with the test Providers tx and ag (its options are checked against them).
func specAccepts(doc string) bool {
	f, err := spec.ParseFile("x.yaml", []byte(doc))
	if err != nil {
		return false
	}
	files := []*spec.File{f}
	if len(f.Recordings) > 0 {
		p, err := spec.ParseFile("p.yaml", []byte(tx+"---\n"+ag))
		if err != nil {
			return false
		}
		files = append(files, p)
	}
	_, err = spec.BuildAt(".", files, fixedNow)
	return err == nil
}

func TestSchemaUnknownKind(t *testing.T) {
	if _, err := spec.Schema("Plan"); err == nil {
		t.Error("Schema(\"Plan\") must fail")
	}
}
