package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newVersionCmd) }

// Set at build time by `make build` (-ldflags "-X main.version=... -X
// main.revision=... -X main.buildDate=..."); otherwise filled from the
// VCS stamp `go build` puts in the binary.
var (
	version   = "0.1.0-dev"
	revision  = ""
	buildDate = ""
)

// buildInfo is what `recordctl version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Modified  bool   `json:"modified,omitempty"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Revision: revision, BuildDate: buildDate, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Revision == "" {
					b.Revision = s.Value
				}
			case "vcs.time":
				if b.BuildDate == "" {
					b.BuildDate = s.Value // the commit's time: the closest a plain go build knows
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
		if b.Version == "0.1.0-dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}

// String is the one-line form of --version and `recordctl version`.
func (b buildInfo) String() string {
	rev := b.Revision
	if b.Modified {
		rev += "-dirty"
	}
	return fmt.Sprintf("recordctl %s (commit %s, built %s, %s, %s)", b.Version, rev, b.BuildDate, b.GoVersion, b.Platform)
}

func newVersionCmd(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := currentBuild()
			switch output {
			case "text":
				fmt.Fprintln(g.stdout, b.String())
			case "json":
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			default:
				return &exitError{code: 1, err: fmt.Errorf("-o %q: want text or json", output)}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return c
}
