package jsonschema

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// gojsonschema checks "enum" and "const" by encoding the value to JSON,
// decoding and encoding it again, then comparing strings: on a procedure
// with a few dozen such values that is a third of all the memory a
// validation allocates. Where a subschema says "type": "string" and every
// allowed value is a string, the same rule is a pattern anchored at both
// ends, which Go's regexp checks without allocating. Compile rewrites
// such subschemas that way, and the violations are reported as the
// original keyword with the original allowed values, so nothing outside
// this file can tell.
//
// "uniqueItems" costs the same way, one encoding per item. Arrays of
// strings reached from the root through "properties" and "items" alone
// are checked for repeats here instead, on the decoded document.

// listed is what a rewritten pattern stands for.
type listed struct {
	kind    string // "enum" or "const"
	allowed string // the allowed values, JSON-encoded, comma-separated
}

// rewriteEnums rewrites node in place and records each pattern it wrote.
func rewriteEnums(node any, out map[string]listed) {
	m, ok := node.(map[string]any)
	if !ok {
		return
	}
	if m["type"] == "string" && m["pattern"] == nil {
		var values []string
		kind := ""
		if c, ok := m["const"].(string); ok {
			values, kind = []string{c}, "const"
		} else if e, ok := m["enum"].([]any); ok && len(e) > 0 {
			kind = "enum"
			for _, v := range e {
				s, ok := v.(string)
				if !ok {
					kind = ""
					break
				}
				values = append(values, s)
			}
		}
		if kind != "" {
			quoted := make([]string, len(values))
			encoded := make([]string, len(values))
			for i, v := range values {
				quoted[i] = regexp.QuoteMeta(v)
				b, _ := json.Marshal(v)
				encoded[i] = string(b)
			}
			pattern := "^(?:" + strings.Join(quoted, "|") + ")$"
			delete(m, kind)
			m["pattern"] = pattern
			out[pattern] = listed{kind: kind, allowed: strings.Join(encoded, ", ")}
		}
	}
	for k, v := range m {
		switch k {
		case "properties", "patternProperties", "definitions", "dependencies":
			if sub, ok := v.(map[string]any); ok {
				for _, s := range sub {
					rewriteEnums(s, out)
				}
			}
		case "items", "allOf", "anyOf", "oneOf":
			if list, ok := v.([]any); ok {
				for _, s := range list {
					rewriteEnums(s, out)
				}
			} else {
				rewriteEnums(v, out)
			}
		case "additionalItems", "additionalProperties", "contains", "propertyNames", "if", "then", "else", "not":
			rewriteEnums(v, out)
		}
	}
}

// uniquePlan is the part of a schema that leads to arrays of strings whose
// items must not repeat.
type uniquePlan struct {
	props  map[string]*uniquePlan
	items  *uniquePlan
	unique bool
}

// planUnique takes "uniqueItems" out of root's arrays of strings reached
// through "properties" and "items" (written in place, not through "$ref")
// and returns the plan that checks them, or nil. Nothing is taken when a
// "$ref" points anywhere but into "definitions": such a reference could
// reach an array by another way.
func planUnique(root map[string]any) *uniquePlan {
	if !refsOnlyDefinitions(root) {
		return nil
	}
	defs, _ := root["definitions"].(map[string]any)
	return planNode(root, defs)
}

func planNode(m map[string]any, defs map[string]any) *uniquePlan {
	var p uniquePlan
	found := false
	if m["uniqueItems"] == true && m["type"] == "array" && stringItems(m["items"], defs) {
		delete(m, "uniqueItems")
		p.unique, found = true, true
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, sub := range props {
			if sm, ok := sub.(map[string]any); ok && sm["$ref"] == nil {
				if c := planNode(sm, defs); c != nil {
					if p.props == nil {
						p.props = map[string]*uniquePlan{}
					}
					p.props[name], found = c, true
				}
			}
		}
	}
	if im, ok := m["items"].(map[string]any); ok && im["$ref"] == nil {
		if c := planNode(im, defs); c != nil {
			p.items, found = c, true
		}
	}
	if !found {
		return nil
	}
	return &p
}

// stringItems reports whether items says every item is a string.
func stringItems(items any, defs map[string]any) bool {
	m, ok := items.(map[string]any)
	if !ok {
		return false
	}
	if ref, ok := m["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok {
			return false
		}
		m, ok = defs[name].(map[string]any)
		if !ok || m["$ref"] != nil {
			return false
		}
	}
	return m["type"] == "string"
}

func refsOnlyDefinitions(node any) bool {
	switch v := node.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, "#") && !strings.HasPrefix(ref, "#/definitions/") {
			return false
		}
		for _, c := range v {
			if !refsOnlyDefinitions(c) {
				return false
			}
		}
	case []any:
		for _, c := range v {
			if !refsOnlyDefinitions(c) {
				return false
			}
		}
	}
	return true
}

// check adds a violation for each array of the plan that repeats an item.
func (p *uniquePlan) check(doc any, ptr string, out []Violation) []Violation {
	if p == nil {
		return out
	}
	switch v := doc.(type) {
	case map[string]any:
		for name, sub := range p.props {
			if c, ok := v[name]; ok {
				out = sub.check(c, ptr+"/"+escapePointer(name), out)
			}
		}
	case []any:
		if p.unique && repeats(v) {
			en, el := messages("unique", nil, "")
			out = append(out, Violation{Pointer: ptr, Kind: "unique", Message: en, MessageEL: el})
		}
		if p.items != nil {
			for i, c := range v {
				out = p.items.check(c, ptr+"/"+strconv.Itoa(i), out)
			}
		}
	}
	return out
}

// repeats reports whether a list of strings holds one twice. Lists are
// short (the schema bounds them), so comparing pairs beats a map.
func repeats(list []any) bool {
	for i := 1; i < len(list); i++ {
		for j := 0; j < i; j++ {
			if a, ok := list[i].(string); ok && a == list[j] {
				return true
			}
		}
	}
	return false
}
