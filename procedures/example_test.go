package procedures_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	reg, err := procedures.NewRegistry(ctx, db)
	if err != nil {
		panic(err)
	}

	// An editor writes a draft; an approver approves and publishes it.
	editor := procedures.Caller{ID: "editor-1", Roles: []string{procedures.RoleEditor}}
	approver := procedures.Caller{ID: "approver-1", Roles: []string{procedures.RoleApprover}}
	v, err := reg.Create(ctx, editor, procedures.Samples()["solemn-declaration.json"])
	if err != nil {
		panic(err)
	}
	if _, err := reg.Transition(ctx, editor, v.Procedure.ID, v.Version, "submit", ""); err != nil {
		panic(err)
	}
	for _, action := range []string{"approve", "publish"} {
		if _, err := reg.Transition(ctx, approver, v.Procedure.ID, v.Version, action, ""); err != nil {
			panic(err)
		}
	}

	// The registry knows what the procedure asks of people.
	b := procedures.BurdenOf(v.Procedure)
	fmt.Printf("%d steps, %d in person, %.0f%% digital\n", b.Steps, b.Visits, 100*b.DigitalShare)

	// A document that does not match the schema is refused by pointer.
	doc := []byte(`{"id": "x", "version": 1, "title": {"el": "Δοκιμή"}}`)
	var ve *procedures.ValidationError
	if errors.As(procedures.Validate(doc), &ve) {
		v := ve.Violations[0]
		fmt.Printf("%s %s: %s / %s\n", v.Pointer, v.Kind, v.Message, v.MessageEL)
	}
	// Output:
	// 3 steps, 0 in person, 100% digital
	// /authority required: is required / είναι υποχρεωτικό
}
