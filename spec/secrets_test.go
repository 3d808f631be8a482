package spec_test

import (
	"strings"
	"testing"
)

// TestLiteralSecretsAreNeverRepeated writes literal secrets wherever a
// reference belongs (and in a few places they might be mistaken for one) and
// checks every error names the field but never contains the value.
func TestLiteralSecretsAreNeverRepeated(t *testing.T) {
	const v = "S3cr3t-Value-42"
	files := map[string]string{
		"p.yaml": prov("tx", "  type: tencent\n  region: ap-guangzhou\n  credentials:\n    secretId: "+v+"\n    secretKey: \""+v+"\"\n") + "---\n" +
			prov("al", "  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: ["+v+"], accessKeySecret: {env: \""+v+"\"}}\n") + "---\n" +
			prov("hw", "  type: huawei\n  region: cn-north-4\n  projectId: p\n  endpoint: https://user:"+v+"@live.example.com\n  credentials: {accessKey: {env: A, file: "+v+"}, secretKey: !!binary "+v+"}\n") + "---\n" +
			ag,
		"r.yaml": rec("r", "  provider: ag\n  stream: {channel: c}\n  continuous: true\n  options:\n    token: "+v+"\n    storage: {vendor: 2, region: 0, bucket: b, accessKey: "+v+", secretKey: {env: "+v+"}}\n"),
	}
	_, errs := loadFiles(t, files)
	want := []string{
		"p.yaml:8:15: spec.credentials.secretId must be a secret reference",
		"p.yaml:9:16: spec.credentials.secretKey must be a secret reference",
		"p.yaml:17:30: spec.credentials.accessKeyId must be a secret reference {env: NAME} or {file: PATH}, not a list",
		"p.yaml:17:72: spec.credentials.accessKeySecret.env must be an environment variable name",
		"p.yaml:26:13: spec.endpoint must not carry a user or password",
		"p.yaml:27:28: spec.credentials.accessKey: set either env or file, not both",
		"p.yaml:27:72: spec.credentials.secretKey must be a secret reference",
		"r.yaml:9:12: spec.options.token must be a secret reference",
		"r.yaml:10:59: spec.options.storage.accessKey must be a secret reference",
		"r.yaml:10:93: spec.options.storage.secretKey.env must be an environment variable name",
	}
	got := strings.Split(strings.TrimSpace(render(errs)), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want[i])
		}
		if strings.Contains(got[i], v) || strings.Contains(got[i], "S3cr3t") {
			t.Errorf("error repeats the secret: %s", got[i])
		}
	}
}
