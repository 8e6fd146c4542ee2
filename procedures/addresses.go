package procedures

import (
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/egovkit/egovkit/internal/jsonschema"
)

// A procedure holds two sorts of address, told apart by the schema's
// definitions. A link ("#/definitions/link": a step's or channel's page,
// the authority's site, a contact form, a law's text, a useful link) is
// published for people to follow, in the pages, the JSON API and the
// CPSV-AP export, so it must be https; http is accepted only for this
// machine (localhost, 127.0.0.0/8, ::1) and only by a registry made with
// WithLoopbackHTTP, for demonstrations and development. An identifier
// ("#/definitions/uri": a law's ELI, a life or business event of the EU
// code lists) names a thing and is http or https, as those registers
// write them. Anything else (javascript:, data:, a relative or
// host-less address, one with a user name or password) is refused.
const (
	refLink       = "#/definitions/link"
	refIdentifier = "#/definitions/uri"
)

// addressField is where the schema puts an address: property names from
// the root, "*" standing for every item of an array.
type addressField struct {
	path []string
	link bool
}

// addressFields lists every address of the schema, found by walking its
// properties and items, so that a field added to the schema is checked
// without more code.
var addressFields = func() []addressField {
	var schema map[string]any
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		panic(err) // embedded, and compiled above
	}
	var out []addressField
	var walk func(node any, path []string)
	walk = func(node any, path []string) {
		m, ok := node.(map[string]any)
		if !ok {
			return
		}
		switch m["$ref"] {
		case refLink:
			out = append(out, addressField{path: slices.Clone(path), link: true})
			return
		case refIdentifier:
			out = append(out, addressField{path: slices.Clone(path)})
			return
		}
		if props, ok := m["properties"].(map[string]any); ok {
			names := make([]string, 0, len(props))
			for name := range props {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				walk(props[name], append(path, name))
			}
		}
		walk(m["items"], append(path, "*"))
	}
	walk(schema, nil)
	return out
}()

// addressPolicy says which addresses a check accepts beyond https.
type addressPolicy struct {
	loopbackHTTP bool // http links to this machine
}

// checkAddresses returns a violation for every address of doc (decoded,
// and valid against the schema) that the policy refuses.
func checkAddresses(doc any, policy addressPolicy) []jsonschema.Violation {
	var out []jsonschema.Violation
	var visit func(node any, path []string, ptr string, link bool)
	visit = func(node any, path []string, ptr string, link bool) {
		if len(path) == 0 {
			if s, ok := node.(string); ok {
				if v, bad := policy.check(s, link); bad {
					v.Pointer = ptr
					out = append(out, v)
				}
			}
			return
		}
		if path[0] == "*" {
			list, _ := node.([]any)
			for i, item := range list {
				visit(item, path[1:], ptr+"/"+strconv.Itoa(i), link)
			}
			return
		}
		if obj, ok := node.(map[string]any); ok {
			if next, ok := obj[path[0]]; ok {
				visit(next, path[1:], ptr+"/"+path[0], link)
			}
		}
	}
	for _, f := range addressFields {
		visit(doc, f.path, "", f.link)
	}
	return out
}

// check tells whether s is refused as a link (link) or an identifier, and
// why, in English and Greek.
func (p addressPolicy) check(s string, link bool) (jsonschema.Violation, bool) {
	u, err := url.Parse(s)
	ok := err == nil && u.Host != "" && u.User == nil && u.Opaque == ""
	switch {
	case !ok:
	case link && u.Scheme == "https":
		return jsonschema.Violation{}, false
	case link && u.Scheme == "http" && p.loopbackHTTP && isLoopback(u.Hostname()):
		return jsonschema.Violation{}, false
	case !link && (u.Scheme == "https" || u.Scheme == "http"):
		return jsonschema.Violation{}, false
	}
	switch {
	case !link:
		return jsonschema.Violation{Kind: "identifier",
			Message:   "must be an http or https address with a host, such as http://data.europa.eu/…",
			MessageEL: "πρέπει να είναι διεύθυνση http ή https με όνομα διακομιστή, όπως http://data.europa.eu/…"}, true
	case p.loopbackHTTP:
		return jsonschema.Violation{Kind: "https",
			Message:   "must be an https address, such as https://www.gov.gr/… (or http on this machine)",
			MessageEL: "πρέπει να είναι διεύθυνση https, όπως https://www.gov.gr/… (ή http σε αυτό το μηχάνημα)"}, true
	}
	return jsonschema.Violation{Kind: "https",
		Message:   "must be an https address, such as https://www.gov.gr/…",
		MessageEL: "πρέπει να είναι διεύθυνση https, όπως https://www.gov.gr/…"}, true
}

// isLoopback tells whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
