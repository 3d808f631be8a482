package tencent

import (
	"context"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
)

// BenchmarkSign measures one TC3-HMAC-SHA256 signature.
func BenchmarkSign(b *testing.B) {
	s := Signer{SecretID: tencentemu.DemoSecretID, SecretKey: tencentemu.DemoSecretKey}
	body := []byte(`{"StreamName":"news","DomainName":"push.example.com","AppName":"live","EndTime":1795435200,"StartTime":1795431600}`)
	for b.Loop() {
		s.Sign("127.0.0.1:8080", contentType, body, 1795428000)
	}
}

// BenchmarkRoundTrip measures sign + loopback HTTP + signature check +
// StopRecordTask + response decoding against the emulator.
func BenchmarkRoundTrip(b *testing.B) {
	f := newFixture(b)
	f.emu.SetRateLimit(0)
	task := f.emu.InjectTask(news, t0.Add(time.Hour), t0.Add(2*time.Hour))
	ctx := context.Background()
	for b.Loop() {
		if _, err := f.c.Stop(ctx, providers.Task{ID: task.TaskID}); err != nil {
			b.Fatal(err)
		}
	}
}
