package jsonschema

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
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
//
// "if"/"then" costs gojsonschema a formatted error (through text/template)
// for every object whose "if" does not hold, which in an array of steps is
// most of them. Where "if" only compares properties to strings and "then"
// only requires properties, on an object schema reached the same way, the
// rule is checked here too, and reported as gojsonschema reports it: the
// failed condition, then each missing property.

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

// plan is the part of a schema whose rules are checked on the decoded
// document rather than by gojsonschema: arrays of strings whose items must
// not repeat, and conditional requirements of objects.
type plan struct {
	props  map[string]*plan
	items  *plan
	unique bool
	when   []conditional
}

// conditional is an "if" that compares properties, where present, to
// strings, and the properties its "then" requires.
type conditional struct {
	equals   map[string]string
	required []string
}

// planRules takes such rules out of root's subschemas reached through
// "properties" and "items" (written in place, not through "$ref") and
// returns the plan that checks them, or nil. Nothing is taken when a
// "$ref" points anywhere but into "definitions": such a reference could
// reach the same subschema by another way. It runs before the enum
// rewrite, so "const" is still itself.
func planRules(root map[string]any) *plan {
	if !refsOnlyDefinitions(root) {
		return nil
	}
	defs, _ := root["definitions"].(map[string]any)
	return planNode(root, defs)
}

func planNode(m map[string]any, defs map[string]any) *plan {
	var p plan
	found := false
	if m["uniqueItems"] == true && m["type"] == "array" && stringItems(m["items"], defs) {
		delete(m, "uniqueItems")
		p.unique, found = true, true
	}
	if c, ok := simpleConditional(m); ok {
		delete(m, "if")
		delete(m, "then")
		p.when, found = append(p.when, c), true
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, sub := range props {
			if sm, ok := sub.(map[string]any); ok && sm["$ref"] == nil {
				if c := planNode(sm, defs); c != nil {
					if p.props == nil {
						p.props = map[string]*plan{}
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

// simpleConditional recognises {"if": {"properties": {name: {"type":
// "string", "const": "…"}, …}}, "then": {"required": […]}} without "else".
func simpleConditional(m map[string]any) (conditional, bool) {
	ifs, ok1 := m["if"].(map[string]any)
	then, ok2 := m["then"].(map[string]any)
	if !ok1 || !ok2 || m["else"] != nil || len(ifs) != 1 || len(then) != 1 {
		return conditional{}, false
	}
	props, ok1 := ifs["properties"].(map[string]any)
	req, ok2 := then["required"].([]any)
	if !ok1 || !ok2 || len(props) == 0 || len(req) == 0 {
		return conditional{}, false
	}
	c := conditional{equals: map[string]string{}}
	for name, sub := range props {
		sm, ok := sub.(map[string]any)
		want, isString := sm["const"].(string)
		if !ok || !isString || len(sm) > 2 || len(sm) == 2 && sm["type"] != "string" {
			return conditional{}, false
		}
		c.equals[name] = want
	}
	for _, r := range req {
		name, ok := r.(string)
		if !ok {
			return conditional{}, false
		}
		c.required = append(c.required, name)
	}
	return c, true
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

// check adds a violation for each array of the plan that repeats an item
// and each object that misses what a condition it meets requires.
func (p *plan) check(doc any, ptr string, out []Violation) []Violation {
	if p == nil {
		return out
	}
	switch v := doc.(type) {
	case map[string]any:
		for _, c := range p.when {
			out = c.check(v, ptr, out)
		}
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

// check applies one conditional to an object: the "if" holds when every
// compared property is absent or equals its string.
func (c conditional) check(obj map[string]any, ptr string, out []Violation) []Violation {
	for name, want := range c.equals {
		if v, ok := obj[name]; ok {
			if s, ok := v.(string); !ok || s != want {
				return out
			}
		}
	}
	first := true
	for _, name := range c.required {
		if _, ok := obj[name]; ok {
			continue
		}
		if first {
			en, el := messages("condition_then", nil, gojsonschema.Locale.ConditionThen())
			out = append(out, Violation{Pointer: ptr, Kind: "condition_then", Message: en, MessageEL: el})
			first = false
		}
		en, el := messages("required", nil, "")
		out = append(out, Violation{Pointer: ptr + "/" + escapePointer(name), Kind: "required", Message: en, MessageEL: el})
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
