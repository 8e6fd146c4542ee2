// Package jsonschema validates JSON documents against JSON Schema (draft-07)
// for the packages that describe their data with schemas: procedures and
// their application forms, declaration templates.
//
// # Compile once
//
// [Compile] builds a schema at start; validating is then cheap and safe from
// many goroutines. Compiling per request would cost a hundred times the
// memory. A "$ref" may point inside the schema or to another schema given
// to Compile by its "$id"; anything else is refused, so compiling never
// reaches the network.
//
//	var form = jsonschema.MustCompile(formSchema) // embedded with //go:embed
//	…
//	if err := form.Validate(body); err != nil {
//		httpx.WriteError(w, r, log, err) // 422, one field error per JSON Pointer
//		return
//	}
//
// # Errors people can act on
//
// A [ValidationError] lists every [Violation] with the JSON Pointer of the
// offending value (for a missing property, where it should be) and a
// message in English and in Greek. Over HTTP it renders as an RFC 9457
// problem whose "errors" carry the pointers and English messages, and whose
// "errors_el" carry the Greek ones.
//
// # Formats
//
// Besides the formats draft-07 defines, "duration" accepts ISO 8601
// durations ("P3D", "PT48H", "P2W"). As with every format, pair it with
// "type": "string": formats pass values of other types.
package jsonschema
