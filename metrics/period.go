package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
)

// ErrBadPeriod is matched by every period parsing error.
var ErrBadPeriod = errkind.New(errkind.Invalid, "metrics: bad period")

// PeriodError says what is wrong with a period.
type PeriodError struct {
	Input string
	// Code names the mistake, stable for programs and translations; one
	// of the Period… codes.
	Code string
	// Reason says what is wrong, in English.
	Reason string
}

// The codes of a PeriodError.
const (
	PeriodMissing    = "missing"     // nothing was given
	PeriodTooLong    = "too_long"    // more than 40 characters
	PeriodUnknown    = "unknown"     // none of the forms a period takes
	PeriodYear       = "year"        // a year outside 1900–9999
	PeriodHalf       = "half"        // a half-year other than H1, H2
	PeriodQuarter    = "quarter"     // a quarter other than Q1 to Q4
	PeriodMonth      = "month"       // a month other than 01 to 12
	PeriodWeek       = "week"        // a week other than W01 to W53, or one the year lacks
	PeriodDay        = "day"         // a day the calendar lacks, such as 2020-02-30
	PeriodRange      = "range"       // a range whose ends are not days
	PeriodRangeOrder = "range_order" // a range that ends before it begins
	PeriodSteps      = "steps"       // a series with too many steps for the period
)

func (e *PeriodError) Error() string {
	return fmt.Sprintf("metrics: bad period %q: %s", e.Input, e.Reason)
}

// Is makes errors.Is(err, ErrBadPeriod) hold.
func (e *PeriodError) Is(target error) bool {
	return target == ErrBadPeriod || target == errkind.Invalid
}

// ProblemBadPeriod is the problem type of a period that cannot be read.
const ProblemBadPeriod = "https://egovkit.dev/problems/bad-period"

// problem is the error as a 400 problem of type ProblemBadPeriod naming
// the query parameter.
func (e *PeriodError) problem(param string) *httpx.Problem {
	detail := fmt.Sprintf("%s %q is not a period: %s", param, e.Input, e.Reason)
	if e.Code == PeriodMissing {
		detail = param + " is required, such as 2021-H1, 2020, 2020-Q3, 2020-05 or 2020-01-01..2020-03-31"
	}
	return &httpx.Problem{Type: ProblemBadPeriod, Title: "Invalid period", Status: http.StatusBadRequest,
		Detail: detail, Errors: []httpx.FieldError{{Field: param, Detail: detail}},
		Extensions: map[string]any{"code": e.Code}}
}

// Period is a run of whole days, First to Last inclusive, as calendar
// dates (the time of day and location are not used).
type Period struct {
	Name  string    // as parsed, such as "2021-H1"
	First time.Time // midnight UTC of the first day
	Last  time.Time // midnight UTC of the last day
}

// Days is how many days the period has.
func (p Period) Days() int { return int(p.Last.Sub(p.First)/(24*time.Hour)) + 1 }

func (p Period) firstDay() int64 { return p.First.Unix() / 86400 }
func (p Period) lastDay() int64  { return p.Last.Unix() / 86400 }

func (p Period) String() string { return p.Name }

var (
	reYear    = regexp.MustCompile(`^(\d{4})$`)
	reHalf    = regexp.MustCompile(`^(\d{4})-H(\d)$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-Q(\d)$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	reDay     = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

// ParsePeriod reads a period: a year ("2020"), a half-year ("2021-H1"), a
// quarter ("2020-Q3"), a month ("2020-05"), an ISO week ("2020-W53"), a day
// ("2020-05-17"), or a range of days "from..to" ("2020-03-01..2020-06-30").
// Anything else, such as "2021-H3", "2020-13" or a range that ends before it
// begins, is a *PeriodError.
func ParsePeriod(s string) (Period, error) {
	bad := func(code, reason string) (Period, error) {
		return Period{}, &PeriodError{Input: s, Code: code, Reason: reason}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad(PeriodMissing, "no period was given")
	}
	if len(s) > 40 {
		return bad(PeriodTooLong, "too long")
	}
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	year := func(v string) (int, bool) { y := atoi(v); return y, y >= 1900 && y <= 9999 }
	if from, to, ok := strings.Cut(s, ".."); ok {
		a, err := ParsePeriod(from)
		if err != nil || !reDay.MatchString(strings.TrimSpace(from)) {
			return bad(PeriodRange, "a range goes from a day (YYYY-MM-DD) to a day")
		}
		b, err := ParsePeriod(to)
		if err != nil || !reDay.MatchString(strings.TrimSpace(to)) {
			return bad(PeriodRange, "a range goes from a day (YYYY-MM-DD) to a day")
		}
		if b.First.Before(a.First) {
			return bad(PeriodRangeOrder, "the range ends before it begins")
		}
		return Period{Name: s, First: a.First, Last: b.Last}, nil
	}
	switch {
	case reYear.MatchString(s):
		y, ok := year(s)
		if !ok {
			return bad(PeriodYear, "the year is not between 1900 and 9999")
		}
		return Period{Name: s, First: date(y, 1, 1), Last: date(y, 12, 31)}, nil
	case reHalf.MatchString(s):
		m := reHalf.FindStringSubmatch(s)
		y, ok := year(m[1])
		h := atoi(m[2])
		if !ok || h < 1 || h > 2 {
			return bad(PeriodHalf, "a half-year is H1 or H2")
		}
		first := date(y, 6*(h-1)+1, 1)
		return Period{Name: s, First: first, Last: first.AddDate(0, 6, -1)}, nil
	case reQuarter.MatchString(s):
		m := reQuarter.FindStringSubmatch(s)
		y, ok := year(m[1])
		q := atoi(m[2])
		if !ok || q < 1 || q > 4 {
			return bad(PeriodQuarter, "a quarter is Q1 to Q4")
		}
		first := date(y, 3*(q-1)+1, 1)
		return Period{Name: s, First: first, Last: first.AddDate(0, 3, -1)}, nil
	case reMonth.MatchString(s):
		m := reMonth.FindStringSubmatch(s)
		y, ok := year(m[1])
		mo := atoi(m[2])
		if !ok || mo < 1 || mo > 12 {
			return bad(PeriodMonth, "a month is 01 to 12")
		}
		first := date(y, mo, 1)
		return Period{Name: s, First: first, Last: first.AddDate(0, 1, -1)}, nil
	case reWeek.MatchString(s):
		m := reWeek.FindStringSubmatch(s)
		y, ok := year(m[1])
		w := atoi(m[2])
		// ISO 8601: week 1 holds the year's first Thursday; 4 January is
		// always in it.
		jan4 := date(y, 1, 4)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		first := monday.AddDate(0, 0, 7*(w-1))
		if !ok || w < 1 || w > 53 {
			return bad(PeriodWeek, "a week is W01 to W53")
		}
		if _, wy := first.ISOWeek(); wy != w {
			return bad(PeriodWeek, "the year has no such week")
		}
		return Period{Name: s, First: first, Last: first.AddDate(0, 0, 6)}, nil
	case reDay.MatchString(s):
		m := reDay.FindStringSubmatch(s)
		y, ok := year(m[1])
		d := date(y, atoi(m[2]), atoi(m[3]))
		if !ok || d.Format("2006-01-02") != s {
			return bad(PeriodDay, "no such day")
		}
		return Period{Name: s, First: d, Last: d}, nil
	}
	return bad(PeriodUnknown, "use 2020, 2021-H1, 2020-Q3, 2020-05, 2020-W05, 2020-05-17 or FROM..TO dates")
}
