// Command recordctl manages cloud live-stream recording declaratively.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	_ "github.com/recordctl/recordctl/providers/all"
	_ "time/tzdata" // IANA zones even on hosts without tzdata (containers)
)

// globals are the flags every command shares.
type globals struct {
	state     string
	stateSet  bool // --state was given explicitly
	emulate   bool
	logFormat string
	verbose   bool
	stdout    io.Writer
	stderr    io.Writer
	stdin     io.Reader
	etcd      etcdFlags // --state etcd://: see etcd.go
}

// exitError carries a specific exit code (e.g. plan --detailed-exitcode).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// commands register themselves here from their own files.
var commands []func(g *globals) *cobra.Command

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "recordctl",
		Short:         "Recording-as-code for live streams: plan, apply and reconcile cloud recording tasks",
		Version:       currentBuild().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetIn(g.stdin)
	pf := root.PersistentFlags()
	pf.StringVar(&g.state, "state", ".recordctl/state", "local state store path, or etcd://host:port[,host:port]/prefix (etcds:// for TLS)")
	pf.BoolVar(&g.emulate, "emulate", false, "start the built-in emulator on loopback and point every Provider at it (no real cloud is called)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "verbose logging")
	g.addEtcdFlags(pf)
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		g.stateSet = cmd.Flags().Changed("state")
		if g.logFormat != "text" && g.logFormat != "json" {
			return &exitError{code: 1, err: fmt.Errorf("--log-format %q: want text or json", g.logFormat)}
		}
		if g.state == "" {
			return &exitError{code: 1, err: errors.New("--state is empty: give a file path (default .recordctl/state)")}
		}
		// Provider packages log through the default logger: honour --log-format and -v there too.
		slog.SetDefault(g.logger())
		return nil
	}
	return root
}

// logger builds the slog logger the flags ask for, writing to stderr.
func (g *globals) logger() *slog.Logger {
	lvl := slog.LevelInfo
	if g.verbose {
		lvl = slog.LevelDebug
	}
	return g.loggerAt(lvl)
}

// loggerAt builds a logger at lvl. JSON logs carry durations as seconds
// (numbers), as Prometheus and most log pipelines expect.
func (g *globals) loggerAt(lvl slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lvl}
	if g.logFormat == "json" {
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				return slog.Float64(a.Key, a.Value.Duration().Seconds())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// run executes recordctl with args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr, stdin: stdin}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return 1
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
