package spec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/recordctl/recordctl/spec"
)

// benchTree writes 100 files of 100 Recordings each (10,000 in all, with the
// mix of schedules, windows and options a large newsroom would have) plus the
// four Providers, and returns the folder and its total size.
func benchTree(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	provs := []string{tx, ag,
		prov("al", "  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: {env: A}, accessKeySecret: {env: B}}\n"),
		prov("hw", "  type: huawei\n  region: cn-north-4\n  projectId: p\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n")}
	var total int64
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(content))
	}
	write("providers.yaml", strings.Join(provs, "---\n"))
	zones := []string{"UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"}
	for f := 0; f < 100; f++ {
		var sb strings.Builder
		for i := 0; i < 100; i++ {
			n := f*100 + i
			if i > 0 {
				sb.WriteString("---\n")
			}
			fmt.Fprintf(&sb, "apiVersion: recordctl/v1\nkind: Recording\nmetadata:\n  name: rec-%05d\n  labels: {team: team-%d, tier: gold}\nspec:\n", n, f%7)
			switch n % 4 {
			case 0:
				fmt.Fprintf(&sb, "  provider: tx\n  stream: {domain: push%d.example.com, app: live, name: s%d}\n", f, n)
				fmt.Fprintf(&sb, "  schedule:\n    cron: \"%d %d * * MON-FRI\"\n    duration: 1h30m\n    timezone: %s\n", n%60, n%24, zones[n%len(zones)])
				sb.WriteString("  options: {templateId: 1234, streamType: 0}\n")
			case 1:
				fmt.Fprintf(&sb, "  provider: al\n  stream: {domain: push%d.example.com, app: live, name: s%d}\n", f, n)
				fmt.Fprintf(&sb, "  windows:\n    - {start: \"2026-12-31T22:00:00+08:00\", end: \"2027-01-01T01:00:00+08:00\"}\n")
				sb.WriteString("  options: {finalizeImmediately: true}\n")
			case 2:
				fmt.Fprintf(&sb, "  provider: hw\n  stream: {domain: push%d.example.com, app: live, name: s%d}\n", f, n)
				fmt.Fprintf(&sb, "  schedule: {cron: \"@daily\", duration: 45m, timezone: %s}\n", zones[n%len(zones)])
			case 3:
				fmt.Fprintf(&sb, "  provider: ag\n  stream: {channel: ch-%d}\n  continuous: true\n", n)
				sb.WriteString("  options:\n    mode: mix\n    uid: 527841\n    backupUid: 527842\n    maxIdleTime: 600\n" + agStorage)
			}
		}
		write(fmt.Sprintf("team-%03d.yaml", f), sb.String())
	}
	return dir, total
}

// BenchmarkLoadDir compares spec.Load with a bare yaml.v3 decode (into
// yaml.Node) of the same files; target: Load <= 1.5x the bare decode.
func BenchmarkLoadDir(b *testing.B) {
	dir, size := benchTree(b)
	set, err := spec.LoadAt(dir, fixedNow)
	if err != nil || len(set.Recordings) != 10000 {
		b.Fatalf("bench tree must be valid: %d recordings, %v", len(set.Recordings), err)
	}
	b.Run("Load", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := spec.LoadAt(dir, fixedNow); err != nil {
				b.Fatal(err)
			}
		}
	})
	paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	bare := func(b *testing.B) {
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			for {
				var n yaml.Node
				if err := dec.Decode(&n); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("yaml.v3-Node", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			bare(b)
		}
	})
	// Ratio runs both alternately in each iteration, so that a noisy machine
	// slows both alike, and reports Load's time over the bare decode's.
	b.Run("ratio", func(b *testing.B) {
		var tLoad, tBare time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, err := spec.LoadAt(dir, fixedNow); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			bare(b)
			tLoad, tBare = tLoad+t1.Sub(t0), tBare+time.Since(t1)
		}
		b.ReportMetric(float64(tLoad)/float64(tBare), "load/bare")
	})
}
