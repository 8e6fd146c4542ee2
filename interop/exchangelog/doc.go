// Package exchangelog is the tamper-evident log of the exchanges an
// interoperability gateway carries: who called which service, under which
// consent, about which citizen (by pseudonym), when, with what result and
// how fast, together with the SHA-256 digests of the request and the
// response. It never holds a payload. Any party holding a signed
// checkpoint and the log's public key can check that an exchange is in
// the log, and that the log has only grown since, without trusting the
// gateway's operator or its database.
//
// # Model
//
// The log is an RFC 6962 Merkle tree (Certificate Transparency, the Go
// checksum database) built with golang.org/x/mod/sumdb/tlog. Each leaf is
// the canonical encoding of one [Entry], documented on
// verify.Entry.MarshalLeaf: 17 lines of text, fixed keys in a fixed order,
// one spelling per value. The tree is stored in the caller's database
// (SQLite or PostgreSQL) as four tables: the leaves, the tree's stored
// hashes keyed by tlog's stored hash index, the tree head (size and root),
// and the signed checkpoints. Checkpoints are C2SP tlog-checkpoints
// ("<origin>\n<size>\n<base64 root>\n") in a C2SP signed note, signed
// with the log's Ed25519 note key.
//
// # Appending
//
// [Log.Append] returns an entry's index once it is durable. Appends made
// at once are group-committed: one goroutine of the Log takes whatever is
// queued (up to Config.MaxBatch) and commits it in one transaction, so
// the cost of a commit is shared by every entry in it. When appends come
// often but one at a time, it waits up to Config.MaxDelay for a few to
// gather; after a quiet spell it commits a lone append at once. The
// transaction first locks the tree head (FOR UPDATE on PostgreSQL;
// SQLite's write lock), so several gateways on one PostgreSQL database
// take turns: indexes are gap-free and the tree is the same whoever
// appended. Exchange ids are unique in the log; ids that grow with time
// (UUIDv7, or any id with a time prefix) keep their index append-mostly,
// where random ids cost an index page write per entry (see
// BENCHMARKS.md). On SQLite the writer has its write-ahead log copied
// back into the database file in the background about every 600 pages it
// commits, so that SQLite's own copy, which would run inside a commit and
// hold up the appends queued behind it, rarely happens.
//
// # Keys
//
// [NewSigningKey] creates the note key on first use and keeps its private
// half sealed under the service's key-encryption key (package kek makes
// one); any note.Signer with an Ed25519 key kept elsewhere (an HSM) can
// stand in. Publish [Log.VerifierKey] where auditors find it independently
// of the log.
//
// # Proofs and audits
//
// [Log.InclusionProof], [Log.ConsistencyProof] and [Log.Checkpoint] give
// what package verify checks offline; [Log.Handler] serves them, and the
// entries, as JSON. [Log.Audit] recomputes the whole tree from the stored
// leaves and checks every stored hash, the head and every stored
// checkpoint, so a row changed behind the log's back is found even before
// anyone asks for a proof. [Log.Maintain] does the periodic work: indexing
// leaf hashes for lookups by hash, and signing a fresh checkpoint.
//
// # Wiring
//
//	key, err := exchangelog.NewSigningKey(ctx, db, kek, "gateway.example.gr/exchange-log")
//	log, err := exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: key})
//	defer log.Close()
//	mux.Handle("/interop/log/", http.StripPrefix("/interop/log", log.Handler()))
//	idx, err := log.Append(ctx, exchangelog.Entry{ExchangeID: id, Time: start, ...})
//
// An auditor, with nothing but package verify:
//
//	cp, err := verify.OpenCheckpoint(signedNote, publishedVerifierKey)
//	entry, err := cp.Entry(index, leaf, proof)   // the exchange is in the log
//	err = cp.Extends(olderCheckpoint, consistencyProof)
package exchangelog
