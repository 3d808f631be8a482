package spec_test

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/recordctl/recordctl/providers/all" // the provider types spec decodes
	"github.com/recordctl/recordctl/spec"
)

// tx is a valid tencent Provider named tx, the default target of test Recordings.
const tx = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec:
  type: tencent
  region: ap-guangzhou
  credentials: {secretId: {env: TX_ID}, secretKey: {env: TX_KEY}}
`

// ag is a valid agora Provider named ag.
const ag = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: ag}
spec:
  type: agora
  appId: app1
  credentials: {customerId: {env: AG_ID}, customerSecret: {env: AG_SECRET}}
`

// agStorage is a valid agora storage option block (two-space indent inside options).
const agStorage = `    storage: {vendor: 2, region: 0, bucket: b, accessKey: {env: AK}, secretKey: {env: SK}}
`

// prov renders a Provider named name whose spec body starts at line 5.
func prov(name, body string) string {
	return "apiVersion: recordctl/v1\nkind: Provider\nmetadata: {name: " + name + "}\nspec:\n" + body
}

// rec renders a Recording named name whose spec body starts at line 5.
func rec(name, body string) string {
	return "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: " + name + "}\nspec:\n" + body
}

// writeTree writes files (relative path -> content) below a new temp dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fixedNow is the instant tests load at: Monday 2026-03-02 00:00 UTC.
var fixedNow = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// loadFiles writes files and loads them at fixedNow.
func loadFiles(t testing.TB, files map[string]string) (*spec.Set, []*spec.Error) {
	t.Helper()
	set, err := spec.LoadAt(writeTree(t, files), fixedNow)
	return set, spec.Errors(err)
}

// render lists errors as "file:line:col: message" lines.
func render(errs []*spec.Error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

// sortByPos sorts "file:line:col: msg" strings as spec.Errors sorts errors.
func sortByPos(lines []string) {
	type key struct {
		file      string
		line, col int
	}
	parse := func(s string) key {
		head, _, _ := strings.Cut(s, ": ")
		parts := strings.Split(head, ":")
		k := key{file: parts[0]}
		if len(parts) == 3 {
			k.line, _ = strconv.Atoi(parts[1])
			k.col, _ = strconv.Atoi(parts[2])
		}
		return k
	}
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := parse(lines[i]), parse(lines[j])
		if a.file != b.file {
			return a.file < b.file
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.col < b.col
	})
}
