package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/egovkit/egovkit/internal/web"
)

func Example() {
	assets := fstest.MapFS{
		"templates/hello.html": {Data: []byte(`{{define "title"}}{{.T "hello.title"}}{{end}}` +
			`{{define "content"}}<h1>{{.T "hello.title"}}</h1><p>{{.T "hello.text" "name" .Data}}</p>{{end}}`)},
		"messages/el.json": {Data: []byte(`{"hello.title": "Καλώς ήρθατε", "hello.text": "Γεια σας, {name}."}`)},
		"messages/en.json": {Data: []byte(`{"hello.title": "Welcome", "hello.text": "Hello, {name}."}`)},
	}
	pages, err := web.NewRenderer(assets, "templates/*.html", web.WithMessages(assets, "messages/*.json"))
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/hello", "/hello?lang=en"} {
		w := httptest.NewRecorder()
		pages.Render(w, httptest.NewRequest("GET", target, nil), http.StatusOK, "hello.html", "Ελένη")
		body := w.Body.String()
		start := strings.Index(body, "<h1>")
		end := strings.Index(body, "</p>") + len("</p>")
		fmt.Println(w.Header().Get("Content-Language"), body[start:end])
	}
	// Output:
	// el <h1>Καλώς ήρθατε</h1><p>Γεια σας, Ελένη.</p>
	// en <h1>Welcome</h1><p>Hello, Ελένη.</p>
}
