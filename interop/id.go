package interop

import (
	"net/url"
	"strings"
)

// MaxIDPartLen bounds each part of an identifier, in bytes.
const MaxIDPartLen = 255

// MaxPathLen bounds the escaped request path [ParsePath] accepts, as
// X-Road's REST protocol allows a security server to (most clients stop at
// about 2,000 characters).
const MaxPathLen = 2000

// ProtocolVersion is the first segment of every path of X-Road's message
// protocol for REST.
const ProtocolVersion = "r1"

// ClientID names a member of an X-Road instance, or one of its subsystems:
// the consumer of a service, as the X-Road-Client header carries it
// ("INSTANCE/CLASS/MEMBER" or "INSTANCE/CLASS/MEMBER/SUBSYSTEM").
//
// Member classes (GOV, COM, ORG, NGO, …) are defined per instance by its
// governing authority, so any class made of the allowed characters is
// accepted; the registry decides who exists.
type ClientID struct {
	Instance  string
	Class     string
	Member    string
	Subsystem string // empty for the member itself
}

// ServiceID names a service of a provider's subsystem
// ("INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE", with "/VERSION" after it in
// the SOAP protocol's catalogues). The subsystem is required: X-Road
// attaches services to subsystems, and the REST path
// /r1/{instance}/{class}/{member}/{subsystem}/{service}/… is read with it.
//
// A REST service carries no version in its identifier (its versions live
// in its own path, such as /v1/…); Version is kept so that a SOAP-era
// identifier parses and prints, and the registry refuses to register one.
type ServiceID struct {
	Instance  string
	Class     string
	Member    string
	Subsystem string
	Service   string
	Version   string // empty for REST services
}

// String returns the identifier in the form of the X-Road-Client header,
// each part percent-encoded where it needs to be (X-Road's allowed
// characters need it only for '?').
func (c ClientID) String() string {
	var b strings.Builder
	b.Grow(len(c.Instance) + len(c.Class) + len(c.Member) + len(c.Subsystem) + 3)
	writeParts(&b, c.Instance, c.Class, c.Member)
	if c.Subsystem != "" {
		b.WriteByte('/')
		b.WriteString(escapePart(c.Subsystem))
	}
	return b.String()
}

// MemberID returns the member the client belongs to (the client itself when
// it names no subsystem).
func (c ClientID) MemberID() ClientID {
	c.Subsystem = ""
	return c
}

// IsZero reports whether c is the zero ClientID.
func (c ClientID) IsZero() bool { return c == ClientID{} }

// String returns the identifier in the form of the REST path and of the
// X-Road-Service header, each part percent-encoded where it needs to be.
func (s ServiceID) String() string {
	var b strings.Builder
	b.Grow(len(s.Instance) + len(s.Class) + len(s.Member) + len(s.Subsystem) + len(s.Service) + len(s.Version) + 5)
	writeParts(&b, s.Instance, s.Class, s.Member, s.Subsystem, s.Service)
	if s.Version != "" {
		b.WriteByte('/')
		b.WriteString(escapePart(s.Version))
	}
	return b.String()
}

// Provider returns the subsystem that provides the service.
func (s ServiceID) Provider() ClientID {
	return ClientID{Instance: s.Instance, Class: s.Class, Member: s.Member, Subsystem: s.Subsystem}
}

// IsZero reports whether s is the zero ServiceID.
func (s ServiceID) IsZero() bool { return s == ServiceID{} }

func writeParts(b *strings.Builder, parts ...string) {
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escapePart(p))
	}
}

// escapePart percent-encodes the one allowed character that is not safe
// in a path segment; every other allowed character is.
func escapePart(p string) string {
	if strings.IndexByte(p, '?') < 0 {
		return p
	}
	return strings.ReplaceAll(p, "?", "%3F")
}

// ParseClientID parses the X-Road-Client form
// "INSTANCE/CLASS/MEMBER[/SUBSYSTEM]", each part percent-encoded UTF-8.
// Errors match [ErrInvalidID].
func ParseClientID(s string) (ClientID, error) {
	parts, err := splitID(s, "client", 3, 4)
	if err != nil {
		return ClientID{}, err
	}
	return ClientID{Instance: parts[0], Class: parts[1], Member: parts[2], Subsystem: parts[3]}, nil
}

// ParseServiceID parses "INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]",
// each part percent-encoded UTF-8. Errors match [ErrInvalidID].
func ParseServiceID(s string) (ServiceID, error) {
	parts, err := splitID(s, "service", 5, 6)
	if err != nil {
		return ServiceID{}, err
	}
	return ServiceID{Instance: parts[0], Class: parts[1], Member: parts[2], Subsystem: parts[3], Service: parts[4], Version: parts[5]}, nil
}

