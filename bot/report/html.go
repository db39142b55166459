package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the report as one self-contained page: styles and charts (inline
// SVG) are in the page, nothing is fetched from elsewhere, and it prints on A4.
func WriteHTML(w io.Writer, r *Report, l Labels) error {
	tables := r.Tables(l)
	type htmlTable struct {
		Table
		Head  []string
		Body  [][]string
		Num   []bool
		Chart template.HTML
	}
	var hts []htmlTable
	for _, t := range tables {
		ht := htmlTable{Table: t}
		for _, c := range t.Columns {
			ht.Head = append(ht.Head, c.Label)
			ht.Num = append(ht.Num, c.Kind != KindText)
		}
		for _, row := range t.Rows {
			line := make([]string, len(row))
			for i, c := range row {
				line[i] = CellText(c, t.Columns[i])
			}
			ht.Body = append(ht.Body, line)
		}
		switch t.Key {
		case "categories":
			var bars []bar
			for _, cc := range r.District.Current.ByCategory {
				bars = append(bars, bar{label: cc.Name, values: []float64{float64(cc.Count),
					float64(countAt(r.District.Previous.ByCategory, -1, cc.Code))}})
			}
			ht.Chart = barChart(l.L("chart.categories"), []string{l.Period(r.From, r.To), l.L("previous")}, bars, false)
		case "summary":
			var bars []bar
			for _, u := range r.units() {
				bars = append(bars, bar{label: u.Name, values: []float64{val(u.Current.Rates.TimelySign),
					val(u.Current.Rates.Solved), val(u.Current.Rates.Satisfied)}})
			}
			ht.Chart = barChart(l.L("chart.rates"), []string{l.L("rate.timely"), l.L("rate.solved"), l.L("rate.satisfied")}, bars, true)
		}
		hts = append(hts, ht)
	}
	return pageTpl.Execute(w, map[string]any{
		"Title": l.L("title"), "Period": l.Period(r.From, r.To),
		"Previous":  l.L("previous") + ": " + l.Period(r.PrevFrom, r.PrevTo),
		"Generated": generated(r.Generated), "GeneratedLabel": l.L("generated"),
		"Tables": hts, "None": l.L("none"), "PrevNote": l.L("previous"),
	})
}

func val(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

type bar struct {
	label  string
	values []float64
}

var palette = []string{"#c0392b", "#95a5a6", "#2e86c1", "#27ae60"}

// barChart draws grouped horizontal bars as inline SVG (no xmlns: HTML5 needs none).
func barChart(title string, series []string, bars []bar, pct bool) template.HTML {
	const labelW, barW, rowH, barH = 110, 360, 10, 9
	maxV := 0.0
	for _, b := range bars {
		for _, v := range b.values {
			maxV = max(maxV, v)
		}
	}
	if pct || maxV == 0 {
		maxV = max(maxV, 1)
	}
	group := len(series)*rowH + 8
	h := 24 + len(bars)*group + 20
	var s strings.Builder
	fmt.Fprintf(&s, `<figure><figcaption>%s</figcaption><svg width="%d" height="%d" role="img" aria-label="%s">`,
		template.HTMLEscapeString(title), labelW+barW+70, h, template.HTMLEscapeString(title))
	for i, name := range series {
		fmt.Fprintf(&s, `<rect x="%d" y="4" width="10" height="10" fill="%s"/><text x="%d" y="13" font-size="11">%s</text>`,
			labelW+i*120, palette[i%len(palette)], labelW+i*120+14, template.HTMLEscapeString(name))
	}
	for i, b := range bars {
		y := 24 + i*group
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`, labelW-6, y+group/2, template.HTMLEscapeString(b.label))
		for j, v := range b.values {
			wd := int(v / maxV * barW)
			txt := fmt.Sprintf("%d", int64(v))
			if pct {
				txt = fmt.Sprintf("%.1f%%", v*100)
			}
			fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/><text x="%d" y="%d" font-size="10">%s</text>`,
				labelW, y+j*rowH, wd, barH, palette[j%len(palette)], labelW+wd+4, y+j*rowH+8, txt)
		}
	}
	s.WriteString(`</svg></figure>`)
	return template.HTML(s.String())
}

var pageTpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Period}}</title>
<style>
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-left:4px solid #c0392b;padding-left:8px}
p.meta{color:#666;margin:2px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:10px 0}figcaption{font-weight:bold;font-size:13px}
@media print{body{margin:10mm}h2{break-after:avoid}table,figure{break-inside:avoid}}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="meta">{{.Period}}</p>
<p class="meta">{{.Previous}} — ( ) = {{.PrevNote}}</p>
{{if .Generated}}<p class="meta">{{.GeneratedLabel}}: {{.Generated}}</p>{{end}}
{{range .Tables}}<section id="{{.Key}}">
<h2>{{.Title}}</h2>
{{if .Body}}<table><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{- $num := .Num}}{{range .Body}}<tr>{{range $i, $c := .}}<td{{if index $num $i}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>{{else}}<p>{{$.None}}</p>{{end}}
{{.Chart}}
</section>
{{end}}</body></html>
`))
