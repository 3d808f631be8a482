package calendar

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestTextView: the terminal view fits 80 columns for any range length,
// marks the DST change on the axis where it happens, marks conflicts, and
// uses colour only when asked (on a terminal).
func TestTextView(t *testing.T) {
	from := mustTime(t, "2027-03-24T00:00:00+01:00")
	set := loadSet(t, from.Add(-30*24*time.Hour), browserDocs()...)
	for _, days := range []int{1, 2, 3, 7, 30, 120} {
		cal, err := Build(set, Options{From: from, Days: days, Now: from, Zone: loadZone("Europe/Berlin")})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, cal, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for i, l := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("%d days: line %d has %d columns: %q", days, i+1, n, l)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("%d days: colour without a terminal", days)
		}
		if days == 7 {
			lines := strings.Split(out, "\n")
			// Lines 3 and 4 are the day labels and the tick line: the change
			// (02:00 CET = 03:00 CEST) is in Sun 28's first column (00-04 h,
			// 8 dates of 6 columns: the range ends Wed 31 01:00 CEST).
			i := strings.Index(lines[2], "Su 28")
			ticks := []rune(lines[3])
			if i < 0 || len(ticks) <= i || ticks[utf8.RuneCountInString(lines[2][:i])] != '^' {
				t.Errorf("DST marker not under Sun 28 on the tick line:\n%s\n%s", lines[2], lines[3])
			}
			rows := map[string]string{}
			for _, l := range lines {
				if f := strings.Fields(l); len(f) > 1 {
					rows[f[0]] = l
				}
			}
			if !strings.Contains(rows["late-news"], "!") || !strings.Contains(rows["relay-b"], "!") || strings.Contains(rows["gala"], "!") {
				t.Errorf("conflict marks: late-news %q relay-b %q gala %q", rows["late-news"], rows["relay-b"], rows["gala"])
			}
			if !strings.Contains(out, "Conflicts:") || !strings.Contains(out, "same-stream") || !strings.Contains(out, "restart-gap") {
				t.Errorf("conflicts not listed:\n%s", out)
			}
			buf.Reset()
			_ = WriteText(&buf, cal, TextOptions{Color: true})
			if !strings.Contains(buf.String(), "\x1b[1;31m!") {
				t.Errorf("no red conflict mark on a terminal")
			}
		}
	}
}

// TestSVGIsWellFormed: the standalone SVG is XML a viewer can open, with
// a lane per recording and the DST line.
func TestSVGIsWellFormed(t *testing.T) {
	from := mustTime(t, "2027-03-24T00:00:00+01:00")
	set := loadSet(t, from.Add(-30*24*time.Hour), browserDocs()...)
	cal, err := Build(set, Options{From: from, Days: 7, Now: from})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, cal, ""); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	lanes, dst := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "class" && a.Value == "lane" {
					lanes++
				}
				if a.Name.Local == "class" && a.Value == "dst" && se.Name.Local == "line" {
					dst++
				}
			}
		}
	}
	if lanes != len(set.Recordings) || dst == 0 {
		t.Fatalf("lanes %d (want %d), DST lines %d", lanes, len(set.Recordings), dst)
	}
}
