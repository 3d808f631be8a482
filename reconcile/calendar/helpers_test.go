package calendar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/recordctl/recordctl/providers/all"
	"github.com/recordctl/recordctl/spec"
)

const providersYAML = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec:
  type: tencent
  region: ap-guangzhou
  credentials: {secretId: {env: TX_ID}, secretKey: {env: TX_KEY}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: hw}
spec:
  type: huawei
  region: ap-southeast-3
  projectId: 0123456789abcdef0123456789abcdef
  credentials: {accessKey: {env: HW_AK}, secretKey: {env: HW_SK}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  credentials: {accessKeyId: {env: ALI_ID}, accessKeySecret: {env: ALI_KEY}}
`

// loadSet writes the documents (joined by ---) beside the three Provider
// documents and loads them as recordctl does, validated at now.
func loadSet(t testing.TB, now time.Time, docs ...string) *spec.Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "providers.yaml"), []byte(providersYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "recordings.yaml"), []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := spec.LoadAt(dir, now)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set
}

// cronRec is a Recording on a cron schedule.
func cronRec(name, prov, stream, cron, dur, zone string) string {
	return "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: " + name + ", labels: {desk: " + prov + "}}\nspec:\n  provider: " + prov +
		"\n  stream: {domain: push.example.com, app: live, name: " + stream + "}\n  schedule:\n    cron: \"" + cron + "\"\n    duration: " + dur +
		"\n    timezone: " + zone + "\n"
}

// winRec is a Recording with explicit windows (RFC 3339 start/end pairs).
func winRec(name, prov, stream string, se ...string) string {
	s := "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: " + name + "}\nspec:\n  provider: " + prov +
		"\n  stream: {domain: push.example.com, app: live, name: " + stream + "}\n  windows:\n"
	for i := 0; i+1 < len(se); i += 2 {
		s += "    - {start: " + se[i] + ", end: " + se[i+1] + "}\n"
	}
	return s
}

// contRec is a continuous Recording.
func contRec(name, prov, stream string) string {
	return "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: " + name + "}\nspec:\n  provider: " + prov +
		"\n  stream: {domain: push.example.com, app: live, name: " + stream + "}\n  continuous: true\n"
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
