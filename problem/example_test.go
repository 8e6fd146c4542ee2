package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// A package's typed error renders itself through its Problem method; a
// caller finds it anywhere in the chain.
func ExampleProblemer() {
	var err error = &problem.ValidationError{Violations: []problem.Violation{{
		Pointer: "/title/el", Kind: "required", Message: "is required", MessageEL: "είναι υποχρεωτικό",
	}}}
	err = fmt.Errorf("procedures: create: %w", err)

	var pe problem.Problemer
	if errors.As(err, &pe) {
		p := pe.Problem()
		b, _ := json.Marshal(p)
		fmt.Println(p.Status, string(b))
	}
	fmt.Println(errors.Is(err, errkind.Invalid))
	// Output:
	// 422 {"detail":"the document does not match its schema","errors":[{"pointer":"/title/el","detail":"is required"}],"errors_el":[{"detail":"είναι υποχρεωτικό","pointer":"/title/el"}],"status":422,"title":"Validation failed","type":"https://egovkit.dev/problems/validation"}
	// true
}

func ExampleNew() {
	p := problem.New(problem.TypeNotFound, http.StatusNotFound, "no such document")
	p.Errors = []problem.FieldError{{Field: "code", Detail: "unknown code"}}
	b, _ := json.Marshal(p)
	fmt.Println(string(b))
	// Output:
	// {"type":"https://egovkit.dev/problems/not-found","title":"Not Found","status":404,"detail":"no such document","errors":[{"field":"code","detail":"unknown code"}]}
}
