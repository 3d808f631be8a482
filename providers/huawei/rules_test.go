package huawei

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// 1,000 streams on 3 domains, each with its own COMMAND_RECORD rule,
// checked concurrently as plan does: each domain's rules are paged through
// once (4 pages of 100), not once per stream (which was N²/200 calls).
func TestCheckStreamPagesEachDomainOnce(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	domains := []string{"a.example.com", "b.example.com", "c.example.com"}
	streams := make([]spec.Stream, 1000)
	for i := range streams {
		streams[i] = spec.Stream{Domain: domains[i%3], App: "live", Name: fmt.Sprintf("s%04d", i)}
		if i%100 != 99 { // every 100th stream has no rule
			f.emu.AddRule(streams[i].Domain, "live", streams[i].Name, "COMMAND_RECORD")
		}
	}
	before := f.emu.Calls("ListRecordRules")
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range streams {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f.client.CheckStream(context.Background(), s)
		}()
	}
	wg.Wait()
	for i, s := range streams {
		if want := i%100 == 99; want != (errs[i] != nil) || want && providers.ClassOf(errs[i]) != providers.Permanent {
			t.Fatalf("%s: %v (rule missing: %v)", s, errs[i], want)
		}
	}
	if n := f.emu.Calls("ListRecordRules") - before; n != len(domains)*4 {
		t.Errorf("%d ListRecordRules calls for %d streams on %d domains, want %d (4 pages per domain)",
			n, len(streams), len(domains), len(domains)*4)
	}
}
