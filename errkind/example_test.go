package errkind_test

import (
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/errkind"
)

func Example() {
	// A package declares its sentinel with a kind...
	errNoSuchForm := errkind.New(errkind.NotFound, "forms: no such form")

	// ...returns it wrapped...
	err := fmt.Errorf("forms: open 42: %w", errNoSuchForm)

	// ...and a caller tests either the precise sentinel or the kind.
	fmt.Println(errors.Is(err, errNoSuchForm))
	fmt.Println(errors.Is(err, errkind.NotFound))
	fmt.Println(errors.Is(err, errkind.Conflict))
	// Output:
	// true
	// true
	// false
}
