package procedures_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/procedures"
)

// publish takes a document through the whole workflow.
func publish(t testing.TB, reg *procedures.Registry, doc []byte) *procedures.Version {
	t.Helper()
	ctx := context.Background()
	v, err := reg.Create(ctx, editor, doc)
	require.NoError(t, err)
	for _, step := range []struct {
		c procedures.Caller
		a string
	}{{editor, procedures.ActionSubmit}, {approver, procedures.ActionApprove}, {approver, procedures.ActionPublish}} {
		v, err = reg.Transition(ctx, step.c, v.Procedure.ID, v.Version, step.a, "")
		require.NoError(t, err)
	}
	return v
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"P10D": 240 * time.Hour, "PT48H": 48 * time.Hour, "PT10M": 10 * time.Minute, "P2W": 14 * 24 * time.Hour,
		"P1M": 30 * 24 * time.Hour, "P1Y": 365 * 24 * time.Hour, "P1DT12H": 36 * time.Hour, "PT0,5H": 30 * time.Minute,
	} {
		d, err := procedures.ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d, in)
	}
	for _, bad := range []string{"", "P", "PT", "10D", "P10", "P1DT", "PT1D"} {
		_, err := procedures.ParseDuration(bad)
		assert.Error(t, err, bad)
	}
}

func TestBurdenReport(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		publish(t, reg, sample(t, "solemn-declaration"))
		publish(t, reg, sample(t, "permanent-residence-certificate"))
		report, err := reg.BurdenReport(ctx, 0)
		require.NoError(t, err)
		require.Len(t, report, 2)
		top := report[0]
		assert.Equal(t, "permanent-residence-certificate", top.ID, "the paper procedure is most worth simplifying")
		assert.Equal(t, 3, top.Steps)
		assert.Equal(t, 2, top.Visits)
		assert.Equal(t, 3, top.Documents)
		assert.Equal(t, 0.0, top.DigitalShare)
		assert.Equal(t, 10.0, top.MaxDays)
		assert.Equal(t, []string{"tax-assessment"}, top.OnceOnly, "the tax assessment could come from AADE")
		digital := report[1]
		assert.Equal(t, 1.0, digital.DigitalShare)
		assert.Zero(t, digital.Visits)
		assert.Less(t, digital.Score, top.Score)
		one, err := reg.BurdenReport(ctx, 1)
		require.NoError(t, err)
		assert.Len(t, one, 1)
	})
}

func TestSuggestions(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB, procedures.WithClock(clock.Now))
		require.NoError(t, err)
		publish(t, reg, sample(t, "solemn-declaration"))
		good := procedures.Suggestion{Kind: procedures.SuggestionSimplification, Text: "Να γίνεται και από την εφαρμογή κινητού.", Contact: "maria@example.gr"}

		for name, s := range map[string]procedures.Suggestion{
			"no kind":   {Text: "x"},
			"no text":   {Kind: procedures.SuggestionOther, Text: "  "},
			"too long":  {Kind: procedures.SuggestionOther, Text: strings.Repeat("α", procedures.MaxSuggestionText+1)},
			"long mail": {Kind: procedures.SuggestionOther, Text: "x", Contact: strings.Repeat("m", 201)},
		} {
			_, err := reg.Suggest(ctx, "solemn-declaration", s, "192.0.2.1")
			var se *procedures.SuggestionError
			assert.ErrorAs(t, err, &se, name)
		}
		_, err = reg.Suggest(ctx, "no-such-procedure", good, "192.0.2.1")
		assert.ErrorIs(t, err, procedures.ErrNotFound)

		for range procedures.SuggestionsPerHour {
			_, err := reg.Suggest(ctx, "solemn-declaration", good, "192.0.2.1")
			require.NoError(t, err)
		}
		_, err = reg.Suggest(ctx, "solemn-declaration", good, "192.0.2.1")
		var rl *procedures.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, time.Hour, rl.RetryAfter)
		_, err = reg.Suggest(ctx, "solemn-declaration", good, "198.51.100.7")
		require.NoError(t, err, "another address is not limited")
		clock.Advance(time.Hour + time.Second)
		_, err = reg.Suggest(ctx, "solemn-declaration", good, "192.0.2.1")
		require.NoError(t, err, "an hour later")
		for _, row := range db.Dump(t, "SELECT client_hash FROM procedures_suggestions") {
			assert.NotContains(t, row, "192.0.2.1", "the address is not stored")
		}

		_, err = reg.Suggestions(ctx, citizen, "", true)
		assert.ErrorIs(t, err, procedures.ErrForbidden)
		open, err := reg.Suggestions(ctx, editor, "solemn-declaration", true)
		require.NoError(t, err)
		require.Len(t, open, 7)
		assert.Equal(t, 1, open[0].Version)
		require.Error(t, reg.CloseSuggestion(ctx, editor, open[0].ID, ""))
		require.NoError(t, reg.CloseSuggestion(ctx, editor, open[0].ID, "Planned for the next release of the app."))
		assert.ErrorIs(t, reg.CloseSuggestion(ctx, editor, open[0].ID, "again"), procedures.ErrNotFound)
		open, err = reg.Suggestions(ctx, editor, "", true)
		require.NoError(t, err)
		assert.Len(t, open, 6)
		all, err := reg.Suggestions(ctx, approver, "", false)
		require.NoError(t, err)
		assert.Len(t, all, 7)
	})
}
