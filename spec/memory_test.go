package spec_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/spec"
)

// denseShapes generate spec files of about n bytes, from ordinary documents
// to the densest YAML (one node per two bytes).
var denseShapes = []struct {
	name string
	gen  func(n int) string
}{
	{"many recordings", func(n int) string {
		var b strings.Builder
		b.WriteString(tx)
		for i := 0; b.Len() < n-300; i++ {
			fmt.Fprintf(&b, "---\napiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: r%d}\nspec:\n  provider: tx\n  stream: {domain: d.example.com, app: a, name: n%d}\n  schedule: {cron: \"0 9 * * *\", duration: 1h}\n", i, i)
		}
		return b.String()
	}},
	{"one long windows list", func(n int) string {
		var b strings.Builder
		b.WriteString(tx + "---\n" + rec("r", "  provider: tx\n  stream: {domain: d.example.com, app: a, name: n}\n  windows:\n"))
		for i := 0; b.Len() < n-100; i++ {
			fmt.Fprintf(&b, "  - {start: 2026-12-31T22:00:00+08:00, end: 2027-01-01T01:00:00+08:00}\n")
		}
		return b.String()
	}},
	{"flow labels", func(n int) string {
		var b strings.Builder
		b.WriteString("apiVersion: recordctl/v1\nkind: Recording\nmetadata:\n  name: r\n  labels: {")
		for i := 0; b.Len() < n-100; i++ {
			fmt.Fprintf(&b, "a%d: b, ", i)
		}
		b.WriteString("z: z}\nspec: {}\n")
		return b.String()
	}},
	{"one-character list items", func(n int) string {
		var b strings.Builder
		b.WriteString(rec("r", "  provider: tx\n  stream: {domain: d.example.com, app: a, name: n}\n  schedule: {cron: \"0 9 * * *\", duration: 1h, exclude: ["))
		for b.Len() < n-100 {
			b.WriteString("1,")
		}
		b.WriteString("1]}\n")
		return b.String()
	}},
}

// loadAlloc loads dir and returns the bytes allocated meanwhile.
func loadAlloc(t testing.TB, dir string) (uint64, error) {
	runtime.GC()
	var a, z runtime.MemStats
	runtime.ReadMemStats(&a)
	_, err := spec.LoadAt(dir, fixedNow)
	runtime.ReadMemStats(&z)
	return z.TotalAlloc - a.TotalAlloc, err
}

// TestMain lets a test run the loader in a child process (peakRSS).
func TestMain(m *testing.M) {
	if dir := os.Getenv("RECORDCTL_LOAD_PROBE"); dir != "" {
		spec.LoadAt(dir, fixedNow)
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				fmt.Println(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmHWM:"), "kB")))
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// peakRSS loads dir in a child process and returns its peak resident set
// (VmHWM) in bytes, or 0 where /proc is not available.
func peakRSS(t *testing.T, dir string) int64 {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		return 0
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECORDCTL_LOAD_PROBE="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("probe output %q", out)
	}
	return kb << 10
}

// Loading a file at the cap stays near 300 MB of resident memory even for
// the densest YAML; a larger file is refused by its size, before it is read.
func TestLoadMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("loads files of a few hundred MB of YAML nodes")
	}
	base := peakRSS(t, t.TempDir())
	for _, sh := range denseShapes {
		data := sh.gen(spec.MaxFileSize)
		dir := writeTree(t, map[string]string{"big.yaml": data})
		alloc, _ := loadAlloc(t, dir)
		rss := peakRSS(t, dir) - base
		t.Logf("%-26s %8d bytes: %6.1f MB allocated (%5.1f B/B), peak RSS +%6.1f MB (%5.1f B/B)", sh.name, len(data),
			float64(alloc)/1e6, float64(alloc)/float64(len(data)), float64(rss)/1e6, float64(rss)/float64(len(data)))
		if rss > 300<<20 && !raceEnabled {
			t.Errorf("%s: loading a %d-byte file took %d MB of RSS; lower spec.MaxFileSize", sh.name, len(data), rss>>20)
		}
	}
	// A 30 MB file: refused with its size and the cap, without reading it.
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(30 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	alloc, err := loadAlloc(t, dir)
	want := "big.yaml: file is 30.0 MiB (31457280 bytes), over the 1 MiB cap on a spec file"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("30 MB file: %v\nwant %s", err, want)
	}
	if alloc > 1<<20 {
		t.Errorf("refusing a 30 MB file allocated %d bytes", alloc)
	}
	if rss := peakRSS(t, dir) - base; rss > 8<<20 && !raceEnabled {
		t.Errorf("refusing a 30 MB file took %d MB of RSS", rss>>20)
	}
}

// BenchmarkLoadDense reports the bytes allocated per input byte for each
// shape of file at the cap.
func BenchmarkLoadDense(b *testing.B) {
	for _, sh := range denseShapes {
		b.Run(strings.ReplaceAll(sh.name, " ", "-"), func(b *testing.B) {
			data := sh.gen(spec.MaxFileSize)
			dir := writeTree(b, map[string]string{"big.yaml": data})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var total uint64
			for b.Loop() {
				a, _ := loadAlloc(b, dir)
				total += a
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(len(data)), "alloc-B/input-B")
		})
	}
}
