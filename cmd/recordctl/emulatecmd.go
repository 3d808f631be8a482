package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
)

func init() { commands = append(commands, newEmulateCmd) }

func newEmulateCmd(g *globals) *cobra.Command {
	var listen string
	var errorRate, timeoutRate, lostRate float64
	var latency time.Duration
	var throttle bool
	var seed uint64
	var output, dataDir string
	c := &cobra.Command{
		Use:   "emulate",
		Short: "Serve all four provider APIs on loopback, wire-compatible, with fault injection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &exitError{code: 1, err: fmt.Errorf("-o: unknown output %q (text or json)", output)}
			}
			host, portStr, err := net.SplitHostPort(listen)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("--listen: %v", err)}
			}
			port, err := strconv.Atoi(portStr)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("--listen: bad port %q", portStr)}
			}
			faults := emu.NewFaults(seed)
			faults.Set(errorRate, latency, throttle)
			faults.SetTimeoutRate(timeoutRate)
			faults.SetLostAnswerRate(lostRate)
			srv, err := emulate.StartWithData(host, port, emu.Config{Faults: faults}, dataDir)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer srv.Close()
			faultLine := fmt.Sprintf("Faults: error rate %.0f%%, timeouts %.0f%%, lost answers %.0f%%, latency %s, throttling %v. Ctrl-C stops.\n", errorRate*100, timeoutRate*100, lostRate*100, latency, throttle)
			switch output {
			case "json":
				// stdout carries exactly one JSON object; the human text goes to stderr.
				fmt.Fprint(g.stderr, srv.Banner())
				fmt.Fprint(g.stderr, faultLine)
				b, err := json.Marshal(map[string]any{"providers": srv.Settings(), "env": envMap(srv.Env())})
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintln(g.stdout, string(b))
			default:
				fmt.Fprint(g.stdout, srv.Banner())
				fmt.Fprintln(g.stdout, "Everything a client needs (reference them from Provider documents as {env: NAME}):")
				for _, kv := range srv.Env() {
					fmt.Fprintln(g.stdout, "export "+kv)
				}
				fmt.Fprint(g.stdout, faultLine)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "loopback address; providers get consecutive ports from here (0: ephemeral)")
	f.Float64Var(&errorRate, "error-rate", 0, "fraction of requests answered with the provider's internal error (0-1)")
	f.Float64Var(&timeoutRate, "timeout-rate", 0, "fraction of requests that hang until the client times out (0-1)")
	f.Float64Var(&lostRate, "lost-answer-rate", 0, "fraction of requests carried out whose answer is then lost (connection dropped) (0-1)")
	f.DurationVar(&latency, "latency", 0, "latency added to every request")
	f.BoolVar(&throttle, "throttle", false, "answer every request with the provider's throttling error")
	f.Uint64Var(&seed, "seed", 1, "fault injection seed")
	f.StringVar(&dataDir, "data", "", "keep the emulators' state (tasks, recorders, rules) in this directory so it survives a restart")
	f.StringVarP(&output, "output", "o", "text", "text (export lines) or json (one object with every provider's settings)")
	return c
}

// envMap turns NAME=value assignments into a map.
func envMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
