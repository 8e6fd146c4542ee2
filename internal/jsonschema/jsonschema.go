package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonreference"
	"github.com/xeipuuv/gojsonschema"
	xplural "golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/egovkit/egovkit/problem"
)

// ErrInvalidSchema means a schema does not compile, or refers to a schema
// that was not given (remote references are never fetched).
var ErrInvalidSchema = errors.New("jsonschema: invalid schema")

// ErrInvalidDocument is matched (errors.Is) by every *ValidationError, and
// wraps documents that are not JSON at all. It is problem.ErrInvalidDocument.
var ErrInvalidDocument = problem.ErrInvalidDocument

func init() {
	// gojsonschema keeps format checkers in a package variable; adding one
	// at init, before any validation, is the library's intended use.
	gojsonschema.FormatCheckers.Add("duration", durationChecker{})
}

// Schema is a compiled JSON Schema (draft-07). Compile once at start and
// share: compiling costs far more time and memory than validating. Safe for
// concurrent use.
type Schema struct {
	s        *gojsonschema.Schema
	patterns map[string]listed // see rewrite.go
	rules    *plan
}

// Compile compiles schema. refs are further schemas that schema (or each
// other) refer to by their "$id"; a "$ref" to anything else is refused, so
// compiling never reaches the network.
func Compile(schema []byte, refs ...[]byte) (*Schema, error) {
	known := map[string]bool{}
	var docs []any
	for i, b := range append([][]byte{schema}, refs...) {
		var doc any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%w: schema %d is not JSON: %v", ErrInvalidSchema, i, err)
		}
		if m, ok := doc.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok {
				known[strings.TrimSuffix(id, "#")] = true
			}
		}
		docs = append(docs, doc)
	}
	for _, doc := range docs {
		if err := checkRefs(doc, known); err != nil {
			return nil, err
		}
	}
	var rules *plan
	if root, ok := docs[0].(map[string]any); ok {
		rules = planRules(root)
	}
	patterns := map[string]listed{}
	for _, doc := range docs {
		rewriteEnums(doc, patterns)
	}
	sl := gojsonschema.NewSchemaLoader()
	sl.Draft = gojsonschema.Draft7
	sl.AutoDetect = false
	sl.Validate = true
	for _, r := range docs[1:] {
		if err := sl.AddSchemas(decoded{r}); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
		}
	}
	s, err := sl.Compile(decoded{docs[0]})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	return &Schema{s: s, patterns: patterns, rules: rules}, nil
}

// MustCompile is Compile for schemas embedded in the program, where a
// failure is a programming error caught by the package's tests.
func MustCompile(schema []byte, refs ...[]byte) *Schema {
	s, err := Compile(schema, refs...)
	if err != nil {
		panic(err)
	}
	return s
}

// checkRefs refuses "$ref" values that are neither local ("#…") nor one of
// the given schemas' "$id".
func checkRefs(node any, known map[string]bool) error {
	switch v := node.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok && !strings.HasPrefix(ref, "#") {
			base, _, _ := strings.Cut(ref, "#")
			if !known[base] {
				return fmt.Errorf("%w: $ref %q names a schema that was not given", ErrInvalidSchema, ref)
			}
		}
		for _, c := range v {
			if err := checkRefs(c, known); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range v {
			if err := checkRefs(c, known); err != nil {
				return err
			}
		}
	}
	return nil
}

// Violation and ValidationError are the public package problem's, so that
// the packages that validate documents can name them in their APIs.
type (
	Violation       = problem.Violation
	ValidationError = problem.ValidationError
)

// Validate checks a JSON document. It returns nil, a *ValidationError, or
// an error wrapping ErrInvalidDocument when doc is not JSON.
func (s *Schema) Validate(doc []byte) error {
	_, err := s.Decode(doc)
	return err
}

// Decode validates doc as Validate does and returns it decoded (objects as
// map[string]any, arrays as []any, numbers as json.Number), for the rules
// a schema cannot state. Each document is decoded once.
func (s *Schema) Decode(doc []byte) (any, error) {
	// gojsonschema's own bytes loader would accept trailing data after the
	// first value, which is refused here.
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return nil, &ValidationError{Violations: []Violation{{Kind: "invalid_json",
			Message:   "the document is not one well-formed JSON value",
			MessageEL: "το έγγραφο δεν είναι μία έγκυρη τιμή JSON"}}}
	}
	if err := s.validate(v); err != nil {
		return nil, err
	}
	return v, nil
}

// decoded hands gojsonschema a document decoded the way its own loaders
// decode (numbers as json.Number), without decoding it again.
type decoded struct{ v any }

func (d decoded) JsonSource() any        { return d.v }
func (d decoded) LoadJSON() (any, error) { return d.v, nil }
func (d decoded) LoaderFactory() gojsonschema.JSONLoaderFactory {
	return &gojsonschema.DefaultJSONLoaderFactory{}
}
func (d decoded) JsonReference() (gojsonreference.JsonReference, error) {
	return gojsonreference.NewJsonReference("#")
}

// ValidateValue checks a decoded document (maps, slices, strings,
// json.Number or float64, bool, nil).
func (s *Schema) ValidateValue(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	return s.Validate(b)
}

