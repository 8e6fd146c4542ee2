package procedures_test

import (
	"context"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

// BenchmarkValidate checks a procedure document against the schema with
// the rules beyond it, beside gojsonschema alone on the same schema,
// compiled once. Every goroutine the -cpu flag allows validates at once,
// so ns/op is the inverse of the throughput of that many cores.
func BenchmarkValidate(b *testing.B) {
	doc := sample(b, "permanent-residence-certificate")
	b.Run("procedures.Validate", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := procedures.Validate(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("procedures.Parse", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := procedures.Parse(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("gojsonschema", func(b *testing.B) {
		s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(procedures.Schema()))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := s.Validate(gojsonschema.NewBytesLoader(doc))
				if err != nil || !res.Valid() {
					b.Fatal(err, res.Errors())
				}
			}
		})
	})
}

func seeded(b *testing.B, n int) *procedures.Registry {
	b.Helper()
	ctx := context.Background()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(b).DB.DB)
	if err != nil {
		b.Fatal(err)
	}
	if err := procedures.SeedPublished(ctx, reg, procedures.Synthetic(n, 42)); err != nil {
		b.Fatal(err)
	}
	return reg
}
