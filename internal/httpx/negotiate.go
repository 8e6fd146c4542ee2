package httpx

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Negotiate returns the offer the request's Accept header prefers, by
// q-value and then by the order of offers; the first offer when Accept is
// absent; and "" when no offer is acceptable. Offers are media types such as
// "text/html" and "application/json"; Accept may use wildcards.
func Negotiate(r *http.Request, offers ...string) string {
	if len(offers) == 0 {
		return ""
	}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return offers[0]
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		if q := acceptQ(accept, offer); q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best
}

// acceptQ returns the q-value the Accept header gives offer, taken from the
// most specific matching range.
func acceptQ(accept, offer string) float64 {
	otype, osub, _ := strings.Cut(offer, "/")
	q, spec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		typ, sub, _ := strings.Cut(mt, "/")
		s := -1
		switch {
		case typ == otype && sub == osub:
			s = 2
		case typ == otype && sub == "*":
			s = 1
		case typ == "*" && sub == "*":
			s = 0
		}
		if s < 0 || s < spec {
			continue
		}
		v := 1.0
		if qs, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(qs, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			v = f
		}
		q, spec = v, s
	}
	return q
}

// WantsHTML reports whether the client prefers an HTML page to JSON: true
// for browsers, false for API clients and for requests without Accept.
func WantsHTML(r *http.Request) bool {
	if r.Header.Get("Accept") == "" {
		return false
	}
	return Negotiate(r, "application/json", "text/html") == "text/html"
}

// MethodNotAllowed answers 405 problem+json listing the allowed methods.
func MethodNotAllowed(allowed ...string) http.Handler {
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		WriteProblem(w, r, NewProblem(TypeMethodNotAllowed, http.StatusMethodNotAllowed, "allowed methods: "+allow))
	})
}

// SameOrigin reports whether a form post comes from a page of this site,
// as the browser says in Sec-Fetch-Site, else in Origin, else in Referer.
// A request that says nothing is refused: form handlers call it to stop
// other sites posting on a signed-in person's behalf.
func SameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	for _, h := range []string{"Origin", "Referer"} {
		if v := r.Header.Get(h); v != "" {
			u, err := url.Parse(v)
			return err == nil && u.Host == r.Host
		}
	}
	return false
}
