package report

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// WriteXLSX writes the report as a workbook: the summary sheet first, then one sheet
// per section; a paired column becomes two, this period's and the previous one's.
// Figures are numbers (rates are fractions formatted as percentages), so the sheet
// can be summed and charted; native charts show categories and the three rates.
func WriteXLSX(w io.Writer, r *Report, l Labels) error {
	f := excelize.NewFile()
	defer f.Close()
	pctFmt := "0.0%"
	pctStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt})
	if err != nil {
		return err
	}
	oneFmt := "0.0"
	oneStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &oneFmt})
	if err != nil {
		return err
	}
	headStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	if err != nil {
		return err
	}
	for i, t := range r.Tables(l) {
		sheet := t.Title
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
		// Row 1: the title and period; row 3: headings; data from row 4.
		if err := f.SetCellValue(sheet, "A1", t.Title+"  "+l.Period(r.From, r.To)+"  ("+l.L("previous")+": "+l.Period(r.PrevFrom, r.PrevTo)+")"); err != nil {
			return err
		}
		col := 1
		for _, c := range t.Columns {
			if err := setCell(f, sheet, col, 3, c.Label, headStyle); err != nil {
				return err
			}
			col++
			if c.Paired {
				if err := setCell(f, sheet, col, 3, c.Label+" ("+l.L("previous")+")", headStyle); err != nil {
					return err
				}
				col++
			}
		}
		for ri, row := range t.Rows {
			y := 4 + ri
			col := 1
			for ci, cell := range row {
				c := t.Columns[ci]
				vals := []Value{cell.Cur}
				if c.Paired {
					vals = append(vals, cell.Prev)
				}
				if c.Kind == KindText {
					if err := setCell(f, sheet, col, y, cell.Text, 0); err != nil {
						return err
					}
					col++
					continue
				}
				for _, v := range vals {
					style := 0
					switch c.Kind {
					case KindPct:
						style = pctStyle
					case KindNum1:
						style = oneStyle
					}
					var val any
					switch {
					case v.Null:
						val = nil
					case c.Kind == KindInt:
						val = int64(v.N)
					default:
						val = v.N
					}
					if err := setCell(f, sheet, col, y, val, style); err != nil {
						return err
					}
					col++
				}
			}
		}
		if err := f.SetColWidth(sheet, "A", "A", 16); err != nil {
			return err
		}
		if err := charts(f, sheet, t, l); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}

func setCell(f *excelize.File, sheet string, col, row int, v any, style int) error {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	if v != nil {
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			return err
		}
	}
	if style != 0 {
		return f.SetCellStyle(sheet, cell, cell, style)
	}
	return nil
}

// sheetCol is the sheet column of table column i (paired columns take two).
func sheetCol(t Table, i int) int {
	col := 1
	for j := 0; j < i; j++ {
		col++
		if t.Columns[j].Paired {
			col++
		}
	}
	return col
}

func rng(sheet string, col, from, to int) string {
	a, _ := excelize.CoordinatesToCellName(col, from, true)
	b, _ := excelize.CoordinatesToCellName(col, to, true)
	return fmt.Sprintf("'%s'!%s:%s", sheet, a, b)
}

func ref(sheet string, col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row, true)
	return fmt.Sprintf("'%s'!%s", sheet, c)
}

// charts adds the sections' native charts: requests by category (the district, this
// period against the previous), and the three rates of each unit.
func charts(f *excelize.File, sheet string, t Table, l Labels) error {
	if len(t.Rows) == 0 {
		return nil
	}
	first, last := 4, 3+len(t.Rows)
	anchor, _ := excelize.CoordinatesToCellName(sheetCol(t, len(t.Columns))+1, 3)
	switch t.Key {
	case "categories":
		cats := rng(sheet, 1, first, last)
		col := sheetCol(t, 1)
		var series []excelize.ChartSeries
		for _, c := range []int{col, col + 1} {
			series = append(series, excelize.ChartSeries{Name: ref(sheet, c, 3), Categories: cats,
				Values: rng(sheet, c, first, last)})
		}
		return f.AddChart(sheet, anchor, &excelize.Chart{Type: excelize.Col, Series: series,
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: l.L("chart.categories")}}},
			Legend: excelize.ChartLegend{Position: "bottom"}})
	case "summary":
		cats := rng(sheet, 1, first, last)
		var series []excelize.ChartSeries
		for i, c := range t.Columns {
			if c.Kind != KindPct || i > 9 {
				continue
			}
			sc := sheetCol(t, i)
			series = append(series, excelize.ChartSeries{Name: ref(sheet, sc, 3), Categories: cats,
				Values: rng(sheet, sc, first, last)})
		}
		anchor, _ = excelize.CoordinatesToCellName(1, last+3)
		return f.AddChart(sheet, anchor, &excelize.Chart{Type: excelize.Col, Series: series,
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: l.L("chart.rates")}}},
			Legend: excelize.ChartLegend{Position: "bottom"},
			YAxis:  excelize.ChartAxis{NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0%"}}})
	}
	return nil
}