// ParsePath reads the escaped path of a request of X-Road's message
// protocol for REST, "/r1/{instance}/{class}/{member}/{subsystem}/{service}[/path]"
// (pass r.URL.EscapedPath()), and returns the service and the rest of the
// path, still escaped, as the provider is to receive it: "/" when there is
// none. The rest keeps percent-encoded slashes as they came, and is refused
// when it holds a dot segment ("." or "..", escaped or not) or an empty
// segment before its last, so that the path a right is checked against is
// the path the provider serves. Errors match [ErrInvalidID].
func ParsePath(escaped string) (ServiceID, string, error) {
	if len(escaped) > MaxPathLen {
		return ServiceID{}, "", invalidID("the path is longer than %d bytes", MaxPathLen)
	}
	rest, ok := strings.CutPrefix(escaped, "/"+ProtocolVersion+"/")
	if !ok {
		return ServiceID{}, "", invalidID("the path does not start with /%s/", ProtocolVersion)
	}
	var parts [5]string
	for i := range parts {
		seg := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest = rest[:j], rest[j:]
		} else {
			rest = ""
		}
		p, err := unescapePart(seg, "service", i)
		if err != nil {
			return ServiceID{}, "", err
		}
		parts[i] = p
		if i < 4 {
			if rest == "" {
				return ServiceID{}, "", invalidID("the path names no service: /%s/{instance}/{class}/{member}/{subsystem}/{service}", ProtocolVersion)
			}
			rest = rest[1:]
		}
	}
	if rest == "" {
		rest = "/"
	}
	if err := checkRest(rest); err != nil {
		return ServiceID{}, "", err
	}
	return ServiceID{Instance: parts[0], Class: parts[1], Member: parts[2], Subsystem: parts[3], Service: parts[4]}, rest, nil
}

// checkRest refuses dot segments and empty inner segments in the rest of
// a path.
func checkRest(rest string) error {
	segs := rest[1:]
	for segs != "" {
		seg := segs
		last := true
		if j := strings.IndexByte(segs, '/'); j >= 0 {
			seg, segs, last = segs[:j], segs[j+1:], false
		} else {
			segs = ""
		}
		if seg == "" && !last {
			return invalidID("the path has an empty segment")
		}
		if isDotSegment(seg) {
			return invalidID("the path has a dot segment")
		}
	}
	return nil
}

func isDotSegment(seg string) bool {
	if seg == "." || seg == ".." {
		return true
	}
	if len(seg) > 6 || strings.IndexByte(seg, '%') < 0 {
		return false
	}
	u, err := url.PathUnescape(seg)
	return err == nil && (u == "." || u == "..")
}

var idPartNames = [...]string{"instance", "member class", "member code", "subsystem code", "service code", "service version"}

// splitID splits s into min to max parts, unescaped and checked; the
// parts not given are empty. It does not allocate unless a part is
// escaped.
func splitID(s, what string, min, max int) (parts [6]string, err error) {
	if len(s) > max*(MaxIDPartLen*3+1) {
		return parts, invalidID("the %s identifier is too long", what)
	}
	count := strings.Count(s, "/") + 1
	if count < min || count > max {
		if min == max-1 {
			return parts, invalidID("a %s identifier has %d or %d parts separated by '/', not %d", what, min, max, count)
		}
		return parts, invalidID("a %s identifier has %d parts separated by '/', not %d", what, min, count)
	}
	for i := range count {
		raw := s
		if j := strings.IndexByte(s, '/'); j >= 0 {
			raw, s = s[:j], s[j+1:]
		}
		p, err := unescapePart(raw, what, i)
		if err != nil {
			return parts, err
		}
		parts[i] = p
	}
	return parts, nil
}

func unescapePart(raw, what string, i int) (string, error) {
	name := idPartNames[min(i, len(idPartNames)-1)]
	p := raw
	if strings.IndexByte(raw, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(raw); err != nil {
			return "", invalidID("the %s's %s is not well percent-encoded", what, name)
		}
	}
	if err := checkPart(p); err != "" {
		return "", invalidID("the %s's %s %s", what, name, err)
	}
	return p, nil
}

// checkPart applies X-Road's identifier character restrictions: letters
// A–Z and a–z, digits and the symbols ' ( ) + , - . = ?; and refuses "."
// and "..", which a client's URL handling would swallow.
func checkPart(p string) string {
	if p == "" {
		return "is empty"
	}
	if len(p) > MaxIDPartLen {
		return "is too long"
	}
	if p == "." || p == ".." {
		return "is a dot segment"
	}
	for i := 0; i < len(p); i++ {
		if !allowedIDChar(p[i]) {
			return "has a character X-Road does not allow in identifiers (letters, digits and '()+,-.=? only)"
		}
	}
	return ""
}

func allowedIDChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("'()+,-.=?", c) >= 0
}

// ValidateClientID checks every part of c as [ParseClientID] would.
func ValidateClientID(c ClientID) error {
	parts := []string{c.Instance, c.Class, c.Member}
	if c.Subsystem != "" {
		parts = append(parts, c.Subsystem)
	}
	return checkParts("client", parts)
}

// ValidateServiceID checks every part of s as [ParseServiceID] would.
func ValidateServiceID(s ServiceID) error {
	parts := []string{s.Instance, s.Class, s.Member, s.Subsystem, s.Service}
	if s.Version != "" {
		parts = append(parts, s.Version)
	}
	return checkParts("service", parts)
}

func checkParts(what string, parts []string) error {
	for i, p := range parts {
		if err := checkPart(p); err != "" {
			return invalidID("the %s's %s %s", what, idPartNames[i], err)
		}
	}
	return nil
}

// MarshalText writes the identifier as String does.
func (c ClientID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the identifier as ParseClientID does.
func (c *ClientID) UnmarshalText(b []byte) error {
	id, err := ParseClientID(string(b))
	if err != nil {
		return err
	}
	*c = id
	return nil
}

// MarshalText writes the identifier as String does.
func (s ServiceID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the identifier as ParseServiceID does.
func (s *ServiceID) UnmarshalText(b []byte) error {
	id, err := ParseServiceID(string(b))
	if err != nil {
		return err
	}
	*s = id
	return nil
}
