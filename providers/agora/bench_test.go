package agora

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/recordctl/recordctl/providers"
)

// BenchmarkAcquireStart measures one Create (acquire + start) against the
// emulator over loopback HTTP.
func BenchmarkAcquireStart(b *testing.B) {
	e := newEnv(b)
	p, err := New(e.doc, providers.Options{HTTPClient: &http.Client{}})
	if err != nil {
		b.Fatal(err)
	}
	rec := e.recording("bench", nil)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := rec.Spec.Stream
		s.Channel = fmt.Sprintf("bench-%d", i)
		if _, err := p.Create(context.Background(), providers.CreateRequest{Recording: rec, Stream: s}); err != nil {
			b.Fatal(err)
		}
	}
}
