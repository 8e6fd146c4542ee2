package ident_test

import (
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/internal/ident"
)

func Example() {
	reg := ident.Default()

	afm, err := reg.Normalize("gr-afm", "EL 123 456 783")
	fmt.Println(afm, err)

	_, err = reg.Normalize("gr-afm", "123456784")
	var e *ident.Error
	fmt.Println(errors.Is(err, ident.ErrInvalid), errors.As(err, &e) && e.Reason == "check digit does not match")

	fmt.Println(ident.MaskAFM(afm))
	// Output:
	// 123456783 <nil>
	// true true
	// *******83
}
