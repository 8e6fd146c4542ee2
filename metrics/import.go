package metrics

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/egovkit/egovkit/errkind"
)

// Imported is a published total for a period before counting began.
type Imported struct {
	Kind   string   `json:"kind"`   // or KindAll for every kind together
	Labels []string `json:"labels"` // usually none
	Period string   `json:"period"` // as ParsePeriod reads it: "2020", "2021-H1", …
	Total  int64    `json:"total"`
}

// ImportError names the record that could not be imported.
type ImportError struct {
	Record int // 1-based, after the CSV header
	Reason string
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("metrics: import: record %d: %s", e.Record, e.Reason)
}

// Is makes errors.Is(err, errkind.Invalid) hold.
func (e *ImportError) Is(target error) bool { return target == errkind.Invalid }

// Import stores published totals, kept apart from counted ones. Importing
// the same kind, labels and period again replaces the total. Every record
// is checked first: one bad record imports nothing.
func (m *Metrics) Import(ctx context.Context, source string, records []Imported) error {
	if strings.TrimSpace(source) == "" {
		return errors.New("metrics: import: say where the figures come from")
	}
	type checked struct {
		rec    Imported
		p      Period
		labels string
	}
	var list []checked
	for i, r := range records {
		if strings.TrimSpace(r.Kind) == "" {
			return &ImportError{Record: i + 1, Reason: "no kind"}
		}
		p, err := ParsePeriod(r.Period)
		if err != nil {
			return &ImportError{Record: i + 1, Reason: err.Error()}
		}
		if r.Total < 0 {
			return &ImportError{Record: i + 1, Reason: "a negative total"}
		}
		if r.Labels == nil {
			r.Labels = []string{}
		}
		list = append(list, checked{rec: r, p: p, labels: labelsJSON(r.Labels)})
	}
	ctx, cancel := m.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range list {
			// The sum over label sets is locked first (the upsert locks its
			// row on PostgreSQL; SQLite holds the write lock), then summed
			// again after the change, so concurrent imports stay exact.
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO metrics_imported_totals (kind, first_day, last_day, total) VALUES ($1, $2, $3, 0)
				 ON CONFLICT (kind, first_day, last_day) DO UPDATE SET total = metrics_imported_totals.total`,
				c.rec.Kind, c.p.firstDay(), c.p.lastDay()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO metrics_imported (kind, labels, first_day, last_day, total, source) VALUES ($1, $2, $3, $4, $5, $6)
				 ON CONFLICT (kind, labels, first_day, last_day) DO UPDATE SET total = excluded.total, source = excluded.source`,
				c.rec.Kind, c.labels, c.p.firstDay(), c.p.lastDay(), c.rec.Total, source); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE metrics_imported_totals SET total = (SELECT CAST(SUM(total) AS BIGINT) FROM metrics_imported
				 WHERE kind = $1 AND first_day = $2 AND last_day = $3) WHERE kind = $1 AND first_day = $2 AND last_day = $3`,
				c.rec.Kind, c.p.firstDay(), c.p.lastDay()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("metrics: import: %w", err)
	}
	return nil
}

// ImportJSON imports a JSON array of records {"kind", "labels", "period",
// "total"}.
func (m *Metrics) ImportJSON(ctx context.Context, source string, r io.Reader) error {
	var records []Imported
	dec := json.NewDecoder(io.LimitReader(r, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&records); err != nil {
		return fmt.Errorf("metrics: import: %w", err)
	}
	return m.Import(ctx, source, records)
}

// ImportCSV imports CSV with the header kind,labels,period,total; labels
// are separated by "|" and may be empty.
func (m *Metrics) ImportCSV(ctx context.Context, source string, r io.Reader) error {
	cr := csv.NewReader(io.LimitReader(r, 16<<20))
	cr.FieldsPerRecord = 4
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("metrics: import: %w", err)
	}
	if strings.Join(head, ",") != "kind,labels,period,total" {
		return errors.New("metrics: import: the header must be kind,labels,period,total")
	}
	var records []Imported
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &ImportError{Record: n, Reason: err.Error()}
		}
		total, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(rec[3]), "_", ""), 10, 64)
		if err != nil {
			return &ImportError{Record: n, Reason: "total is not a whole number"}
		}
		var labels []string
		if l := strings.TrimSpace(rec[1]); l != "" {
			labels = strings.Split(l, "|")
		}
		records = append(records, Imported{Kind: strings.TrimSpace(rec[0]), Labels: labels, Period: strings.TrimSpace(rec[2]), Total: total})
	}
	return m.Import(ctx, source, records)
}
