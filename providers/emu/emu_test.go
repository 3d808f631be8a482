package emu

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A lost answer: the service acts, the caller sees a broken connection.
// The admin API is never affected, and rate 0 changes nothing.
func TestLoseAnswers(t *testing.T) {
	var served atomic.Int32
	f := NewFaults(1)
	srv := httptest.NewServer(f.LoseAnswers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "done")
	})))
	defer srv.Close()
	// POST: net/http would resend a GET whose answer was lost on a reused
	// connection by itself.
	post := func(path string) (string, error) {
		resp, err := http.Post(srv.URL+path, "application/json", nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	if body, err := post("/api"); err != nil || body != "done" {
		t.Fatalf("no fault: %q %v", body, err)
	}
	f.SetLostAnswerRate(1)
	if body, err := post("/api"); err == nil {
		t.Fatalf("lost answer reached the client: %q", body)
	}
	if n := served.Load(); n != 2 {
		t.Fatalf("served %d requests, want 2: the lost one must still be carried out", n)
	}
	if n := f.Injected(); n != 1 {
		t.Fatalf("Injected() = %d, want 1", n)
	}
	if body, err := post("/_emulator/tasks"); err != nil || body != "done" {
		t.Fatalf("admin API affected: %q %v", body, err)
	}
	var nilFaults *Faults
	h := http.NotFoundHandler()
	if got := nilFaults.LoseAnswers(h); got == nil {
		t.Fatal("nil Faults must pass the handler through")
	}
}
