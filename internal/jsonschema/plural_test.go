package jsonschema

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Limits on lengths and counts agree with the number in both languages:
// "1 character", "1 χαρακτήρα", not "1 characters".
func TestCountsInMessagesArePlural(t *testing.T) {
	for _, tt := range []struct {
		n      int
		en, el string
	}{
		{0, "must have at least 0 items", "πρέπει να έχει τουλάχιστον 0 στοιχεία"},
		{1, "must have at least 1 item", "πρέπει να έχει τουλάχιστον 1 στοιχείο"},
		{2, "must have at least 2 items", "πρέπει να έχει τουλάχιστον 2 στοιχεία"},
		{1000, "must have at least 1000 items", "πρέπει να έχει τουλάχιστον 1000 στοιχεία"},
	} {
		s, err := Compile(fmt.Appendf(nil, `{"type": "object", "properties": {"a": {"type": "array", "minItems": %d}, "s": {"type": "string", "minLength": %d}}}`, tt.n, tt.n))
		require.NoError(t, err)
		if tt.n == 0 {
			continue // nothing is shorter than zero
		}
		var ve *ValidationError
		require.ErrorAs(t, s.Validate([]byte(`{"a": [], "s": ""}`)), &ve)
		got := map[string][2]string{}
		for _, v := range ve.Violations {
			got[v.Pointer] = [2]string{v.Message, v.MessageEL}
		}
		assert.Equal(t, [2]string{tt.en, tt.el}, got["/a"], "%d", tt.n)
		chars := map[int][2]string{
			1:    {"must be at least 1 character long", "πρέπει να έχει τουλάχιστον 1 χαρακτήρα"},
			2:    {"must be at least 2 characters long", "πρέπει να έχει τουλάχιστον 2 χαρακτήρες"},
			1000: {"must be at least 1000 characters long", "πρέπει να έχει τουλάχιστον 1000 χαρακτήρες"},
		}
		assert.Equal(t, chars[tt.n], got["/s"], "%d", tt.n)
	}
	// Zero and the upper limits, straight from the messages.
	for _, tt := range []struct {
		kind, key, n, en, el string
	}{
		{"array_min_items", "min", "0", "must have at least 0 items", "πρέπει να έχει τουλάχιστον 0 στοιχεία"},
		{"string_gte", "min", "0", "must be at least 0 characters long", "πρέπει να έχει τουλάχιστον 0 χαρακτήρες"},
		{"array_max_items", "max", "1", "must have at most 1 item", "πρέπει να έχει το πολύ 1 στοιχείο"},
		{"array_max_items", "max", "5", "must have at most 5 items", "πρέπει να έχει το πολύ 5 στοιχεία"},
		{"string_lte", "max", "1", "must be at most 1 character long", "πρέπει να έχει το πολύ 1 χαρακτήρα"},
		{"string_lte", "max", "200", "must be at most 200 characters long", "πρέπει να έχει το πολύ 200 χαρακτήρες"},
	} {
		en, el := messages(tt.kind, map[string]any{tt.key: tt.n}, "")
		assert.Equal(t, tt.en, en)
		assert.Equal(t, tt.el, el)
	}
}
