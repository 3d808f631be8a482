package sdktest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// settings is what `recordctl emulate -o json` prints.
type settings struct {
	Providers map[string]struct {
		Endpoint    string            `json:"endpoint"`
		Endpoints   []string          `json:"endpoints"`
		Region      string            `json:"region"`
		ProjectID   string            `json:"projectId"`
		AppID       string            `json:"appId"`
		Credentials map[string]string `json:"credentials"`
	} `json:"providers"`
	Env map[string]string `json:"env"`
}

// required: under `make sdk-test` (SDKTEST=1) a missing tool is a failure.
func required(t *testing.T, format string, a ...any) {
	t.Helper()
	if os.Getenv("SDKTEST") == "1" {
		t.Fatalf(format, a...)
	}
	t.Skipf(format+" (run `make sdk-test`)", a...)
}

// nodeReady returns the node binary once testdata's dependencies are installed.
func nodeReady(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		required(t, "node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join("testdata", "node_modules")); err != nil {
		required(t, "testdata/node_modules is missing: run `npm ci` in %s", filepath.Join("providers", "emulate", "sdktest", "testdata"))
	}
	return node
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// recordctl builds cmd/recordctl once per test process.
func recordctl(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "recordctl-sdktest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "recordctl")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, "github.com/recordctl/recordctl/cmd/recordctl").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startEmulator builds recordctl, runs `recordctl emulate -o json` on
// ephemeral loopback ports and returns what it printed; the process is
// stopped when the test ends.
func startEmulator(t *testing.T, extra ...string) settings {
	t.Helper()
	cmd := exec.Command(recordctl(t), append([]string{"emulate", "--listen", "127.0.0.1:0", "-o", "json"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n') // printed once every listener is up
	if err != nil {
		t.Fatalf("recordctl emulate printed no settings: %v\n%s", err, stderr.String())
	}
	var s settings
	if err := json.Unmarshal(line, &s); err != nil {
		t.Fatalf("recordctl emulate -o json printed %q: %v", line, err)
	}
	for _, typ := range []string{"tencent", "aliyun", "huawei", "agora"} {
		if s.Providers[typ].Endpoint == "" || len(s.Providers[typ].Credentials) == 0 {
			t.Fatalf("no endpoint or credentials for %s in %s", typ, line)
		}
	}
	return s
}

// runNode runs testdata/<script> with env and fails the test with its
// output unless it exits 0.
func runNode(t *testing.T, node, script string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "testdata"
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// TestOfficialSDKs runs each vendor's official SDK through its lifecycle
// against one `recordctl emulate`, configured only from what the command
// printed, each ending with a wrong-key request refused with the
// documented code (the scripts assert every step).
func TestOfficialSDKs(t *testing.T) {
	node := nodeReady(t)
	s := startEmulator(t)
	p := s.Providers
	hostPort := func(u string) string { return strings.TrimPrefix(u, "http://") }

	t.Run("tencent", func(t *testing.T) {
		// The Node.js SDK takes the endpoint without a scheme, derives the
		// scope service "127" from it and signs host without the port.
		out := runNode(t, node, "tencent.js", "ENDPOINT="+hostPort(p["tencent"].Endpoint),
			"SECRET_ID="+p["tencent"].Credentials["secretId"], "SECRET_KEY="+p["tencent"].Credentials["secretKey"])
		mustContain(t, out, "describe after delete", "wrong key refused AuthFailure.SignatureFailure")
	})
	t.Run("aliyun", func(t *testing.T) {
		out := runNode(t, node, "aliyun.js", "ENDPOINT="+p["aliyun"].Endpoint,
			"ACCESS_KEY_ID="+p["aliyun"].Credentials["accessKeyId"], "ACCESS_KEY_SECRET="+p["aliyun"].Credentials["accessKeySecret"])
		mustContain(t, out, "start again (query string): TaskAlreadyStarted", "cancel_delay", "wrong key refused: SignatureDoesNotMatch")
	})
	t.Run("huawei", func(t *testing.T) {
		out := runNode(t, node, "huawei.js", "ENDPOINT="+p["huawei"].Endpoint, "PROJECT_ID="+p["huawei"].ProjectID,
			"AK="+p["huawei"].Credentials["accessKey"], "SK="+p["huawei"].Credentials["secretKey"])
		mustContain(t, out, "CreateRecordRule", "STOP", "wrong key refused: APIGW.0301")
	})
	t.Run("agora", func(t *testing.T) {
		out := runNode(t, node, "agora.js", "ENDPOINT="+p["agora"].Endpoint, "APP_ID="+p["agora"].AppID,
			"CUSTOMER_ID="+p["agora"].Credentials["customerId"], "CUSTOMER_SECRET="+p["agora"].Credentials["customerSecret"])
		mustContain(t, out, "query fileListMode json", "stop fileListMode string", "wrong secret refused: 401")
	})
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestEnvMatchesJSON: the export lines' names carry the same values as the
// JSON object, including the Huawei project ID and the Agora App ID.
func TestEnvMatchesJSON(t *testing.T) {
	s := startEmulator(t)
	for name, want := range map[string]string{
		"RECORDCTL_EMULATOR_HUAWEI_PROJECTID":     s.Providers["huawei"].ProjectID,
		"RECORDCTL_EMULATOR_AGORA_APPID":          s.Providers["agora"].AppID,
		"RECORDCTL_EMULATOR_TENCENT_ENDPOINT":     s.Providers["tencent"].Endpoint,
		"RECORDCTL_EMULATOR_AGORA_ENDPOINTS":      strings.Join(s.Providers["agora"].Endpoints, ","),
		"RECORDCTL_EMULATOR_ALIYUN_ACCESSKEYID":   s.Providers["aliyun"].Credentials["accessKeyId"],
		"RECORDCTL_EMULATOR_TENCENT_SECRETKEY":    s.Providers["tencent"].Credentials["secretKey"],
		"RECORDCTL_EMULATOR_HUAWEI_REGION":        s.Providers["huawei"].Region,
		"RECORDCTL_EMULATOR_AGORA_CUSTOMERID":     s.Providers["agora"].Credentials["customerId"],
		"RECORDCTL_EMULATOR_ALIYUN_REGION":        s.Providers["aliyun"].Region,
		"RECORDCTL_EMULATOR_HUAWEI_ACCESSKEY":     s.Providers["huawei"].Credentials["accessKey"],
		"RECORDCTL_EMULATOR_TENCENT_REGION":       s.Providers["tencent"].Region,
		"RECORDCTL_EMULATOR_AGORA_CUSTOMERSECRET": s.Providers["agora"].Credentials["customerSecret"],
	} {
		if want == "" || s.Env[name] != want {
			t.Errorf("%s = %q, want %q (non-empty)", name, s.Env[name], want)
		}
	}
}
