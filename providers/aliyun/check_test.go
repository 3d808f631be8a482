package aliyun

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/spec"
)

// 1,000 streams on 3 domains, checked concurrently as plan does: the
// record configuration is read once per domain (every page of it), not
// once per stream, and every answer is still right.
func TestCheckStreamReadsEachDomainOnce(t *testing.T) {
	f := newFixture(t, aliyunemu.DemoAccessKeySecret)
	domains := []string{"a.example.com", "b.example.com", "c.example.com"}
	for _, d := range domains {
		for i := 0; i < 40; i++ { // two pages of 30
			f.emu.AddRecordConfig(d, fmt.Sprintf("app%02d", i))
		}
	}
	streams := make([]spec.Stream, 1000)
	for i := range streams {
		streams[i] = spec.Stream{Domain: domains[i%3], App: fmt.Sprintf("app%02d", i%41), Name: fmt.Sprintf("s%04d", i)}
	}
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
		switch {
		case s.App == "app40": // no configuration for it
			if providers.ClassOf(errs[i]) != providers.Permanent || errs[i] == nil {
				t.Fatalf("%s: %v, want the missing configuration", s, errs[i])
			}
		case errs[i] != nil:
			t.Fatalf("%s: %v", s, errs[i])
		}
	}
	if n := f.emu.Calls("DescribeLiveRecordConfig"); n != len(domains)*2 {
		t.Errorf("%d DescribeLiveRecordConfig calls for %d streams on %d domains, want %d (2 pages per domain)",
			n, len(streams), len(domains), len(domains)*2)
	}
	// Once ConfigTTL has passed, the configuration is read again.
	f.clk.Advance(ConfigTTL)
	if err := f.client.CheckStream(context.Background(), streams[0]); err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Calls("DescribeLiveRecordConfig"); n != len(domains)*2+2 {
		t.Errorf("after ConfigTTL: %d calls, want the domain read again", n)
	}
}
