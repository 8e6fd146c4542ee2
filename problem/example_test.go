package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

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

func ExampleWrite() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, problem.Unavailable("the database does not answer", 5))
	}
	w := httptest.NewRecorder()
	handler(w, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("Retry-After"))
	fmt.Print(w.Body.String())
	// Output:
	// 503 application/problem+json 5
	// {"detail":"the database does not answer","retry_after":5,"status":503,"title":"Service Unavailable","type":"https://egovkit.dev/problems/unavailable"}
}
