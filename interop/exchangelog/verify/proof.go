package verify

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Inclusion checks an RFC 6962 inclusion proof (audit path): that the
// leaf whose hash is leafHash is leaf number index (from 0) of the tree of
// size leaves whose root is root. It fails with [ErrRange] when index is
// not below size, and with [ErrProof] when the proof does not lead from
// the leaf to the root.
func Inclusion(size int64, root Hash, index int64, leafHash Hash, proof []Hash) error {
	if size < 1 || index < 0 || index >= size {
		return fmt.Errorf("%w: leaf %d of a tree of %d", ErrRange, index, size)
	}
	if err := tlog.CheckRecord(proof, size, root, index, leafHash); err != nil {
		return fmt.Errorf("%w: leaf %d in the tree of %d: %v", ErrProof, index, size, err)
	}
	return nil
}

// Consistency checks an RFC 6962 consistency proof: that the tree of
// size1 leaves with root root1 is a prefix of the tree of size2 leaves
// with root root2, so that nothing the first holds was changed or removed.
// Equal sizes need an empty proof and equal roots. A proof from the empty
// tree proves nothing and is refused with [ErrRange], as is size1 greater
// than size2; a proof that does not lead to both roots fails with
// [ErrProof].
func Consistency(size1 int64, root1 Hash, size2 int64, root2 Hash, proof []Hash) error {
	switch {
	case size1 < 0 || size2 < size1:
		return fmt.Errorf("%w: from a tree of %d to one of %d", ErrRange, size1, size2)
	case size1 == 0 && size2 == 0:
		if len(proof) != 0 || root1 != emptyRoot || root2 != emptyRoot {
			return fmt.Errorf("%w: two empty trees", ErrProof)
		}
		return nil
	case size1 == 0:
		return fmt.Errorf("%w: a consistency proof starts from a tree of at least one leaf", ErrRange)
	}
	if err := tlog.CheckTree(proof, size2, root2, size1, root1); err != nil {
		return fmt.Errorf("%w: from a tree of %d to one of %d: %v", ErrProof, size1, size2, err)
	}
	return nil
}

// emptyRoot is the root of the tree of no leaves.
var emptyRoot, _ = tlog.TreeHash(0, nil)

// Entry checks that a leaf (the bytes of [Entry.MarshalLeaf]) is leaf
// number index of the tree a checkpoint signs, and returns the entry it
// encodes. Open the checkpoint with [OpenCheckpoint] first.
func (c Checkpoint) Entry(index int64, leaf []byte, proof []Hash) (Entry, error) {
	e, err := ParseLeaf(leaf)
	if err != nil {
		return Entry{}, err
	}
	if err := Inclusion(c.Size, c.Root, index, LeafHash(leaf), proof); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Extends checks that c extends the older checkpoint old: same origin,
// and old's tree is a prefix of c's, by the consistency proof from old's
// size to c's.
func (c Checkpoint) Extends(old Checkpoint, proof []Hash) error {
	if c.Origin != old.Origin {
		return fmt.Errorf("%w: checkpoints of two logs, %q and %q", ErrProof, old.Origin, c.Origin)
	}
	return Consistency(old.Size, old.Root, c.Size, c.Root, proof)
}
