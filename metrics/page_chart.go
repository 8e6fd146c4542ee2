package metrics

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"unicode/utf8"
)

// bar is one row of a chart: a period and its total, or no figures.
type bar struct {
	label string
	value int64
	text  string // the value as written in the page's language, or "no data"
	known bool   // false: the period has no figures, so no bar is drawn
}

// The charts are lists of bars, each under a line that names its period
// and value: labels of any length fit at any width, and nothing is drawn
// over the text. The drawing is 264 units wide and scales with its box,
// a card of the page's grid 222 to 324 pixels wide, so its 14-unit text
// shows 12 to 17 pixels high. Text is the page's near-black on white, the
// bars the page's blue (5.2:1 against white).
const (
	chartW             = 264
	chartRow           = 46 // units per bar: a line of text, the bar, a gap
	chartLine          = 19 // units per further line of text
	chartFont          = 14
	chartChars         = 31 // characters of label and value that fit on one line
	chartText, barFill = "#0b0c0c", "#1d70b8"
)

// describe is the text alternative: every label with its value.
func describe(desc string, bars []bar) string {
	parts := make([]string, len(bars))
	for i, b := range bars {
		parts[i] = b.label + ": " + b.text
	}
	return desc + " " + strings.Join(parts, "; ") + "."
}

// barChart draws bars as an SVG image whose title and description are its
// text alternative; id must be unique in the page.
func barChart(id, title, desc string, bars []bar) template.HTML {
	var top int64 = 1
	for _, b := range bars {
		top = max(top, b.value)
	}
	// A label and value too long to share a line take a line each.
	long := func(v bar) bool {
		return utf8.RuneCountInString(strings.ReplaceAll(v.label+v.text, "\u2060", "")) > chartChars
	}
	height := 4
	for _, v := range bars {
		height += chartRow
		if long(v) {
			height += chartLine
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" class="chart" font-size="%d" fill="%s">`,
		chartW, height, id, id, chartFont, chartText)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(describe(desc, bars)))
	y := chartFont + 2
	for _, v := range bars {
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, y, html.EscapeString(v.label))
		if long(v) {
			y += chartLine
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, chartW, y, html.EscapeString(v.text))
		if v.known && v.value > 0 {
			w := max(float64(chartW)*float64(v.value)/float64(top), 2)
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%.1f" height="16" fill="%s"/>`, y+6, w, barFill)
		}
		// A thin baseline shows the row's full extent, so a short bar
		// reads as small rather than missing.
		fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="1" fill="#6f777b"/>`, y+22, chartW)
		y += chartRow
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text inside was escaped above
}
