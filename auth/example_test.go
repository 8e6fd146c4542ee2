package auth_test

import (
	"fmt"
	"time"

	"github.com/egovkit/egovkit/auth"
)

func ExampleHashPassword() {
	stored, err := auth.HashPassword("correct horse battery staple", auth.DefaultPasswordParams)
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := auth.VerifyPassword("correct horse battery staple", stored, auth.DefaultPasswordParams)
	fmt.Println(ok, needsRehash, err)
	ok, _, _ = auth.VerifyPassword("Correct horse battery staple", stored, auth.DefaultPasswordParams)
	fmt.Println(ok)
	// Output:
	// true false <nil>
	// false
}

func ExampleTOTP() {
	// The RFC 6238 test secret; real secrets come from auth.NewTOTPSecret.
	otp := auth.TOTP{Secret: []byte("12345678901234567890"), Digits: 8}
	at := time.Unix(1111111109, 0)
	code, _ := otp.Code(at)
	fmt.Println(code)

	step, ok := otp.Verify(code, at.Add(20*time.Second), 1)
	fmt.Println(ok, step) // remember step: codes of this period or earlier must be refused from now on
	// Output:
	// 07081804
	// true 37037036
}
