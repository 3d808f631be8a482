package spec

import (
	"errors"
	"sort"

	"github.com/hashicorp/go-multierror"
)

// Error is one problem in a document, at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errorf-style constructor kept small on purpose: messages are plain text.
func errAt(p Pos, msg string) *Error { return &Error{Pos: p, Msg: msg} }

// Errors flattens err (a *multierror.Error, a *Error, or anything) into the
// list of positioned errors, sorted by file, line, column. Errors without a
// position get an empty Pos.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		var me *multierror.Error
		if errors.As(e, &me) && me != nil {
			for _, x := range me.Errors {
				walk(x)
			}
			return
		}
		var se *Error
		if errors.As(e, &se) {
			out = append(out, se)
			return
		}
		out = append(out, &Error{Msg: e.Error()})
	}
	walk(err)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}
