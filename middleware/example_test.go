package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/middleware"
)

func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, request %s\n", middleware.RequestIDFromContext(r.Context()))
	})
	logged := middleware.WithLogger(zap.NewNop()) // the service's logger
	handler := middleware.Chain(
		middleware.RequestID,
		middleware.AccessLog(logged),
		middleware.Recover(logged),
	)(middleware.Fallbacks(mux, nil))

	for _, req := range []struct{ method, path string }{{"GET", "/hello"}, {"POST", "/hello"}, {"GET", "/nowhere"}} {
		r := httptest.NewRequest(req.method, req.path, nil)
		r.Header.Set("X-Request-ID", "req-42")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Header().Get("X-Request-ID"), " ", w.Body.String())
	}
	// Output:
	// 200 req-42 hello, request req-42
	// 405 req-42 {"type":"https://egovkit.dev/problems/method-not-allowed","title":"Method Not Allowed","status":405,"detail":"allowed methods: GET, HEAD","instance":"urn:request:req-42"}
	// 404 req-42 {"type":"https://egovkit.dev/problems/not-found","title":"Not Found","status":404,"detail":"no resource at this path","instance":"urn:request:req-42"}
}
