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

	method, scheme, authority, path, query, requestTarget string

	header http.Header
}

// requestMessage reads r either as built for sending (URL absolute, Host
// possibly empty) or as received by a server (URL a path, Host set, TLS
// telling the scheme).
func requestMessage(r *http.Request) *message {
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
	target := path
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		target += "?" + r.URL.RawQuery
	}
	return &message{
		method:        r.Method,
		scheme:        scheme,
		authority:     host,
		path:          path,
		query:         "?" + r.URL.RawQuery,
		requestTarget: target,
		header:        r.Header,
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
	case "@target-uri":
		uri := m.scheme + "://" + m.authority + m.requestTarget
		return uri, true
	case "@authority":
		return m.authority, true
	case "@scheme":
		return m.scheme, true
	case "@request-target":
		return m.requestTarget, true
	case "@path":
		return m.path, true
	case "@query":
		return m.query, true
	}
	return "", false
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
	lines := m.header[key]
	if len(lines) == 0 {
		// A header set with a non-canonical key.
		for k, v := range m.header {
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
