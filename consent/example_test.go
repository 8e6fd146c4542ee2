package consent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/consent"
)

func Example() {
	ctx := context.Background()
	svc, err := consent.New(ctx, consent.Config{
		Store:      consent.NewMemoryStore(), // consent.NewSQLStore(ctx, db) in production
		SubjectKey: []byte("32 random bytes, kept elsewhere!"),
	})
	if err != nil {
		panic(err)
	}
	agency := consent.Requester{Organisation: "efka", Client: "efka-portal"}
	source := consent.Source{Registry: "civil-registry", Service: "family-status"}
	maria := consent.Citizen{TaxNumber: "090000045", Session: "s-1", LoA: consent.LoASubstantial}

	r, err := svc.Request(ctx, agency, consent.Draft{
		TaxNumber: maria.TaxNumber, Source: source,
		Items:      []consent.Item{{ID: "marital_status", Type: "string"}},
		Purpose:    consent.Purpose{Code: "child-benefit", Text: consent.Text{EL: "Επίδομα παιδιού", EN: "Child benefit"}},
		LegalBasis: "GDPR art. 6(1)(a)", ValidUntil: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.State)
	r, err = svc.Approve(ctx, maria, r.ID, consent.NoticeOf("ΕΦΚΑ asks for your marital status …", "el"))
	if err != nil {
		panic(err)
	}
	fmt.Println(r.State)

	q := consent.CheckRequest{Requester: agency, TaxNumber: maria.TaxNumber, Source: source,
		Items: []string{"marital_status"}, Purpose: "child-benefit", ExchangeID: "x-1"}
	d, _ := svc.Check(ctx, q)
	fmt.Println(d.Allowed, d.ConsentID == r.ID)
	d, _ = svc.Check(ctx, q) // the gateway asks again about the same exchange: not counted again
	fmt.Println(d.Allowed, d.ConsentID == r.ID)
	q.ExchangeID = "x-2" // another exchange: the single use is made
	d, _ = svc.Check(ctx, q)
	fmt.Println(d.Allowed, d.Reason)

	log, _ := svc.AccessLog(ctx, maria, consent.LogQuery{})
	fmt.Println(len(log.Entries), log.Entries[0].Requester.Organisation, log.Entries[0].ExchangeID)
	// Output:
	// AwaitingAuthorisation
	// Authorised
	// true true
	// true true
	// false used_up
	// 1 efka x-1
}
