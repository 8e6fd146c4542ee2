package procedures

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A long address in the comparison may break after its slashes, dots and
// hyphens; words and short values stay whole.
func TestBreakable(t *testing.T) {
	long := "https://www.gov.gr/ipiresies/polites-kai-kathemerinoteta/katoikidia"
	parts := breakable(long)
	assert.Greater(t, len(parts), 2)
	assert.Equal(t, long, strings.Join(parts, ""))
	for _, p := range parts {
		assert.LessOrEqual(t, len(p), 20, p)
	}
	assert.Equal(t, []string{"Apply online"}, breakable("Apply online"))
	assert.Equal(t, []string{"P5D"}, breakable("P5D"))
	assert.Equal(t, []string{""}, breakable(""))
}
