package exchangelog_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/sqldb"
)

// A gateway logs an exchange; an auditor who holds only the log's public
// key checks, from what the log serves, that the exchange is in the log
// and that the log only grew.
func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	kek := []byte("an example key-encryption key 32") // kek.Generate() in a service
	key, err := exchangelog.NewSigningKey(ctx, db, kek, "gateway.example.gr/exchange-log")
	if err != nil {
		panic(err)
	}
	log, err := exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: key})
	if err != nil {
		panic(err)
	}
	defer log.Close()

	for i, status := range []int{200, 403, 200} {
		_, err := log.Append(ctx, exchangelog.Entry{
			ExchangeID:     fmt.Sprintf("xr-%d", i+1),
			Time:           time.Date(2026, 11, 22, 10, 0, i, 0, time.UTC),
			Consumer:       "EL/GOV/090165560/portal",
			Service:        "EL/GOV/090153025/registry/birth-record",
			Method:         "GET",
			ConsentID:      "c-42",
			Subject:        "psn-7f3a9c",
			RequestSHA256:  sha256.Sum256(nil),
			ResponseSHA256: sha256.Sum256([]byte(`{"born":"2019-03-01"}`)),
			ResponseSize:   21,
			Status:         status,
			Duration:       2 * time.Millisecond,
		})
		if err != nil {
			panic(err)
		}
	}
	signed, err := log.Checkpoint(ctx)
	if err != nil {
		panic(err)
	}

	// The auditor's side: the published verifier key, the signed note,
	// the stored leaf and the proof.
	cp, err := verify.OpenCheckpoint(signed.Note, log.VerifierKey())
	if err != nil {
		panic(err)
	}
	rec, _ := log.EntryByExchangeID(ctx, "xr-2")
	proof, _ := log.InclusionProof(ctx, rec.Index, cp.Size)
	e, err := cp.Entry(rec.Index, rec.Leaf, proof)
	fmt.Println(cp.Origin, cp.Size, e.ExchangeID, e.Status, err)

	first, _ := log.InclusionProof(ctx, 0, 1) // the tree of one leaf: an empty path
	fmt.Println(len(first))
	// Output:
	// gateway.example.gr/exchange-log 3 xr-2 403 <nil>
	// 0
}
