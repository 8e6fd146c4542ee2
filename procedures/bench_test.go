package procedures_test

import (
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/egovkit/egovkit/procedures"
)

// BenchmarkValidate checks a procedure document against the schema with
// the rules beyond it, beside gojsonschema alone on the same schema,
// compiled once.
func BenchmarkValidate(b *testing.B) {
	doc := sample(b, "permanent-residence-certificate")
	b.Run("procedures.Parse", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for range b.N {
			if _, err := procedures.Parse(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gojsonschema", func(b *testing.B) {
		s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(procedures.Schema()))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for range b.N {
			res, err := s.Validate(gojsonschema.NewBytesLoader(doc))
			if err != nil || !res.Valid() {
				b.Fatal(err, res.Errors())
			}
		}
	})
}
