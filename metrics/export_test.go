package metrics

import "time"

// SetAfterCommit lets tests pretend a committed flush failed.
func SetAfterCommit(f func() error) { afterCommit = f }

// Steps cuts p into the steps of a series.
func Steps(p Period, g Granularity) ([]Period, error) { return steps(p, g) }

// LabelIndex is the position of the named label in kind's labels.
func (m *Metrics) LabelIndex(kind, label string) (int, error) { return m.labelIndex(kind, label) }

// DayOf is the day number of t in loc.
func DayOf(t time.Time, loc *time.Location) int64 { return dayOf(t, loc) }
