package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/web"
)

func days(t *testing.T, from, to string) dayRange {
	t.Helper()
	a, err := ParsePeriod(from)
	require.NoError(t, err)
	b, err := ParsePeriod(to)
	require.NoError(t, err)
	return dayRange{a.firstDay(), b.lastDay()}
}

// Periods are named as people name them, in both languages, and a label
// breaks across lines only before its year.
func TestSpanLabels(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	s := &statsPage{pages: r}
	plain := strings.NewReplacer("\u00a0", " ", "\u2060", "")
	for _, tt := range []struct {
		ranges [][2]string
		en, el string
	}{
		{[][2]string{{"2020", "2020"}}, "2020", "2020"},
		{[][2]string{{"2021-01", "2021-06"}}, "Jan–Jun 2021", "Ιαν.–Ιουν. 2021"},
		{[][2]string{{"2021-06", "2021-06"}}, "Jun 2021", "Ιουν. 2021"},
		{[][2]string{{"2026-12-07", "2026-12-15"}}, "7–15 Dec 2026", "7–15 Δεκ. 2026"},
		{[][2]string{{"2026-12-07", "2026-12-07"}}, "7 Dec 2026", "7 Δεκ. 2026"},
		{[][2]string{{"2025-03-10", "2025-12-31"}}, "10 Mar–31 Dec 2025", "10 Μαρ.–31 Δεκ. 2025"},
		{[][2]string{{"2020-07", "2021-06"}}, "Jul 2020–Jun 2021", "Ιουλ. 2020–Ιουν. 2021"},
		{[][2]string{{"2020", "2021"}}, "2020–2021", "2020–2021"},
		{[][2]string{{"2019-12-20", "2020-01-10"}}, "20 Dec 2019–10 Jan 2020", "20 Δεκ. 2019–10 Ιαν. 2020"},
		{[][2]string{{"2021-01", "2021-06"}, {"2021-09-01", "2021-12-31"}}, "Jan–Jun, Sep–Dec 2021", "Ιαν.–Ιουν., Σεπ.–Δεκ. 2021"},
		{[][2]string{{"2021-05", "2021-05"}, {"2022-05-03", "2022-05-04"}}, "May 2021, 3–4 May 2022", "Μαΐ. 2021, 3–4 Μαΐ. 2022"},
	} {
		var rs []dayRange
		for _, r := range tt.ranges {
			rs = append(rs, days(t, r[0], r[1]))
		}
		en, el := s.spanLabel("en", rs), s.spanLabel("el", rs)
		assert.Equal(t, tt.en, plain.Replace(en))
		assert.Equal(t, tt.el, plain.Replace(el))
		for _, l := range []string{en, el} {
			assert.Regexp(t, `^[^ ]+( \d{4}[^ ]*)*$`, strings.ReplaceAll(l, ", ", ","), "%s breaks only before a year or after a comma", l)
		}
	}
}

// A period's days with figures: the imported periods it contains whole,
// which are all its total adds, and the days since counting began.
func TestCoverageWithin(t *testing.T) {
	c := &coverage{
		imported: map[string][]dayRange{KindAll: {days(t, "2020", "2020"), days(t, "2021-01", "2021-06"), days(t, "2022-07", "2023-06")}},
		counted:  map[string]dayRange{KindAll: days(t, "2026-03-10", "2026-03-15")},
	}
	year := func(y string) Period { p, _ := ParsePeriod(y); return p }
	assert.Equal(t, []dayRange{days(t, "2020", "2020")}, c.within(KindAll, year("2020")))
	assert.True(t, whole(c.within(KindAll, year("2020")), year("2020")))
	assert.Equal(t, []dayRange{days(t, "2021-01", "2021-06")}, c.within(KindAll, year("2021")))
	assert.Empty(t, c.within(KindAll, year("2022")), "a published mid-year to mid-year total is in neither year")
	assert.Len(t, c.within(KindAll, year("2022-07-01..2023-06-30")), 1)
	assert.Equal(t, []dayRange{days(t, "2026-03-10", "2026-03-15")}, c.within(KindAll, year("2026")))
	assert.Equal(t, []dayRange{days(t, "2020", "2021-06")}, c.within(KindAll, year("2020-01-01..2021-12-31")), "runs that touch are one")
	assert.Equal(t, 6, coveredDays(c.within(KindAll, year("2026-Q1"))))
	assert.Empty(t, c.within(KindAuthentication, year("2020")))
}
