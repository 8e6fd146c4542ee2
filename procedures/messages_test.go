package procedures

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/web"
)

// Every key of the catalogue and the editors' pages is in both languages, with every plural
// form each language needs.
func TestMessagesComplete(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	assert.Empty(t, r.MissingTranslations())
}

// Counts of results and durations agree with the count in both languages.
func TestMessagesPlurals(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	for _, tt := range []struct {
		lang, key string
		n         int
		want      string
	}{
		{"el", "procedures.results", 0, "Βρέθηκαν 0 διαδικασίες"},
		{"el", "procedures.results", 1, "Βρέθηκε 1 διαδικασία"},
		{"el", "procedures.results", 2, "Βρέθηκαν 2 διαδικασίες"},
		{"el", "procedures.results", 5000, "Βρέθηκαν 5000 διαδικασίες"},
		{"en", "procedures.results", 0, "0 procedures found"},
		{"en", "procedures.results", 1, "1 procedure found"},
		{"en", "procedures.results", 2, "2 procedures found"},
		{"en", "procedures.results", 5000, "5000 procedures found"},
	} {
		assert.Equal(t, tt.want, r.Text(tt.lang, tt.key, "n", tt.n), "%s %d", tt.lang, tt.n)
	}
	c := &catalogue{pages: r}
	for _, tt := range []struct{ lang, iso, want string }{
		{"el", "PT1M", "1 λεπτό"}, {"el", "PT2M", "2 λεπτά"}, {"el", "PT0S", "1 λεπτό"},
		{"el", "PT1H", "1 ώρα"}, {"el", "PT5H", "5 ώρες"},
		{"el", "P1D", "1 ημέρα"}, {"el", "P2D", "2 ημέρες"}, {"el", "P365D", "365 ημέρες"},
		{"en", "PT1M", "1 minute"}, {"en", "PT2M", "2 minutes"}, {"en", "PT0S", "1 minute"},
		{"en", "PT1H", "1 hour"}, {"en", "PT5H", "5 hours"},
		{"en", "P1D", "1 day"}, {"en", "P2D", "2 days"}, {"en", "P365D", "365 days"},
	} {
		assert.Equal(t, tt.want, c.humanDuration(tt.lang, tt.iso), "%s %s", tt.lang, tt.iso)
	}
}
