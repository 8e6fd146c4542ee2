package procedures

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Burden is what a procedure asks of the people who go through it,
// computed from its data.
type Burden struct {
	ID        string `json:"id"`
	Title     Text   `json:"title"`
	Steps     int    `json:"steps"`
	Documents int    `json:"documents"`
	// Visits counts the steps the applicant must take in person.
	Visits  int     `json:"visits_in_person"`
	CostMin float64 `json:"cost_min"`
	CostMax float64 `json:"cost_max"`
	// MaxDuration adds up the steps' maximum durations, or else the
	// processing time.
	MaxDuration time.Duration `json:"-"`
	MaxDays     float64       `json:"max_days"`
	// DigitalShare is the share of steps that can be done digitally.
	DigitalShare float64 `json:"digital_share"`
	// OnceOnly lists the documents another agency could supply through
	// interoperability, which the applicant still has to bring.
	OnceOnly []string `json:"once_only_candidates"`
	// Score ranks procedures by how much simplifying them would spare
	// people; see BurdenOf.
	Score float64 `json:"score"`
}

var durationPattern = regexp.MustCompile(`^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// ParseDuration reads an ISO 8601 duration such as "P10D", "PT48H" or
// "P1M2W". Calendar units count as 365-day years and 30-day months.
func ParseDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return 0, fmt.Errorf("procedures: %q is not an ISO 8601 duration", s)
	}
	units := []time.Duration{365 * 24 * time.Hour, 30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var total float64
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.Replace(m[i+1], ",", ".", 1), 64)
		if err != nil {
			return 0, err
		}
		total += f * float64(u)
	}
	if total > float64(math.MaxInt64) {
		return 0, fmt.Errorf("procedures: duration %q is too long", s)
	}
	return time.Duration(total), nil
}

// BurdenOf computes a procedure's burden. The score adds, for what
// simplifying could remove: 3 per visit in person, 1 per document, 2 per
// document another agency could supply, 5 times the share of steps that
// cannot be done digitally, 1 per ten days of waiting (at most 10), and 1
// per 50 euros of maximum cost (at most 10).
func BurdenOf(p *Procedure) Burden {
	b := Burden{ID: p.ID, Title: p.Title, Steps: len(p.Steps), Documents: len(p.Evidence)}
	digital := 0
	for _, s := range p.Steps {
		if s.Channel == ChannelDigital {
			digital++
		}
		if s.Actor == "applicant" && s.Channel == ChannelInPerson {
			b.Visits++
		}
		if d, err := ParseDuration(s.MaxDuration); err == nil {
			b.MaxDuration += d
		}
	}
	if b.MaxDuration == 0 && p.ProcessingTime != "" {
		b.MaxDuration, _ = ParseDuration(p.ProcessingTime)
	}
	if len(p.Steps) > 0 {
		b.DigitalShare = math.Round(100*float64(digital)/float64(len(p.Steps))) / 100
	}
	for _, c := range p.Costs {
		b.CostMin += c.Min
		b.CostMax += c.Max
	}
	for _, e := range p.Evidence {
		if e.InteropService != "" && !slices.Equal(e.Submission, []string{"once_only"}) {
			b.OnceOnly = append(b.OnceOnly, e.ID)
		}
	}
	b.MaxDays = math.Round(10*b.MaxDuration.Hours()/24) / 10
	score := 3*float64(b.Visits) + float64(b.Documents) + 2*float64(len(b.OnceOnly)) +
		5*(1-b.DigitalShare) + math.Min(b.MaxDays/10, 10) + math.Min(b.CostMax/50, 10)
	b.Score = math.Round(100*score) / 100
	return b
}

// BurdenReport ranks the published procedures by burden, largest first:
// the ones most worth simplifying. n ≤ 0 means all.
func (r *Registry) BurdenReport(ctx context.Context, n int) ([]Burden, error) {
	vs, err := r.ListPublished(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Burden, 0, len(vs))
	for _, v := range vs {
		out = append(out, BurdenOf(v.Procedure))
	}
	slices.SortStableFunc(out, func(a, b Burden) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}
