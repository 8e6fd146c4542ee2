package web

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Athens wherever the program runs, even with no zone database
)

// The one rule for dates and times that people read, on pages and in
// documents alike: instants are stored in UTC and shown in one location,
// Europe/Athens unless configured; a day is written 31/01/2027 and an
// instant 31/01/2027 14:05 (24-hour clock). Machine formats (JSON, CSV,
// tokens) keep RFC 3339 in UTC and are not concerned.
const (
	// DateLayout writes a day.
	DateLayout = "02/01/2006"
	// DateTimeLayout writes an instant, to the minute.
	DateTimeLayout = "02/01/2006 15:04"
	// DefaultTimeZone is where dates are shown unless configured.
	DefaultTimeZone = "Europe/Athens"
)

var defaultLocation = func() *time.Location {
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		panic(err) // time/tzdata is embedded: this cannot fail
	}
	return loc
}()

// DefaultLocation is Europe/Athens, the location dates are shown in
// unless a package is configured with another.
func DefaultLocation() *time.Location { return defaultLocation }

// LocationOr returns loc, or [DefaultLocation] when loc is nil.
func LocationOr(loc *time.Location) *time.Location {
	if loc == nil {
		return defaultLocation
	}
	return loc
}

// FormatDate writes the day t falls on in loc (nil: the default
// location), such as "31/01/2027"; the zero time is "".
func FormatDate(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(LocationOr(loc)).Format(DateLayout)
}

// FormatDateTime writes the instant t in loc (nil: the default location),
// such as "31/01/2027 14:05"; the zero time is "".
func FormatDateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(LocationOr(loc)).Format(DateTimeLayout)
}

// FormatUntil writes an end of validity: the instant end at which
// something stops being valid, exclusive. An end at midnight in loc is a
// validity to the end of the day before, and is written as that day, the
// last one it can be used ("31/01/2027" for an end at 2027-02-01 00:00);
// any other end is written as the instant itself. Written this way, a
// validity given as a last day (see [ParseUntil]) shows that same day
// wherever it is shown. The zero time is "".
func FormatUntil(end time.Time, loc *time.Location) string {
	if end.IsZero() {
		return ""
	}
	loc = LocationOr(loc)
	t := end.In(loc)
	y, m, d := t.Date()
	if !t.Equal(startOfDay(y, m, d, loc)) {
		return t.Format(DateTimeLayout)
	}
	return time.Date(y, m, d-1, 12, 0, 0, 0, loc).Format(DateLayout)
}

// ParseUntil reads a last day of validity as a form gives it
// (YYYY-MM-DD) and returns the instant the validity ends, in UTC: the
// midnight that follows that day in loc (nil: the default location).
// [FormatUntil] writes it back as the same day.
func ParseUntil(day string, loc *time.Location) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Time{}, fmt.Errorf("web: %q is not a date (YYYY-MM-DD)", day)
	}
	y, m, dd := d.Date()
	return startOfDay(y, m, dd+1, LocationOr(loc)).UTC(), nil
}

// startOfDay is the first instant of the day y-m-d (normalised as
// time.Date does) in loc: its midnight, or, where a change of the clocks
// skips midnight, the instant the new clock time begins.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	_, _, want := time.Date(y, m, d, 12, 0, 0, 0, loc).Date()
	if _, _, got := t.Date(); got != want {
		// Midnight does not exist that day: time.Date gave the same
		// instant in the zone before the change, late on the day before.
		_, next := t.ZoneBounds()
		return next
	}
	return t
}

// FormatCivilDate writes a calendar date kept as YYYY-MM-DD (a date of
// birth, which belongs to no time zone) as a day is written, such as
// "17/05/1980"; ok is false when s is not such a date.
func FormatCivilDate(s string) (string, bool) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", false
	}
	return d.Format(DateLayout), true
}
