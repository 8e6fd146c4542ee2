package jsonschema

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xeipuuv/gojsonschema"

	"github.com/egovkit/egovkit/internal/httpx"
)

const procedureSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["id", "title", "steps"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    "title": {"$ref": "https://egovkit.dev/schemas/text.json"},
    "cost": {"type": "number", "minimum": 0},
    "processing_time": {"type": "string", "format": "duration"},
    "channels": {"type": "array", "items": {"enum": ["digital", "in_person", "video"]}, "uniqueItems": true, "minItems": 1},
    "steps": {"type": "array", "items": {"$ref": "#/definitions/step"}}
  },
  "definitions": {
    "step": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 3}, "a/b~c": {"type": "integer"}}}
  }
}`

const textSchema = `{
  "$id": "https://egovkit.dev/schemas/text.json",
  "type": "object",
  "required": ["el"],
  "properties": {"el": {"type": "string", "minLength": 1}, "en": {"type": "string"}}
}`

func compiled(t *testing.T) *Schema {
	t.Helper()
	s, err := Compile([]byte(procedureSchema), []byte(textSchema))
	require.NoError(t, err)
	return s
}

func TestValid(t *testing.T) {
	s := compiled(t)
	require.NoError(t, s.Validate([]byte(`{"id":"birth-certificate","title":{"el":"Ληξιαρχική πράξη γέννησης","en":"Birth certificate"},
		"cost":0,"processing_time":"P3D","channels":["digital","in_person"],"steps":[{"title":"Αίτηση"}]}`)))
}

func TestViolationsByPointer(t *testing.T) {
	s := compiled(t)
	err := s.Validate([]byte(`{"id":"Bad Id","title":{"en":"x"},"cost":-1,"processing_time":"3 days",
		"channels":["fax","digital","digital"],"steps":[{"title":"ok!"},{"title":"no"},{"a/b~c":"x"}],"extra":1}`))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.ErrorIs(t, err, ErrInvalidDocument)
	got := map[string]string{}
	for _, v := range ve.Violations {
		got[v.Pointer+" "+v.Kind] = v.Message
		assert.NotEmpty(t, v.MessageEL)
	}
	want := map[string]string{
		" additional_property_not_allowed": "property extra is not allowed",
		"/id pattern":                      "is not in the expected form",
		"/title/el required":               "is required",
		"/cost number_gte":                 "must be at least 0",
		"/processing_time format":          "is not a valid duration",
		"/channels/0 enum":                 `must be one of "digital", "in_person", "video"`,
		"/channels unique":                 "must not repeat items",
		"/steps/1/title string_gte":        "must be at least 3 characters long",
		"/steps/2/title required":          "is required",
		"/steps/2/a~1b~0c invalid_type":    "must be of type integer",
	}
	assert.Equal(t, want, got)
	for _, v := range ve.Violations {
		if v.Kind == "required" {
			assert.Equal(t, "είναι υποχρεωτικό", v.MessageEL)
		}
	}
}

func TestProblem(t *testing.T) {
	s := compiled(t)
	err := s.Validate([]byte(`{"id":"x","title":{},"steps":[]}`))
	require.Error(t, err)
	w := httptest.NewRecorder()
	httpx.WriteError(w, httptest.NewRequest("POST", "/", nil), nil, err)
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	var p struct {
		Type   string `json:"type"`
		Errors []struct {
			Pointer string `json:"pointer"`
			Detail  string `json:"detail"`
		} `json:"errors"`
		ErrorsEL []map[string]string `json:"errors_el"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, httpx.TypeValidation, p.Type)
	require.Len(t, p.Errors, 1)
	assert.Equal(t, "/title/el", p.Errors[0].Pointer)
	assert.Equal(t, "is required", p.Errors[0].Detail)
	assert.Equal(t, "είναι υποχρεωτικό", p.ErrorsEL[0]["detail"])
}

