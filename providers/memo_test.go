package providers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
)

// Concurrent lookups of one key share one call; the answer is reused for
// TTL; errors are not kept; Within asks for a fresher answer.
func TestMemoSharesOneCallPerKey(t *testing.T) {
	clk := clocktest.New(t0)
	m := &Memo[string, int]{TTL: time.Minute, Clock: clk}
	var calls atomic.Int32
	release, fetching := make(chan struct{}), make(chan struct{}, 1)
	fetch := func(context.Context) (int, error) {
		calls.Add(1)
		select {
		case fetching <- struct{}{}:
		default:
		}
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := m.Get(context.Background(), "d", fetch); v != 7 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
		}()
	}
	<-fetching // the one fetch has started; the others wait for it or find its answer
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls for 20 concurrent lookups", n)
	}
	clk.Step(59 * time.Second)
	m.Get(context.Background(), "d", fetch)
	if n := calls.Load(); n != 1 {
		t.Errorf("refetched within TTL")
	}
	m.Within(context.Background(), "d", 10*time.Second, fetch)
	if n := calls.Load(); n != 2 {
		t.Errorf("Within(10 s) reused a 59 s old answer")
	}
	clk.Step(time.Minute)
	m.Get(context.Background(), "d", fetch)
	if n := calls.Load(); n != 3 {
		t.Errorf("not refetched after TTL")
	}
	boom := errors.New("boom")
	failing := func(context.Context) (int, error) { calls.Add(1); return 0, boom }
	for i := 0; i < 2; i++ {
		if _, err := m.Get(context.Background(), "e", failing); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("an error was cached")
	}
}

// A waiter whose own context is fine does not inherit the cancellation of
// the caller that was fetching.
func TestMemoFetcherCancelled(t *testing.T) {
	m := &Memo[string, int]{TTL: time.Minute, Clock: clocktest.New(t0)}
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		m.Get(ctx, "k", func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
	}()
	<-started
	done := make(chan int)
	go func() {
		v, _ := m.Get(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
		done <- v
	}()
	cancel()
	if v := <-done; v != 3 {
		t.Errorf("waiter got %d, want its own fetch (3)", v)
	}
}
