package httpx_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/egovkit/egovkit/internal/httpx"
)

type note struct {
	Text string `json:"text"`
}

func Example() {
	h := httpx.Chain(httpx.RequestID, httpx.Recover(nil))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n note
		if err := httpx.Decode(w, r, &n); err != nil {
			httpx.WriteError(w, r, nil, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, n)
	}))

	for _, body := range []string{`{"text":"hello"}`, `{"text":"hello","admin":true}`} {
		r := httptest.NewRequest("POST", "/notes", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Request-ID", "example-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Content-Type"), strings.TrimSpace(w.Body.String()))
	}
	fmt.Println(httpx.Mask("AFM 123456783"), httpx.MaskPhone("+30 6912345678"))
	// Output:
	// 201 application/json {"text":"hello"}
	// 400 application/problem+json {"type":"https://egovkit.dev/problems/bad-request","title":"Bad Request","status":400,"detail":"unknown field \"admin\"","instance":"urn:request:example-1"}
	// AFM *******83 +30 69******78
}