func TestNotJSON(t *testing.T) {
	s := compiled(t)
	for _, doc := range []string{``, `{`, `{"id":"x"} {}`, `nope`} {
		err := s.Validate([]byte(doc))
		require.Error(t, err, doc)
		assert.ErrorIs(t, err, ErrInvalidDocument)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, "a body that is not JSON is a 422 like any invalid document")
		require.Len(t, ve.Violations, 1)
		assert.Equal(t, "invalid_json", ve.Violations[0].Kind)
		assert.Equal(t, 422, ve.Problem().Status)
	}
}

func TestCompileRefusesBadSchemas(t *testing.T) {
	for name, schema := range map[string]string{
		"not JSON":       `{`,
		"remote ref":     `{"properties":{"a":{"$ref":"http://127.0.0.1:1/x.json"}}}`,
		"relative ref":   `{"$ref":"other.json"}`,
		"bad keyword":    `{"type":"strnig"}`,
		"bad local ref":  `{"$ref":"#/definitions/missing"}`,
		"bad type shape": `{"minLength":"three"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Compile([]byte(schema))
			assert.ErrorIs(t, err, ErrInvalidSchema)
		})
	}
	assert.Panics(t, func() { MustCompile([]byte(`{`)) })
	_, err := Compile([]byte(procedureSchema), []byte(`[`))
	assert.ErrorIs(t, err, ErrInvalidSchema)
}

func TestDuration(t *testing.T) {
	for _, s := range []string{"P3D", "PT48H", "P1Y2M10DT2H30M", "P2W", "PT0.5S", "P1,5D", "PT15M", "P0D"} {
		assert.True(t, ValidDuration(s), s)
	}
	for _, s := range []string{"", "P", "PT", "3D", "P3", "P1DT", "P1W2D", "p3d", "P-1D", "PT1H1D", "P1S"} {
		assert.False(t, ValidDuration(s), s)
	}
	assert.True(t, durationChecker{}.IsFormat(42), "non-strings are the type keyword's business")
}

// BenchmarkValidate validates a small document against a schema compiled
// once, beside gojsonschema alone doing the same with its own loader.
func BenchmarkValidate(b *testing.B) {
	s, err := Compile([]byte(procedureSchema), []byte(textSchema))
	require.NoError(b, err)
	doc := []byte(`{"id":"birth-certificate","title":{"el":"Ληξιαρχική πράξη γέννησης","en":"Birth certificate"},
		"cost":0,"processing_time":"P3D","channels":["digital","in_person"],"steps":[{"title":"Αίτηση"},{"title":"Έκδοση"}]}`)
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Validate(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	sl := gojsonschema.NewSchemaLoader()
	sl.Draft = gojsonschema.Draft7
	sl.AutoDetect = false
	require.NoError(b, sl.AddSchemas(gojsonschema.NewStringLoader(textSchema)))
	plain, err := sl.Compile(gojsonschema.NewStringLoader(procedureSchema))
	require.NoError(b, err)
	b.Run("gojsonschema", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := plain.Validate(gojsonschema.NewBytesLoader(doc))
			if err != nil || !res.Valid() {
				b.Fatal(err, res.Errors())
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	s, err := Compile([]byte(procedureSchema), []byte(textSchema))
	require.NoError(f, err)
	for _, d := range []string{`{}`, `{"id":"a","title":{"el":"x"},"steps":[]}`, `[]`, `null`, `{"steps":[{"a/b~c":1}]}`, "\xff"} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := s.Validate([]byte(doc))
		if err == nil {
			return
		}
		if !errors.Is(err, ErrInvalidDocument) {
			t.Fatalf("untyped error: %v", err)
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, v := range ve.Violations {
				if v.Message == "" || v.MessageEL == "" || (v.Pointer != "" && v.Pointer[0] != '/') {
					t.Fatalf("bad violation %+v", v)
				}
			}
		}
	})
}

// TestEnumRewrite checks that string enums and consts, checked as
// anchored patterns, accept and refuse exactly what the keywords do and
// are reported as the keywords.
func TestEnumRewrite(t *testing.T) {
	s, err := Compile([]byte(`{
	  "type": "object",
	  "properties": {
	    "kind": {"type": "string", "enum": ["a.b", "c|d", "ε"]},
	    "fixed": {"type": "string", "const": "x+"},
	    "untyped": {"enum": ["a", 1]},
	    "list": {"type": "array", "items": {"type": "string", "enum": ["one", "two"]}},
	    "step": {"type": "object",
	      "if": {"properties": {"channel": {"type": "string", "const": "digital"}}},
	      "then": {"required": ["url"]}}
	  }
	}`))
	require.NoError(t, err)
	assert.Len(t, s.patterns, 3, "the untyped enum stays as it is; the condition is checked on the document")

	for _, ok := range []string{
		`{"kind":"a.b"}`, `{"kind":"c|d"}`, `{"kind":"ε"}`, `{"fixed":"x+"}`, `{"untyped":1}`,
		`{"list":["two","one"]}`, `{"step":{"channel":"post"}}`, `{"step":{"channel":"digital","url":"u"}}`,
	} {
		assert.NoError(t, s.Validate([]byte(ok)), ok)
	}
	for doc, want := range map[string]Violation{
		`{"kind":"axb"}`:                 {Pointer: "/kind", Kind: "enum", Message: `must be one of "a.b", "c|d", "ε"`},
		`{"kind":"c"}`:                   {Pointer: "/kind", Kind: "enum", Message: `must be one of "a.b", "c|d", "ε"`},
		`{"kind":"a.b\n"}`:               {Pointer: "/kind", Kind: "enum", Message: `must be one of "a.b", "c|d", "ε"`},
		`{"fixed":"xx"}`:                 {Pointer: "/fixed", Kind: "const", Message: `must be "x+"`},
		`{"untyped":"b"}`:                {Pointer: "/untyped", Kind: "enum", Message: `must be one of "a", 1`},
		`{"list":["one","three"]}`:       {Pointer: "/list/1", Kind: "enum", Message: `must be one of "one", "two"`},
		`{"step":{"channel":"digital"}}`: {Pointer: "/step/url", Kind: "required", Message: "is required"},
	} {
		var ve *ValidationError
		require.ErrorAs(t, s.Validate([]byte(doc)), &ve, doc)
		if want.Kind != "required" {
			require.Len(t, ve.Violations, 1, doc)
		}
		// A failed "then" is reported once more as the condition itself.
		got := ve.Violations[len(ve.Violations)-1]
		assert.Equal(t, want.Pointer, got.Pointer, doc)
		assert.Equal(t, want.Kind, got.Kind, doc)
		assert.Equal(t, want.Message, got.Message, doc)
		assert.NotEmpty(t, got.MessageEL, doc)
	}
}

// TestUniqueStrings checks that repeats in arrays of strings, checked on
// the decoded document, are found where gojsonschema would find them, and
// that other arrays are still checked by it.
func TestUniqueStrings(t *testing.T) {
	schema := `{
	  "type": "object",
	  "definitions": {"mode": {"type": "string", "enum": ["a", "b", "c"]}},
	  "properties": {
	    "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
	    "steps": {"type": "array", "items": {"type": "object", "properties": {
	      "modes": {"type": "array", "uniqueItems": true, "items": {"$ref": "#/definitions/mode"}}}}},
	    "nums": {"type": "array", "uniqueItems": true, "items": {"type": "integer"}}
	  }
	}`
	s, err := Compile([]byte(schema))
	require.NoError(t, err)
	require.NotNil(t, s.rules)
	assert.Len(t, s.rules.props, 2, "tags and steps; nums stays with gojsonschema")

	assert.NoError(t, s.Validate([]byte(`{"tags":["x","y"],"steps":[{"modes":["a","b"]},{"modes":["b"]}],"nums":[1,2]}`)))
	for doc, ptrs := range map[string][]string{
		`{"tags":["x","y","x"]}`:                          {"/tags"},
		`{"steps":[{"modes":["a"]},{"modes":["c","c"]}]}`: {"/steps/1/modes"},
		`{"nums":[1,1.0]}`:                                {"/nums"},
		`{"tags":["x","x"],"nums":[2,2]}`:                 {"/nums", "/tags"},
		`{"tags":"x"}`:                                    {"/tags"},
	} {
		var ve *ValidationError
		require.ErrorAs(t, s.Validate([]byte(doc)), &ve, doc)
		var got []string
		for _, v := range ve.Violations {
			got = append(got, v.Pointer)
		}
		assert.Equal(t, ptrs, got, doc)
	}

	// A reference into "properties" could reach an array another way:
	// then gojsonschema keeps every uniqueItems.
	s, err = Compile([]byte(`{"type":"object","properties":{
	  "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
	  "more": {"$ref": "#/properties/tags"}}}`))
	require.NoError(t, err)
	assert.Nil(t, s.rules)
	var ve *ValidationError
	require.ErrorAs(t, s.Validate([]byte(`{"more":["x","x"]}`)), &ve)
	assert.Equal(t, "/more", ve.Violations[0].Pointer)
}

// plainly compiles schema with gojsonschema alone, none of the rules taken
// out or rewritten: what Compile must be indistinguishable from.
func plainly(t *testing.T, schema string) *Schema {
	t.Helper()
	sl := gojsonschema.NewSchemaLoader()
	sl.Draft = gojsonschema.Draft7
	sl.AutoDetect = false
	s, err := sl.Compile(gojsonschema.NewStringLoader(schema))
	require.NoError(t, err)
	return &Schema{s: s, patterns: map[string]listed{}}
}

// TestConditionsAsGojsonschema checks simple if/then rules, taken out of
// the compiled schema and checked on the document, against gojsonschema
// checking them itself: the same violations for every document.
func TestConditionsAsGojsonschema(t *testing.T) {
	schema := `{
	  "type": "object",
	  "properties": {
	    "steps": {"type": "array", "items": {
	      "type": "object",
	      "properties": {"channel": {"type": "string"}, "actor": {"type": "string"}, "url": {"type": "string"}, "a/b": {}},
	      "if": {"properties": {"channel": {"type": "string", "const": "digital"}, "actor": {"const": "applicant"}}},
	      "then": {"required": ["url", "a/b"]}}},
	    "kept": {"type": "object",
	      "if": {"properties": {"x": {"const": 1}}},
	      "then": {"required": ["y"]}},
	    "elsewise": {"type": "object",
	      "if": {"properties": {"x": {"const": "a"}}},
	      "then": {"required": ["y"]}, "else": {"required": ["z"]}}
	  }
	}`
	s, err := Compile([]byte(schema))
	require.NoError(t, err)
	require.NotNil(t, s.rules)
	require.NotNil(t, s.rules.props["steps"])
	assert.Len(t, s.rules.props["steps"].items.when, 1)
	assert.NotContains(t, s.rules.props, "kept", "a number is compared by gojsonschema")
	assert.NotContains(t, s.rules.props, "elsewise", "so is a condition with an else")
	plain := plainly(t, schema)

	for _, doc := range []string{
		`{}`,
		`{"steps":[]}`,
		`{"steps":[{}]}`,
		`{"steps":[{"channel":"digital"}]}`,
		`{"steps":[{"channel":"digital","actor":"applicant"}]}`,
		`{"steps":[{"channel":"digital","actor":"applicant","url":"u"}]}`,
		`{"steps":[{"channel":"digital","actor":"applicant","url":"u","a/b":1}]}`,
		`{"steps":[{"channel":"digital","actor":"authority"}]}`,
		`{"steps":[{"channel":"post","actor":"applicant"},{"channel":"digital","actor":"applicant","a/b":null}]}`,
		`{"steps":[{"channel":5,"actor":"applicant"}]}`,
		`{"steps":[{"channel":"digital","actor":["applicant"]}]}`,
		`{"steps":["digital",7,null,[]]}`,
		`{"steps":{"channel":"digital"}}`,
		`{"kept":{"x":1}}`,
		`{"kept":{"x":1.0,"y":2}}`,
		`{"elsewise":{"x":"a"}}`,
		`{"elsewise":{"x":"b"}}`,
	} {
		want := plain.Validate([]byte(doc))
		got := s.Validate([]byte(doc))
		if want == nil {
			assert.NoError(t, got, doc)
			continue
		}
		var w, g *ValidationError
		require.ErrorAs(t, want, &w, doc)
		require.ErrorAs(t, got, &g, doc)
		assert.ElementsMatch(t, w.Violations, g.Violations, doc)
	}
}
