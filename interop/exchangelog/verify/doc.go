// Package verify checks the exchange log offline: a checkpoint's
// signature, an entry's inclusion in a checkpoint's tree, and that a newer
// checkpoint's tree extends an older one's. It needs the log's public
// verifier key and what the log's HTTP API serves, and nothing else: it
// imports the standard library and golang.org/x/mod/sumdb (tlog, note)
// only, so an auditor's tool or a citizen-facing page that shows proofs
// builds small.
//
// It also defines [Entry] and its canonical encoding
// ([Entry.MarshalLeaf], [ParseLeaf]): the bytes whose RFC 6962 leaf hash
// the tree is built over, so the verifier can show what a proven leaf
// says.
//
// # Checking an exchange
//
//	cp, err := verify.OpenCheckpoint(signedNote, verifierKey) // signature and origin
//	e, err := cp.Entry(index, leaf, proof)                     // leaf is in cp's tree
//
// # Checking that the log only grew
//
//	err := newer.Extends(older, consistencyProof)
//
// [Inclusion] and [Consistency] are the same checks on bare sizes and
// hashes; they pass the RFC 6962 test vectors kept in testdata.
package verify
