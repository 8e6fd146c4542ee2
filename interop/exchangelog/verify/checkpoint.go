package verify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a signed statement of the log's state: its origin (the
// log's name), its size and the root hash of its Merkle tree over the
// first Size leaves.
type Checkpoint struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   Hash   `json:"root"`
	// Note is the signed note the checkpoint was read from, or signed as:
	// the body of [FormatCheckpoint] followed by its signature lines.
	Note []byte `json:"-"`
}

// FormatCheckpoint returns the body of a checkpoint in the C2SP
// tlog-checkpoint form, which the log's key signs as a C2SP signed note:
//
//	<origin>
//	<size, decimal>
//	<root hash, standard base64>
//
// each line ended by a line feed.
func FormatCheckpoint(origin string, size int64, root Hash) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpoint reads the body of a checkpoint (without signatures). As
// the format allows, lines after the third (extensions) are ignored; the
// three first must be exactly as [FormatCheckpoint] writes them.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	bad := func(why string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %s", ErrMalformed, why)
	}
	if len(body) > 64<<10 {
		return bad("too long")
	}
	lines := strings.SplitN(string(body), "\n", 4)
	if len(lines) < 4 {
		return bad("fewer than three lines")
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if origin == "" || !token(origin, 1024) {
		return bad("the origin is empty or holds a space")
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return bad("the size is not a decimal")
	}
	raw, err := base64.StdEncoding.DecodeString(rootText)
	if err != nil || len(raw) != len(Hash{}) {
		return bad("the root is not a SHA-256 in base64")
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], raw)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier key
// (a note verifier key, "<name>+<hash>+<key>", as the log publishes it)
// and returns it. The note must carry a valid signature by that key and
// the checkpoint's origin must be the key's name; signatures by other keys
// (witnesses) are allowed and ignored. It fails with [ErrSignature] or
// [ErrMalformed].
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: verifier key: %v", ErrMalformed, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		// Malformed, unsigned by this key, or a bad signature: all mean
		// the log's key does not vouch for it.
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint of %q signed by the key of %q", ErrSignature, c.Origin, v.Name())
	}
	c.Note = bytes.Clone(signed)
	return c, nil
}
