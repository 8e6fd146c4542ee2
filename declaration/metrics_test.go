package declaration_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

// *metrics.Metrics is a Counter as it is: wiring is one line.
var _ declaration.Counter = (*metrics.Metrics)(nil)

// TestCountedByMetrics wires a *metrics.Metrics as the service's Counter,
// declared with the kinds and labels the package documents, and finds the
// issued documents, and only them, in its totals.
func TestCountedByMetrics(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		day := time.Date(2026, 5, 17, 12, 0, 0, 0, time.UTC)
		m, err := metrics.New(ctx, metrics.Config{DB: db.DB.DB, Now: func() time.Time { return day }, FlushEvery: time.Hour,
			Kinds: []metrics.Kind{
				{Name: declaration.CountDeclaration, Labels: declaration.CountLabels(), ReplacesVisit: true},
				{Name: declaration.CountAuthorization, Labels: declaration.CountLabels(), ReplacesVisit: true},
			}})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, m.Close()) })
		f := newFixture(t, db.DB.DB, nil, func(c *declaration.Config) { c.Counter = m })

		doc := f.issue(t, maria, solemn())
		f.issue(t, maria, authorization())
		_, err = f.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		_, err = f.revoke(t, maria, doc.ID, "")
		require.NoError(t, err)

		require.NoError(t, m.Flush(ctx))
		period, err := metrics.ParsePeriod("2026-05-17")
		require.NoError(t, err)
		for kind, want := range map[string]int64{metrics.KindAll: 2, declaration.CountDeclaration: 1, declaration.CountAuthorization: 1} {
			total, err := m.Total(ctx, kind, period)
			require.NoError(t, err)
			assert.Equal(t, want, total, kind)
		}
		top, err := m.Top(ctx, declaration.CountDeclaration, declaration.CountLabelIssuer, period, 10)
		require.NoError(t, err)
		assert.Equal(t, []metrics.Entry{{Value: "gov.gr", Total: 1}}, top)
		avoided, err := m.VisitsAvoided(ctx, period)
		require.NoError(t, err)
		assert.EqualValues(t, 2, avoided)
	})
}
