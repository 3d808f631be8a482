package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// BenchmarkPlan10k is `recordctl plan DIR --emulate` on 10,000 recordings
// (2,500 on each provider type, 3 domains each; the Alibaba and Huawei
// windows are open, so every one of their 5,000 streams is checked), timed
// against a bare yaml.v3 decode of the same files in the same process.
// Each op runs both three times, alternating; reported: the median ratio
// plan/decode (target ≤ 1.5) and the median times.
//
// --emulate sets up one COMMAND_RECORD rule per Huawei stream, so reading
// a domain's rules takes 9 pages, 27 requests at Huawei's 20/s: about
// 1.4 s of the plan. "huawei-unpaced" lifts Huawei's rateLimit to show
// what the rest of the plan costs.
func BenchmarkPlan10k(b *testing.B) {
	for _, c := range []struct{ name, hwRate string }{{"as-written", ""}, {"huawei-unpaced", "\n  rateLimit: 100000"}} {
		b.Run(c.name, func(b *testing.B) { benchPlan(b, c.hwRate) })
	}
}

func benchPlan(b *testing.B, hwRate string) {
	dir := b.TempDir()
	writeFleet(b, dir, 10000, 20, hwRate)
	state := filepath.Join(b.TempDir(), "state")
	var ratios, plans, decodes []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for rep := 0; rep < 3; rep++ {
			t0 := time.Now()
			docs := decodeAll(b, dir)
			dec := time.Since(t0)
			if docs != 10000+4 {
				b.Fatalf("decoded %d documents", docs)
			}
			var out, errb bytes.Buffer
			t1 := time.Now()
			code := run([]string{"plan", dir, "--emulate", "--state", state}, strings.NewReader(""), &out, &errb)
			pl := time.Since(t1)
			var creates int
			fmt.Sscanf(out.String()[strings.LastIndex(out.String(), "Plan: "):], "Plan: %d to create", &creates)
			if code != 0 || creates < 7500 || strings.Contains(out.String(), "note:") {
				b.Fatalf("plan: exit %d\n%s\n%s", code, tail(out.String()), errb.String())
			}
			ratios = append(ratios, pl.Seconds()/dec.Seconds())
			plans = append(plans, pl.Seconds())
			decodes = append(decodes, dec.Seconds())
		}
	}
	b.ReportMetric(median(ratios), "plan/decode")
	b.ReportMetric(median(plans)*1000, "plan_ms")
	b.ReportMetric(median(decodes)*1000, "decode_ms")
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// decodeAll decodes every YAML document under dir with yaml.v3, nothing
// else, and returns how many there were.
func decodeAll(b *testing.B, dir string) int {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		for {
			var v any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			n++
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// writeFleet writes one Provider per type and n Recordings over files
// files: Alibaba and Huawei continuous (open now), Tencent and Agora daily
// in three time zones.
func writeFleet(b *testing.B, dir string, n, files int, hwRate string) {
	var p strings.Builder
	for _, doc := range []string{
		"{name: tc}\nspec:\n  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {env: B_TC_ID}, secretKey: {env: B_TC_KEY}}",
		"{name: ali}\nspec:\n  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: {env: B_ALI_ID}, accessKeySecret: {env: B_ALI_KEY}}",
		"{name: hw}\nspec:\n  type: huawei\n  region: cn-north-4" + hwRate + "\n  projectId: 0123456789abcdef0123456789abcdef\n  credentials: {accessKey: {env: B_HW_AK}, secretKey: {env: B_HW_SK}}",
		"{name: ag}\nspec:\n  type: agora\n  appId: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\n  credentials: {customerId: {env: B_AG_ID}, customerSecret: {env: B_AG_SECRET}}",
	} {
		if p.Len() > 0 {
			p.WriteString("---\n")
		}
		fmt.Fprintf(&p, "apiVersion: recordctl/v1\nkind: Provider\nmetadata: %s\n", doc)
	}
	if err := os.WriteFile(filepath.Join(dir, "providers.yaml"), []byte(p.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	zones := []string{"Asia/Shanghai", "Europe/Berlin", "America/New_York"}
	bufs := make([]strings.Builder, files)
	for i := 0; i < n; i++ {
		w := &bufs[i%files]
		if w.Len() > 0 {
			w.WriteString("---\n")
		}
		dom := fmt.Sprintf("push%d.example.com", i%3)
		fmt.Fprintf(w, "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: rec-%05d, labels: {team: t%d}}\nspec:\n", i, i%files)
		switch i % 4 {
		case 0:
			fmt.Fprintf(w, "  provider: tc\n  stream: {domain: %s, app: live, name: s%05d}\n  schedule: {cron: \"%d %d * * *\", duration: 1h, timezone: %s}\n",
				dom, i, i%60, i%24, zones[i%3])
		case 1:
			fmt.Fprintf(w, "  provider: ali\n  stream: {domain: %s, app: live, name: s%05d}\n  continuous: true\n", dom, i)
		case 2:
			fmt.Fprintf(w, "  provider: hw\n  stream: {domain: %s, app: live, name: s%05d}\n  continuous: true\n", dom, i)
		case 3:
			fmt.Fprintf(w, "  provider: ag\n  stream: {channel: ch%05d}\n  schedule: {cron: \"0 3 * * *\", duration: 1h, timezone: %s}\n"+
				"  options:\n    token: {env: B_AG_TOKEN}\n    storage: {vendor: 2, region: 0, bucket: rec, accessKey: {env: B_OSS_AK}, secretKey: {env: B_OSS_SK}}\n",
				i, zones[i%3])
		}
	}
	for f := range bufs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("team-%02d.yaml", f)), []byte(bufs[f].String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
