package errkind_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/errkind"
)

func TestNewMatchesItsKindOnly(t *testing.T) {
	kinds := []error{errkind.NotFound, errkind.Conflict, errkind.Invalid,
		errkind.Forbidden, errkind.Unauthorized, errkind.Unavailable, errkind.RateLimited}
	for _, kind := range kinds {
		err := errkind.New(kind, "pkg: something")
		wrapped := fmt.Errorf("pkg: op: %w", err)
		assert.Equal(t, "pkg: something", err.Error())
		assert.ErrorIs(t, wrapped, err, "the sentinel itself still matches")
		for _, other := range kinds {
			assert.Equal(t, other == kind, errors.Is(wrapped, other), "%v is %v", kind, other)
		}
	}
}
