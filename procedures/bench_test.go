package procedures_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

// BenchmarkValidate checks the twenty sample procedures in turn against
// the schema with the rules beyond it, beside gojsonschema alone on the
// same schema, compiled once, and the same documents. Every goroutine the
// -cpu flag allows validates at once, so ns/op is the inverse of the
// throughput of that many cores.
func BenchmarkValidate(b *testing.B) {
	corpus := procedures.Samples()
	names := slices.Sorted(maps.Keys(corpus))
	docs := make([][]byte, 0, len(names))
	total := 0
	for _, n := range names {
		docs = append(docs, corpus[n])
		total += len(corpus[n])
	}
	mean := int64(total / len(docs))
	each := func(b *testing.B, check func(doc []byte) error) {
		b.SetBytes(mean)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := check(docs[i%len(docs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("procedures.Validate", func(b *testing.B) { each(b, procedures.Validate) })
	b.Run("procedures.Parse", func(b *testing.B) {
		each(b, func(doc []byte) error { _, err := procedures.Parse(doc); return err })
	})
	b.Run("gojsonschema", func(b *testing.B) {
		s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(procedures.Schema()))
		if err != nil {
			b.Fatal(err)
		}
		each(b, func(doc []byte) error {
			res, err := s.Validate(gojsonschema.NewBytesLoader(doc))
			if err != nil {
				return err
			}
			if !res.Valid() {
				return fmt.Errorf("%v", res.Errors())
			}
			return nil
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
