package httpx

import (
	"net/http"
	"strings"
)

// Fallbacks serves mux and answers the requests it has no route for in the
// house style instead of net/http's plain text: 404, or 405 with the Allow
// header when the path exists for other methods, as problem+json, or through
// page (which may be nil) when the client prefers HTML.
func Fallbacks(mux *http.ServeMux, page func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own handler decides between 404 and 405 (and sets
		// Allow); let it answer into a probe and keep only its verdict.
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		status := probe.status
		switch status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			// A redirect to the canonical path (trailing slash, cleaned
			// path) is a real answer: pass it on.
			mux.ServeHTTP(w, r)
			return
		default:
			status = http.StatusNotFound
		}
		if page != nil && WantsHTML(r) {
			page(w, r, status)
			return
		}
		p := NewProblem(TypeNotFound, status, "no resource at this path")
		if status == http.StatusMethodNotAllowed {
			p = NewProblem(TypeMethodNotAllowed, status, "allowed methods: "+listAllowed(probe.header.Get("Allow")))
		}
		WriteProblem(w, r, p)
	})
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// listAllowed writes an Allow header's methods as "GET, HEAD", however the
// mux spaced them.
func listAllowed(allow string) string {
	methods := strings.Split(allow, ",")
	for i, m := range methods {
		methods[i] = strings.TrimSpace(m)
	}
	return strings.Join(methods, ", ")
}
