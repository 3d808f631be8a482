package calendar

import (
	"encoding/json"
	"io"
)

// WriteJSON renders the calendar as JSON: the range, lanes, windows (with
// pieces, status and conflict indices), DST changes and conflicts.
func WriteJSON(w io.Writer, c *Calendar) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