// escapePointer escapes one reference token of a JSON Pointer (RFC 6901).
func escapePointer(token string) string {
	return pointerEscaper.Replace(token)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func (s *Schema) validate(doc any) error {
	res, err := s.s.Validate(decoded{doc})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	out := s.rules.check(doc, "", nil)
	if res.Valid() && len(out) == 0 {
		return nil
	}
	for _, re := range res.Errors() {
		out = append(out, s.violation(re))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return &ValidationError{Violations: out}
}

func (s *Schema) violation(re gojsonschema.ResultError) Violation {
	parts := strings.Split(re.Context().String("\x00"), "\x00")
	if len(parts) > 0 && parts[0] == gojsonschema.STRING_CONTEXT_ROOT {
		parts = parts[1:]
	}
	d := re.Details()
	if re.Type() == "required" {
		if p, ok := d["property"].(string); ok {
			parts = append(parts, p)
		}
	}
	var ptr strings.Builder
	for _, p := range parts {
		ptr.WriteByte('/')
		ptr.WriteString(escapePointer(p))
	}
	kind := re.Type()
	if p, ok := d["pattern"].(*regexp.Regexp); ok && kind == "pattern" {
		if l, ok := s.patterns[p.String()]; ok {
			kind = l.kind
			d = gojsonschema.ErrorDetails{"allowed": l.allowed}
		}
	}
	en, el := messages(kind, d, re.Description())
	return Violation{Pointer: ptr.String(), Kind: kind, Message: en, MessageEL: el}
}

// messages returns the English and Greek text of a violation.
func messages(kind string, d gojsonschema.ErrorDetails, fallback string) (en, el string) {
	get := func(k string) string { return fmt.Sprint(d[k]) }
	switch kind {
	case "required":
		return "is required", "είναι υποχρεωτικό"
	case "invalid_type":
		return "must be of type " + get("expected"), "πρέπει να είναι τύπου " + typeEL(get("expected"))
	case "string_gte":
		n := get("min")
		return "must be at least " + n + plural(language.English, n, " character", " characters") + " long",
			"πρέπει να έχει τουλάχιστον " + n + plural(language.Greek, n, " χαρακτήρα", " χαρακτήρες")
	case "string_lte":
		n := get("max")
		return "must be at most " + n + plural(language.English, n, " character", " characters") + " long",
			"πρέπει να έχει το πολύ " + n + plural(language.Greek, n, " χαρακτήρα", " χαρακτήρες")
	case "pattern":
		return "is not in the expected form", "δεν έχει την αναμενόμενη μορφή"
	case "format":
		return "is not a valid " + get("format"), "δεν είναι έγκυρη τιμή μορφής " + get("format")
	case "enum":
		return "must be one of " + get("allowed"), "πρέπει να είναι ένα από: " + get("allowed")
	case "const":
		return "must be " + get("allowed"), "πρέπει να είναι " + get("allowed")
	case "number_gte":
		return "must be at least " + get("min"), "πρέπει να είναι τουλάχιστον " + get("min")
	case "number_gt":
		return "must be greater than " + get("min"), "πρέπει να είναι μεγαλύτερο από " + get("min")
	case "number_lte":
		return "must be at most " + get("max"), "πρέπει να είναι το πολύ " + get("max")
	case "number_lt":
		return "must be less than " + get("max"), "πρέπει να είναι μικρότερο από " + get("max")
	case "array_min_items":
		n := get("min")
		return "must have at least " + n + plural(language.English, n, " item", " items"),
			"πρέπει να έχει τουλάχιστον " + n + plural(language.Greek, n, " στοιχείο", " στοιχεία")
	case "array_max_items":
		n := get("max")
		return "must have at most " + n + plural(language.English, n, " item", " items"),
			"πρέπει να έχει το πολύ " + n + plural(language.Greek, n, " στοιχείο", " στοιχεία")
	case "unique":
		return "must not repeat items", "δεν πρέπει να επαναλαμβάνει στοιχεία"
	case "additional_property_not_allowed":
		return "property " + get("property") + " is not allowed", "το πεδίο " + get("property") + " δεν επιτρέπεται"
	case "multiple_of":
		return "must be a multiple of " + get("multiple"), "πρέπει να είναι πολλαπλάσιο του " + get("multiple")
	}
	return fallback, "η τιμή δεν είναι έγκυρη"
}

// plural is one or other as the CLDR plural rules of lang (from
// golang.org/x/text) choose for the whole number n, written in digits;
// anything else takes other.
func plural(lang language.Tag, n, one, other string) string {
	if n == "" {
		return other
	}
	digits := make([]byte, len(n))
	for i := range len(n) {
		if n[i] < '0' || n[i] > '9' {
			return other
		}
		digits[i] = n[i] - '0'
	}
	if xplural.Cardinal.MatchDigits(lang, digits, len(digits), 0) == xplural.One {
		return one
	}
	return other
}

func typeEL(t string) string {
	r := strings.NewReplacer("string", "κείμενο", "integer", "ακέραιος", "number", "αριθμός",
		"boolean", "αληθές/ψευδές", "object", "αντικείμενο", "array", "πίνακας", "null", "κενό")
	return r.Replace(t)
}

// iso8601Duration matches PnYnMnDTnHnMnS (each part optional, at least one
// present, a time part after T) and PnW; the smallest unit may carry a
// decimal fraction.
var iso8601Duration = regexp.MustCompile(`^P(?:(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?D)?(?:T(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?|\d+W)$`)

type durationChecker struct{}

// IsFormat accepts ISO 8601 durations such as "P3D", "PT48H", "P1Y2M",
// "P2W". Non-strings pass: pair the format with "type": "string".
func (durationChecker) IsFormat(input any) bool {
	s, ok := input.(string)
	if !ok {
		return true
	}
	return ValidDuration(s)
}

// ValidDuration reports whether s is an ISO 8601 duration.
func ValidDuration(s string) bool {
	if !iso8601Duration.MatchString(s) || s == "P" || strings.HasSuffix(s, "T") {
		return false
	}
	return true
}
