package interop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/web"
)

// Every key of the operators' pages is in both languages, with every
// plural form each language needs.
func TestPagesMessagesComplete(t *testing.T) {
	r, err := web.NewRenderer(pageAssets, "templates/*.html", web.WithMessages(pageAssets, "messages/*.json"))
	require.NoError(t, err)
	assert.Empty(t, r.MissingTranslations())
}
