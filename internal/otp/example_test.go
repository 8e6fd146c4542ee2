package otp_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	outbox := otp.NewOutbox(10)
	svc, err := otp.New(ctx, db, []byte("an example secret of 32 bytes..."), outbox)
	if err != nil {
		panic(err)
	}
	ch, err := svc.Issue(ctx, otp.Request{
		Subject: "123456783", Purpose: "sign-in", Description: "σύνδεση", Destination: "+306912345678",
	})
	if err != nil {
		panic(err)
	}
	msg, _ := outbox.Last("+306912345678")
	code := regexp.MustCompile(`[0-9]{6}`).FindString(msg.Text)

	fmt.Println(errors.Is(svc.Verify(ctx, ch.ID, "123456783", "declaration:2026/000001", code), otp.ErrInvalidCode))
	fmt.Println(svc.Verify(ctx, ch.ID, "123456783", "sign-in", code))
	fmt.Println(errors.Is(svc.Verify(ctx, ch.ID, "123456783", "sign-in", code), otp.ErrUsed))
	// Output:
	// true
	// <nil>
	// true
}
