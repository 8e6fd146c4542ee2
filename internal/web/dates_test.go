package web

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestDefaultLocationIsAthens(t *testing.T) {
	assert.Equal(t, "Europe/Athens", DefaultLocation().String())
	assert.Same(t, DefaultLocation(), LocationOr(nil))
	assert.Same(t, time.UTC, LocationOr(time.UTC))
}

// Instants around midnight: UTC says one day, Athens the next.
func TestFormatAroundMidnight(t *testing.T) {
	for _, tt := range []struct {
		utc            string
		date, dateTime string
	}{
		{"2027-01-31T21:59:00Z", "31/01/2027", "31/01/2027 23:59"}, // winter, UTC+2
		{"2027-01-31T22:00:00Z", "01/02/2027", "01/02/2027 00:00"},
		{"2027-01-31T23:30:00Z", "01/02/2027", "01/02/2027 01:30"},
		{"2026-07-14T20:59:00Z", "14/07/2026", "14/07/2026 23:59"}, // summer, UTC+3
		{"2026-07-14T21:00:00Z", "15/07/2026", "15/07/2026 00:00"},
		{"2026-12-31T22:30:00Z", "01/01/2027", "01/01/2027 00:30"}, // a new year in Athens only
	} {
		at, err := time.Parse(time.RFC3339, tt.utc)
		require.NoError(t, err)
		assert.Equal(t, tt.date, FormatDate(at, nil), tt.utc)
		assert.Equal(t, tt.dateTime, FormatDateTime(at, nil), tt.utc)
		assert.Equal(t, tt.dateTime, FormatDateTime(at.In(time.FixedZone("x", -7*3600)), nil), "the instant, not its zone, decides")
	}
	at := time.Date(2027, 1, 31, 22, 30, 0, 0, time.UTC)
	assert.Equal(t, "31/01/2027 22:30", FormatDateTime(at, time.UTC), "the location is configurable")
	assert.Equal(t, "", FormatDate(time.Time{}, nil))
	assert.Equal(t, "", FormatDateTime(time.Time{}, nil))
	assert.Equal(t, "", FormatUntil(time.Time{}, nil))
}

// A validity given as its last day ends at the following midnight and is
// shown as that same day, whatever the season, the change of the clocks
// and the zone.
func TestUntilNeverShiftsADay(t *testing.T) {
	saoPaulo := mustLoc(t, "America/Sao_Paulo") // in 2018 its clocks skipped midnight on 4 November
	for _, tt := range []struct {
		day     string
		loc     *time.Location
		wantUTC string
	}{
		{"2027-01-31", nil, "2027-01-31T22:00:00Z"},
		{"2026-07-31", nil, "2026-07-31T21:00:00Z"},
		{"2027-03-27", nil, "2027-03-27T22:00:00Z"}, // the night the clocks go forward
		{"2027-03-28", nil, "2027-03-28T21:00:00Z"}, // the 23-hour day
		{"2026-10-25", nil, "2026-10-25T22:00:00Z"}, // the 25-hour day
		{"2026-10-24", nil, "2026-10-24T21:00:00Z"},
		{"2028-02-29", nil, "2028-02-29T22:00:00Z"},
		{"2026-12-31", nil, "2026-12-31T22:00:00Z"},
		{"2027-01-31", time.UTC, "2027-02-01T00:00:00Z"},
		{"2018-11-03", saoPaulo, "2018-11-04T03:00:00Z"}, // midnight did not exist: the day began at 01:00
	} {
		end, err := ParseUntil(tt.day, tt.loc)
		require.NoError(t, err, tt.day)
		assert.Equal(t, tt.wantUTC, end.Format(time.RFC3339), tt.day)
		assert.Equal(t, time.UTC, end.Location(), "stored in UTC")
		want, _ := FormatCivilDate(tt.day)
		assert.Equal(t, want, FormatUntil(end, tt.loc), tt.day)
		assert.Equal(t, want, FormatUntil(end.In(time.Local), tt.loc), tt.day)
	}
	_, err := ParseUntil("31/01/2027", nil)
	assert.Error(t, err)
	_, err = ParseUntil("2027-02-30", nil)
	assert.Error(t, err)

	// An end that is not a midnight is shown as the instant it is.
	assert.Equal(t, "31/01/2027 14:00", FormatUntil(time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC), nil))
	assert.Equal(t, "31/01/2027 22:00", FormatUntil(time.Date(2027, 1, 31, 22, 0, 0, 0, time.UTC), time.UTC))
}

func TestFormatCivilDate(t *testing.T) {
	s, ok := FormatCivilDate("1980-05-17")
	assert.True(t, ok)
	assert.Equal(t, "17/05/1980", s)
	_, ok = FormatCivilDate("17/05/1980")
	assert.False(t, ok)
}

func TestPagesFormatDates(t *testing.T) {
	r, err := NewRenderer(os.DirFS("testdata"), "pages/*.html", WithMessages(os.DirFS("testdata"), "messages/*.json"))
	require.NoError(t, err)
	at := time.Date(2027, 1, 31, 22, 30, 0, 0, time.UTC)
	p := &Page{r: r}
	assert.Equal(t, "01/02/2027", p.Date(at))
	assert.Equal(t, "01/02/2027 00:30", p.DateTime(at))
	assert.Equal(t, "01/02/2027 00:30", p.Until(at))
	assert.Equal(t, "17/05/1980", p.CivilDate("1980-05-17"))
	assert.Equal(t, "not a date", p.CivilDate("not a date"), "anything else is shown as it is")
	assert.Equal(t, DefaultLocation(), r.Location())

	r, err = NewRenderer(nil, "", WithLocation(time.UTC))
	require.NoError(t, err)
	p = &Page{r: r}
	assert.Equal(t, "31/01/2027 22:30", p.DateTime(at))
	assert.Equal(t, time.UTC, r.Location())
}
