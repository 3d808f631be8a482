package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newValidateCmd) }

// validateProblem is one problem in `validate -o json`.
type validateProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// validateReport is the whole `validate -o json` output.
type validateReport struct {
	Valid      bool              `json:"valid"`
	Errors     []validateProblem `json:"errors"`
	Warnings   []validateProblem `json:"warnings"`
	Providers  int               `json:"providers"`
	Recordings int               `json:"recordings"`
}

// newValidateCmd is `recordctl validate DIR [-o text|json]`: every problem at
// once as file:line:col: message, exit 1 when there is any.
func newValidateCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check every spec document below DIR and print all problems at once",
		Long: "validate loads every *.yaml/*.yml file below DIR (hidden files and folders skipped),\n" +
			"checks each document and all of them together, and prints every problem on stderr as\n" +
			"file:line:col: message (paths as DIR was given), sorted. Exit status 0 when valid, 1 otherwise.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &exitError{code: 1, err: fmt.Errorf("-o %q: want text or json", output)}
			}
			if err := checkFolder(args[0]); err != nil {
				return &exitError{code: 1, err: err}
			}
			set, err := spec.Load(args[0])
			problems := spec.Errors(err)
			typedErrorPaths(args[0], problems) // as the user typed the folder, so editors can open them
			rep := validateReport{Valid: len(problems) == 0, Errors: []validateProblem{}, Warnings: []validateProblem{}}
			var warnings []*spec.Error
			if set != nil {
				rep.Providers, rep.Recordings = len(set.Providers), len(set.Recordings)
				warnings = set.Warnings
				typedErrorPaths(args[0], warnings)
			}
			for _, w := range warnings {
				rep.Warnings = append(rep.Warnings, validateProblem{File: w.Pos.File, Line: w.Pos.Line, Col: w.Pos.Col, Message: w.Msg})
			}
			for _, p := range problems {
				rep.Errors = append(rep.Errors, validateProblem{File: p.Pos.File, Line: p.Pos.Line, Col: p.Pos.Col, Message: p.Msg})
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				// Problems are diagnostics: stderr, with their summary.
				for _, w := range warnings {
					fmt.Fprintf(g.stderr, "Warning: %s\n", w)
				}
				for _, p := range problems {
					fmt.Fprintln(g.stderr, p.Error())
				}
				if rep.Valid {
					fmt.Fprintf(g.stdout, "valid: %s, %s\n", validatePlural(rep.Providers, "provider"), validatePlural(rep.Recordings, "recording"))
				} else {
					fmt.Fprintf(g.stderr, "invalid: %s\n", validatePlural(len(problems), "problem"))
				}
			}
			if !rep.Valid {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// validatePlural renders "1 provider" / "2 providers".
func validatePlural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
