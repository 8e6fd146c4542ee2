package declaration_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	kek, _ := keys.GenerateKEK() // kept outside the database, in production
	signing, err := declaration.NewSigningKeys(ctx, db, kek, declaration.ES256)
	if err != nil {
		panic(err)
	}
	outbox := sms.NewOutbox(10) // an sms.Webhook to the SMS gateway in production
	svc, err := declaration.New(ctx, declaration.Config{
		DB: db, Issuer: "gov.gr", BaseURL: "https://docs.example.gr",
		Keys: signing, CodeSecret: []byte("a secret of thirty-two bytes ...."), SMS: outbox,
	})
	if err != nil {
		panic(err)
	}

	// The person comes from the service's sign-in.
	me := declaration.Person{AFM: "123456783", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου", Mobile: "+306912345678"}
	draft, err := svc.Create(ctx, me, declaration.Draft{
		Kind: declaration.KindSolemn, Recipient: "Δήμος Αθηναίων", Text: "Διαμένω μόνιμα στην Αθήνα.",
	})
	if err != nil {
		panic(err)
	}
	if _, err := svc.RequestCode(ctx, me, draft.ID); err != nil {
		panic(err)
	}
	sms, _ := outbox.Last(me.Mobile)
	code := regexp.MustCompile(`[0-9]{6}`).FindString(sms.Text) // what the person types
	doc, err := svc.Confirm(ctx, me, draft.ID, code)
	if err != nil {
		panic(err)
	}
	_, number, _ := strings.Cut(doc.Protocol, "/") // "2026/000001": the year, then the number
	fmt.Println(doc.State, number)

	// Any office checks it from the code printed on it.
	v, _ := svc.Verify(ctx, doc.Code)
	fmt.Println(v.Status, v.Content.Text)
	// Revoking it takes a code too; the SMS names the document.
	if _, err := svc.RequestRevokeCode(ctx, me, doc.ID); err != nil {
		panic(err)
	}
	sms, _ = outbox.Last(me.Mobile)
	fmt.Println(strings.Contains(sms.Text, "ανάκληση της υπεύθυνης δήλωσης "+doc.Protocol))
	code = regexp.MustCompile(`είναι ([0-9]{6})`).FindStringSubmatch(sms.Text)[1] // after the protocol number
	if _, err := svc.Revoke(ctx, me, doc.ID, code, "written by mistake"); err != nil {
		panic(err)
	}
	v, _ = svc.Verify(ctx, doc.Code)
	fmt.Println(v.Status)
	// Output:
	// issued 000001
	// valid Διαμένω μόνιμα στην Αθήνα.
	// true
	// revoked
}
