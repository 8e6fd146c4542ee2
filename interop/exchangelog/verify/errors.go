package verify

import "github.com/egovkit/egovkit/errkind"

// Errors of this package, matched with errors.Is. Each matches
// errkind.Invalid: what was given to check does not hold, whatever is
// stored anywhere.
var (
	// ErrMalformed means a leaf, a checkpoint or a hash is not in its
	// documented form.
	ErrMalformed = errkind.New(errkind.Invalid, "exchangelog: malformed")
	// ErrSignature means a checkpoint carries no valid signature by the
	// log's key.
	ErrSignature = errkind.New(errkind.Invalid, "exchangelog: checkpoint not signed by the log's key")
	// ErrProof means a proof does not show what it was asked to show:
	// the leaf is not in the tree, or the older tree is not a prefix of
	// the newer one.
	ErrProof = errkind.New(errkind.Invalid, "exchangelog: proof does not verify")
	// ErrRange means the sizes or index of a proof are impossible: an
	// index at or beyond the tree's size, an older tree bigger than the
	// newer one.
	ErrRange = errkind.New(errkind.Invalid, "exchangelog: index or tree size out of range")
)
