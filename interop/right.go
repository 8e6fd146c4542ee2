package interop

import (
	"strings"
	"time"
)

// AnyMethod in a [Right] allows every HTTP method.
const AnyMethod = "*"

// Right allows one consumer to call one service with one method on the
// paths one pattern matches. Nothing is allowed without a right (deny by
// default), and rights only add: there is no right that forbids.
//
// Path is a pattern over the escaped path that follows the service's
// identifier in the REST path (the path the provider receives, "/" when
// there is none). It starts with '/', and its segments, separated by '/',
// are matched one by one:
//
//   - "*" matches exactly one segment that is not empty;
//   - "**", as the last segment only, matches the rest of the path: zero or
//     more segments, so "/persons/**" matches "/persons", "/persons/" and
//     "/persons/1/address", and "/**" matches every path;
//   - any other segment matches only itself, byte for byte (case and
//     percent-encoding included: "/a%2Fb" is one segment, never two).
//
// A percent-encoded slash therefore never lets a path escape a "*". The
// query string is not part of the path and is not matched.
type Right struct {
	// ID is set by the store when the right is granted.
	ID       string    `json:"id"`
	Consumer ClientID  `json:"consumer"`
	Service  ServiceID `json:"service"`
	// Method is an HTTP method in upper case, or [AnyMethod].
	Method string `json:"method"`
	Path   string `json:"path"`
	// NotBefore and NotAfter bound when the right holds, NotAfter
	// excluded; zero leaves that end open.
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	GrantedBy string    `json:"granted_by,omitempty"`
	GrantedAt time.Time `json:"granted_at"`
}

// MaxPatternLen bounds a right's path pattern.
const MaxPatternLen = 1000

// Validate checks a right before it is granted. Errors match [ErrInvalid].
func (r *Right) Validate() error {
	var v violations
	if err := ValidateClientID(r.Consumer); err != nil {
		v.add("/consumer", "invalid", err.(*Error).Detail, "μη έγκυρο αναγνωριστικό καταναλωτή")
	}
	if err := ValidateServiceID(r.Service); err != nil || r.Service.Version != "" {
		v.add("/service", "invalid", "a service identifier INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE", "μη έγκυρο αναγνωριστικό υπηρεσίας")
	}
	if !validMethod(r.Method) {
		v.add("/method", "invalid", `an HTTP method in upper case (GET, POST, …) or "*"`, `μέθοδος HTTP με κεφαλαία ή "*"`)
	}
	if msg := checkPattern(r.Path); msg != "" {
		v.add("/path", "invalid", msg, "μη έγκυρο πρότυπο διαδρομής")
	}
	if !r.NotBefore.IsZero() && !r.NotAfter.IsZero() && !r.NotAfter.After(r.NotBefore) {
		v.add("/not_after", "invalid", "the end of the validity comes after its start", "η λήξη έπεται της έναρξης")
	}
	return v.err("the right cannot be granted as given")
}

func validMethod(m string) bool {
	if m == AnyMethod {
		return true
	}
	if m == "" || len(m) > 20 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

func checkPattern(p string) string {
	switch {
	case p == "":
		return "a path pattern is required, such as /** or /persons/*/address"
	case len(p) > MaxPatternLen:
		return "the path pattern is too long"
	case p[0] != '/':
		return "the path pattern starts with '/'"
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "**" && i != len(segs)-1 {
			return `"**" may only be the last segment`
		}
		if s != "*" && s != "**" && strings.Contains(s, "*") {
			return `'*' stands alone in a segment ("*" or a final "**")`
		}
		if isDotSegment(s) {
			return "the path pattern has a dot segment"
		}
		for j := 0; j < len(s); j++ {
			if c := s[j]; c <= ' ' || c >= 0x7f || c == '?' || c == '#' {
				return "the path pattern is an escaped path: no spaces, controls, '?', '#' or raw non-ASCII"
			}
		}
	}
	return ""
}

// pattern is a compiled path pattern.
type pattern struct {
	segs []string // "*" matches one non-empty segment
	rest bool     // the pattern ended in "**"
}

func compilePattern(p string) pattern {
	segs := strings.Split(p[1:], "/")
	if segs[len(segs)-1] == "**" {
		return pattern{segs: segs[:len(segs)-1], rest: true}
	}
	return pattern{segs: segs}
}

// match reports whether the escaped path (starting with '/') matches.
// It does not allocate.
func (p *pattern) match(path string) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for i, want := range p.segs {
		seg, more := rest, false
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest, more = rest[:j], rest[j+1:], true
		}
		if want == "*" && seg == "" || want != "*" && seg != want {
			return false
		}
		if !more {
			// The path ends here: a match when the pattern does too, or
			// goes on with "**" only.
			return i == len(p.segs)-1
		}
	}
	// The path has segments beyond the pattern's: only "**" takes them.
	return p.rest
}

// holds reports whether the right's validity window contains now.
func (r *Right) holds(now time.Time) bool {
	return (r.NotBefore.IsZero() || !now.Before(r.NotBefore)) && (r.NotAfter.IsZero() || now.Before(r.NotAfter))
}
