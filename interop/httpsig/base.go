package httpsig

import (
	"net/http"
	"strconv"
	"strings"
)

// message is what component values are read from: a request as a client
// sends it or as a server receives it, or a response.
type message struct {
	response bool
	status   int

	method, scheme, authority, path string
	// rawQuery is the query without its "?"; hasQuery tells whether the
	// target has one (possibly empty).
	rawQuery string
	hasQuery bool

	header http.Header
}

// requestMessage reads r either as built for sending (URL absolute, Host
// possibly empty) or as received by a server (URL a path, Host set, TLS
// telling the scheme). Values that join several parts (@query,
// @request-target, @target-uri) are built only when covered.
func requestMessage(r *http.Request) message {
	scheme := strings.ToLower(r.URL.Scheme)
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host = strings.ToLower(host)
	// RFC 9110 section 4.2.3: the default port is left out.
	if (scheme == "https" && strings.HasSuffix(host, ":443")) || (scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return message{
		method:    r.Method,
		scheme:    scheme,
		authority: host,
		path:      path,
		rawQuery:  r.URL.RawQuery,
		hasQuery:  r.URL.RawQuery != "" || r.URL.ForceQuery,
		header:    r.Header,
	}
}

// derived is the value of a derived component (RFC 9421 section 2.2).
func (m *message) derived(name string) (string, bool) {
	if m.response {
		if name == "@status" {
			return strconv.Itoa(m.status), true
		}
		return "", false
	}
	switch name {
	case "@method":
		return m.method, true
	case "@authority":
		return m.authority, true
	case "@scheme":
		return m.scheme, true
	case "@path":
		return m.path, true
	}
	b, ok := m.appendDerived(nil, name)
	return string(b), ok
}

// appendDerived appends the value of a derived component to b, without
// building it as a string of its own.
func (m *message) appendDerived(b []byte, name string) ([]byte, bool) {
	if m.response {
		if name == "@status" {
			return strconv.AppendInt(b, int64(m.status), 10), true
		}
		return b, false
	}
	switch name {
	case "@method":
		return append(b, m.method...), true
	case "@target-uri":
		b = append(b, m.scheme...)
		b = append(b, "://"...)
		b = append(b, m.authority...)
		return m.appendTarget(b), true
	case "@authority":
		return append(b, m.authority...), true
	case "@scheme":
		return append(b, m.scheme...), true
	case "@request-target":
		return m.appendTarget(b), true
	case "@path":
		return append(b, m.path...), true
	case "@query":
		b = append(b, '?')
		return append(b, m.rawQuery...), true
	}
	return b, false
}

// appendTarget appends the request target: the path, and the query when
// there is one.
func (m *message) appendTarget(b []byte) []byte {
	b = append(b, m.path...)
	if m.hasQuery {
		b = append(b, '?')
		b = append(b, m.rawQuery...)
	}
	return b
}

// field is the value of a header field component (RFC 9421 section 2.1):
// every field line's value with surrounding whitespace removed, joined by
// ", ". ok is false when the message has no such field.
func (m *message) field(name string) (string, bool) {
	lines := m.lines(name)
	if len(lines) == 0 {
		return "", false
	}
	if len(lines) == 1 {
		return canonicalFieldLine(lines[0]), true
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = canonicalFieldLine(l)
	}
	return strings.Join(parts, ", "), true
}

// canonicalKeys spares the usual components' names the canonicalization
// of each request.
var canonicalKeys = func() map[string]string {
	m := map[string]string{}
	for _, n := range append(append(GatewayComponents(), GatewayOptionalComponents()...),
		"content-type", "content-length", "date", "accept", "authorization") {
		m[n] = http.CanonicalHeaderKey(n)
	}
	return m
}()

// lines are the field lines of the header field name (lower case).
func (m *message) lines(name string) []string {
	key, ok := canonicalKeys[name]
	if !ok {
		key = http.CanonicalHeaderKey(name)
	}
	return fieldLines(m.header, key, name)
}

// fieldLines are the field lines of h under key, the canonical form of
// name (lower case), or under any spelling of name when a header was set
// with a key that is not canonical.
func fieldLines(h http.Header, key, name string) []string {
	lines := h[key]
	if len(lines) == 0 {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				lines = v
				break
			}
		}
	}
	return lines
}

// canonicalFieldLine trims the line and replaces any obsolete line folding
// (a line break followed by whitespace) with one space.
func canonicalFieldLine(v string) string {
	v = strings.Trim(v, " \t")
	if strings.ContainsAny(v, "\r\n") {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '\r' || c == '\n' {
				for i+1 < len(v) && strings.IndexByte("\r\n \t", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(' ')
				continue
			}
			b.WriteByte(c)
		}
		v = b.String()
	}
	return v
}

// signatureBase builds the signature base (RFC 9421 section 2.5) over the
// covered components and the signature parameters, and returns it with
// the serialized inner list (the value of the Signature-Input member).
func signatureBase(m *message, covered []sfItem, params []sfParam) (base []byte, input string, err error) {
	var b strings.Builder
	b.Grow(1024)
	for i, c := range covered {
		name, ok := c.val.(string)
		if !ok || name == "" || name != strings.ToLower(name) || !validString(name) {
			return nil, "", fail(ErrMalformed, "a component identifier is not a lower-case string")
		}
		if len(c.params) > 0 {
			return nil, "", fail(ErrMalformed, "component parameters are not supported: "+name)
		}
		for _, prev := range covered[:i] {
			if prev.val == name {
				return nil, "", fail(ErrMalformed, "component covered twice: "+name)
			}
		}
		var v string
		if name[0] == '@' {
			if name == "@signature-params" {
				return nil, "", fail(ErrMalformed, "@signature-params cannot be covered")
			}
			if v, ok = m.derived(name); !ok {
				return nil, "", fail(ErrMalformed, "unsupported derived component "+name)
			}
		} else if v, ok = m.field(name); !ok {
			return nil, "", fail(ErrMissingComponent, "covered field absent: "+name)
		}
		writeItem(&b, c)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	start := b.Len()
	writeInner(&b, covered, params)
	all := b.String()
	return []byte(all), all[start:], nil
}
