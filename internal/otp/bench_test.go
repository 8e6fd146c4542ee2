package otp_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkVerify measures verifying a correct code on SQLite beside its
// natural baselines in the same run: the bare keyed hash and constant-time
// comparison, and a bare one-row UPDATE … RETURNING in a transaction on the
// same database (the least a single-use check must write).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./internal/otp/
func BenchmarkVerify(b *testing.B) {
	b.Run("otp.Verify/sqlite", func(b *testing.B) {
		db := sqltest.SQLite(b)
		out := otp.NewOutbox(1)
		svc, err := otp.New(b.Context(), db.DB.DB, secret, out, otp.WithCooldown(0))
		require.NoError(b, err)
		type issued struct{ id, subject, code string }
		codes := make([]issued, b.N)
		for i := range codes {
			subj := fmt.Sprint("subject-", i)
			ch, err := svc.Issue(b.Context(), otp.Request{Subject: subj, Purpose: "sign-in", Destination: phone})
			require.NoError(b, err)
			m, _ := out.Last(phone)
			codes[i] = issued{ch.ID, subj, sixDigits.FindString(m.Text)}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := svc.Verify(b.Context(), codes[i].id, codes[i].subject, "sign-in", codes[i].code); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-update-returning/sqlite", func(b *testing.B) {
		db := sqltest.SQLite(b)
		ctx := b.Context()
		_, err := db.ExecContext(ctx, `CREATE TABLE t (id TEXT PRIMARY KEY, state TEXT NOT NULL, used_at BIGINT)`)
		require.NoError(b, err)
		for i := 0; i < b.N; i++ {
			_, err := db.ExecContext(ctx, `INSERT INTO t (id, state) VALUES ($1, 'pending')`, fmt.Sprint("id-", i))
			require.NoError(b, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			var state string
			if err := tx.QueryRowContext(ctx, `UPDATE t SET state = 'used', used_at = $1 WHERE id = $2 AND state = 'pending' RETURNING state`,
				int64(i), fmt.Sprint("id-", i)).Scan(&state); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-hmac-equal", func(b *testing.B) {
		want := hmac.New(sha256.New, secret)
		want.Write([]byte("challenge|sign-in|subject|123456"))
		sum := want.Sum(nil)
		b.ReportAllocs()
		for b.Loop() {
			h := hmac.New(sha256.New, secret)
			h.Write([]byte("challenge|sign-in|subject|123456"))
			if !hmac.Equal(h.Sum(nil), sum) {
				b.Fatal("mismatch")
			}
		}
	})
}
