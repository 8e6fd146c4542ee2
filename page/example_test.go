package page_test

import (
	"embed"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/egovkit/egovkit/middleware"
	"github.com/egovkit/egovkit/page"
)

//go:embed testdata/templates testdata/messages
var assets embed.FS

func Example() {
	pages, err := page.NewRenderer(assets, "testdata/templates/hello.html",
		page.WithMessages(assets, "testdata/messages/*.json"),
		page.WithServiceName("hello.service"),
	)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.Static())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "hello.html", map[string]any{"Name": "Maria", "Visits": 1})
	})
	handler := middleware.RequestID(mux)

	for _, lang := range []string{"el", "en"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", lang)
		r.Header.Set("X-Request-ID", "req-"+lang)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		body := w.Body.String()
		fmt.Println(w.Code, w.Header().Get("Content-Language"))
		fmt.Println(regexp.MustCompile(`<title>.*</title>`).FindString(body))
		fmt.Println(regexp.MustCompile(`<p id="greeting">.*</p>`).FindString(body))
		fmt.Println(regexp.MustCompile(`req-`+lang).MatchString(body), "(the request id in the footer)")
	}
	// Output:
	// 200 el
	// <title>Καλώς ήρθατε — Δήμος Δοκιμής — egovkit</title>
	// <p id="greeting">Γεια σας, Maria.</p>
	// true (the request id in the footer)
	// 200 en
	// <title>Welcome — Test Municipality — egovkit</title>
	// <p id="greeting">Hello, Maria.</p>
	// true (the request id in the footer)
}
