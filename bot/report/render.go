package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as one JSON document (field names in the README).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as aligned tables for a terminal; a bracketed figure is
// the previous period's.
func WriteText(w io.Writer, r *Report, l Labels) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n", l.L("title"), l.Period(r.From, r.To))
	fmt.Fprintf(&b, "%s\n", l.L("previous")+": "+l.Period(r.PrevFrom, r.PrevTo))
	if g := generated(r.Generated); g != "" {
		fmt.Fprintf(&b, "%s: %s\n", l.L("generated"), g)
	}
	for _, t := range r.Tables(l) {
		fmt.Fprintf(&b, "\n【%s】\n", t.Title)
		if len(t.Rows) == 0 {
			fmt.Fprintf(&b, "%s\n", l.L("none"))
			continue
		}
		cells := make([][]string, 0, len(t.Rows)+1)
		head := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			head[i] = c.Label
		}
		cells = append(cells, head)
		for _, row := range t.Rows {
			line := make([]string, len(row))
			for i, c := range row {
				line[i] = CellText(c, t.Columns[i])
			}
			cells = append(cells, line)
		}
		widths := make([]int, len(t.Columns))
		for _, line := range cells {
			for i, s := range line {
				widths[i] = max(widths[i], width(s))
			}
		}
		for _, line := range cells {
			for i, s := range line {
				pad := strings.Repeat(" ", widths[i]-width(s))
				if t.Columns[i].Kind == KindText {
					b.WriteString(s + pad)
				} else {
					b.WriteString(pad + s)
				}
				if i < len(line)-1 {
					b.WriteString("  ")
				}
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// width is a string's width on a terminal: East Asian wide characters take two cells.
func width(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r < 0x1100:
			n++
		case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
			r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
			r >= 0xffe0 && r <= 0xffe6, r >= 0x20000 && r <= 0x3fffd:
			n += 2
		default:
			n++
		}
	}
	return n
}
