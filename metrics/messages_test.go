package metrics

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/web"
)

// Every key of the statistics page is in both languages, with every plural
// form each language needs.
func TestMessagesComplete(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	assert.Empty(t, r.MissingTranslations())
}

// The totals on the statistics page agree with their count in both
// languages; the count chooses the form, the formatted number is shown.
func TestMessagesPlurals(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	for _, tt := range []struct {
		lang, key string
		n         int64
		shown     string
		want      string
	}{
		{"el", "metrics.lead", 0, "0", "Το 2025 εξυπηρετήθηκαν ψηφιακά 0 συναλλαγές."},
		{"el", "metrics.lead", 1, "1", "Το 2025 εξυπηρετήθηκε ψηφιακά 1 συναλλαγή."},
		{"el", "metrics.lead", 2, "2", "Το 2025 εξυπηρετήθηκαν ψηφιακά 2 συναλλαγές."},
		{"el", "metrics.lead", 1_234_567, "1.234.567", "Το 2025 εξυπηρετήθηκαν ψηφιακά 1.234.567 συναλλαγές."},
		{"en", "metrics.lead", 0, "0", "In 2025, 0 transactions were served digitally."},
		{"en", "metrics.lead", 1, "1", "In 2025, 1 transaction was served digitally."},
		{"en", "metrics.lead", 2, "2", "In 2025, 2 transactions were served digitally."},
		{"en", "metrics.lead", 1_234_567, "1,234,567", "In 2025, 1,234,567 transactions were served digitally."},
		{"el", "metrics.visits_avoided", 0, "0", "Αποφεύχθηκαν 0 επισκέψεις σε γραφεία."},
		{"el", "metrics.visits_avoided", 1, "1", "Αποφεύχθηκε 1 επίσκεψη σε γραφείο."},
		{"el", "metrics.visits_avoided", 2, "2", "Αποφεύχθηκαν 2 επισκέψεις σε γραφεία."},
		{"el", "metrics.visits_avoided", 1000, "1.000", "Αποφεύχθηκαν 1.000 επισκέψεις σε γραφεία."},
		{"en", "metrics.visits_avoided", 0, "0", "0 visits to an office were avoided."},
		{"en", "metrics.visits_avoided", 1, "1", "1 visit to an office was avoided."},
		{"en", "metrics.visits_avoided", 2, "2", "2 visits to an office were avoided."},
		{"en", "metrics.visits_avoided", 1000, "1,000", "1,000 visits to an office were avoided."},
		{"el", "metrics.lead_span", 1, "1", "Την περίοδο Ιαν.–Ιουν. 2021 εξυπηρετήθηκε ψηφιακά 1 συναλλαγή."},
		{"el", "metrics.lead_span", 2, "2", "Την περίοδο Ιαν.–Ιουν. 2021 εξυπηρετήθηκαν ψηφιακά 2 συναλλαγές."},
		{"en", "metrics.lead_span", 1, "1", "In Jan–Jun 2021, 1 transaction was served digitally."},
		{"en", "metrics.lead_span", 2, "2", "In Jan–Jun 2021, 2 transactions were served digitally."},
		{"el", "metrics.sofar", 1, "1", "Μέχρι σήμερα, την περίοδο Ιαν.–Ιουν. 2021, έχει μετρηθεί 1 συναλλαγή."},
		{"el", "metrics.sofar", 1000, "1.000", "Μέχρι σήμερα, την περίοδο Ιαν.–Ιουν. 2021, έχουν μετρηθεί 1.000 συναλλαγές."},
		{"en", "metrics.sofar", 1, "1", "So far in Jan–Jun 2021, 1 transaction has been counted."},
		{"en", "metrics.sofar", 0, "0", "So far in Jan–Jun 2021, 0 transactions have been counted."},
	} {
		period := map[string]string{"el": "Ιαν.–Ιουν. 2021", "en": "Jan–Jun 2021"}[tt.lang]
		got := r.Text(tt.lang, tt.key, "year", "2025", "period", period, "total", tt.shown, "visits", tt.shown, "n", tt.n)
		assert.Equal(t, tt.want, got, "%s %s %d", tt.lang, tt.key, tt.n)
	}
}
