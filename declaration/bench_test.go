package declaration_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkIssue issues documents on SQLite: the draft stored, the
// protocol number taken, the content and the QR summary signed and the
// document written, which is everything Confirm does after the one-time
// code (the code's own check is internal/otp's). Beside it, raw jws.Sign
// of the same content with an ES256 key: one signature, nothing stored.
// Target on 2 cores: at least 5,000 issues per second.
//
//	go test -run '^$' -bench 'Issue|Verify' -benchmem -cpu 1,2 ./declaration/
func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, sqltest.SQLite(b).DB.DB, nil)
	payload := []byte(`{"iss":"https://docs.example.gr","jti":"J3V6Q2XKQ5ZP4M7R2N8T6YBW4E","iat":1795000000,"issuer_name":"gov.gr","kind":"solemn_declaration","protocol":"2026/000123","code":"7KQM-2XPA-9RTV-4HWC-8NDF","declarant":{"afm":"123456783","given_name":"Μαρία","family_name":"Παπαδοπούλου"},"content":{"kind":"solemn_declaration","lang":"el","recipient":"Δήμος Αθηναίων","text":"Τα στοιχεία της αίτησής μου είναι αληθή."},"statutory":"Με ατομική μου ευθύνη …","status_url":"https://docs.example.gr/verify?code=7KQM-2XPA-9RTV-4HWC-8NDF"}`)
	b.Run("declaration.Issue", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := declaration.IssueWithoutCode(ctx, f.svc, maria, solemn()); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	b.Run("jws.Sign", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkVerify checks signed documents offline (OfflineVerifier) and
// verification codes against the database (Service.Verify), beside raw
// jws.Verify of the same token with the key in hand. Target on 2 cores:
// at least 25,000 signature verifications per second.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, sqltest.SQLite(b).DB.DB, nil)
	var docs []*declaration.Document
	for range 200 {
		d, err := declaration.IssueWithoutCode(ctx, f.svc, maria, solemn())
		require.NoError(b, err)
		docs = append(docs, d)
	}
	v := offlineVerifier(b, f)
	set, err := f.keys.PublicSet(ctx)
	require.NoError(b, err)
	pub, _ := set.Key(0)
	b.Run("OfflineVerifier.Verify", func(b *testing.B) {
		b.ReportAllocs()
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d := docs[i.Add(1)%int64(len(docs))]
				if _, st, err := v.Verify(d.Token); err != nil || st != declaration.StatusValid {
					b.Fatal(st, err)
				}
			}
		})
	})
	b.Run("jws.Verify", func(b *testing.B) {
		b.ReportAllocs()
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d := docs[i.Add(1)%int64(len(docs))]
				if _, err := jws.Verify([]byte(d.Token), jws.WithKey(jwa.ES256, pub)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("Service.Verify", func(b *testing.B) {
		b.ReportAllocs()
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d := docs[i.Add(1)%int64(len(docs))]
				if r, err := f.svc.Verify(ctx, d.Code); err != nil || r.Status != declaration.StatusValid {
					b.Fatal(fmt.Sprint(r.Status), err)
				}
			}
		})
	})
}
