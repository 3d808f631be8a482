package emulate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// convergeDocs: one Provider of each type and a continuous recording on
// each, so the desired set does not move while the commands run.
const convergeDocs = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec:
  type: tencent
  region: ap-guangzhou
  credentials: {secretId: {env: NOT_SET_TX_ID}, secretKey: {env: NOT_SET_TX_KEY}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  credentials: {accessKeyId: {env: NOT_SET_ALI_ID}, accessKeySecret: {env: NOT_SET_ALI_KEY}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: hw}
spec:
  type: huawei
  region: cn-north-4
  projectId: 0123456789abcdef0123456789abcdef
  credentials: {accessKey: {env: NOT_SET_HW_AK}, secretKey: {env: NOT_SET_HW_SK}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ag}
spec:
  type: agora
  appId: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
  credentials: {customerId: {env: NOT_SET_AG_ID}, customerSecret: {env: NOT_SET_AG_SECRET}}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: tx-lobby}
spec:
  provider: tx
  stream: {domain: push.example.com, app: live, name: lobby}
  continuous: true
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: ali-radio}
spec:
  provider: ali
  stream: {domain: push.example.com, app: radio, name: talk}
  continuous: true
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: hw-weather}
spec:
  provider: hw
  stream: {domain: publish.example.com, app: live, name: weather}
  continuous: true
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: ag-studio}
spec:
  provider: ag
  stream: {channel: studio}
  continuous: true
  options:
    mode: mix
    uid: 527841
    storage: {vendor: 2, region: 0, bucket: rec, accessKey: {env: NOT_SET_OSS_ID}, secretKey: {env: NOT_SET_OSS_KEY}}
`

// TestEmulateConvergesAcrossCommands: each --emulate command starts its
// own emulator, but their state persists beside the recordctl state, so
// what apply created is still there for the next plan: "No changes" and
// exit 0 with --detailed-exitcode, on the built binary.
func TestEmulateConvergesAcrossCommands(t *testing.T) {
	bin := recordctlBinary(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "docs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docs", "docs.yaml"), []byte(convergeDocs), 0o600); err != nil {
		t.Fatal(err)
	}
	apply := runCLI(t, bin, dir, "apply", "docs", "--emulate", "--auto-approve")
	// Three command providers' continuous recordings, and Tencent's continuous
	// one chained into daily tasks as far ahead as Tencent accepts.
	if apply.code != 0 || !regexp.MustCompile(`Apply complete: ([4-9]|10) created, 0 stopped, 0 deleted, 0 failed`).Match(apply.stdout) {
		t.Fatalf("apply exit %d\n%s\n%s", apply.code, apply.stdout, apply.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".recordctl", "emulate-data", "emulators.json")); err != nil {
		t.Fatalf("no emulator state beside the recordctl state: %v", err)
	}
	plan := runCLI(t, bin, dir, "plan", "docs", "--emulate")
	if plan.code != 0 || !strings.Contains(string(plan.stdout), "No changes") {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	detailed := runCLI(t, bin, dir, "plan", "docs", "--emulate", "--detailed-exitcode")
	if detailed.code != 0 {
		t.Fatalf("plan --detailed-exitcode: exit %d, want 0\n%s\n%s", detailed.code, detailed.stdout, detailed.stderr)
	}
}
