package declaration_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func entry(subject string) declaration.BookEntry {
	return declaration.BookEntry{Direction: declaration.Incoming, Subject: subject, Sender: "Υπουργείο Εσωτερικών",
		Recipient: "Δ/νση Δημοτικής Κατάστασης", Date: "2026-11-20", ContentSHA256: sha(subject), RegisteredBy: "clerk"}
}

func TestProtocolBook(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		book, err := declaration.NewBook(ctx, declaration.BookConfig{DB: db.DB.DB, Issuer: "Δήμος Θεσσαλονίκης", Now: clock.Now})
		require.NoError(t, err)

		rep, err := book.Verify(ctx)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "an empty book is intact")

		var numbers []string
		for i, subject := range []string{"Εγκύκλιος για τις δημοτικές εκλογές", "Αίτημα πολίτη για βεβαίωση", "Απάντηση στο αίτημα"} {
			e := entry(subject)
			if i == 2 {
				e.Direction, e.Sender, e.Recipient = declaration.Outgoing, "Δ/νση Δημοτικής Κατάστασης", "Γεώργιος Παπαδόπουλος"
				e.Signature = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
			}
			got, err := book.Register(ctx, e)
			require.NoError(t, err)
			numbers = append(numbers, got.Number)
			clock.Advance(time.Minute)
		}
		assert.Equal(t, []string{"2026/000001", "2026/000002", "2026/000003"}, numbers)

		// Numbers are shared with the documents the same issuer issues.
		f := newFixture(t, db.DB.DB, nil, func(c *declaration.Config) { c.Issuer = "Δήμος Θεσσαλονίκης" })
		doc := f.issue(t, maria, solemn())
		assert.Equal(t, "2026/000004", doc.Protocol)
		next, err := book.Register(ctx, entry("Μετά το έγγραφο"))
		require.NoError(t, err)
		assert.Equal(t, "2026/000005", next.Number)

		got, err := book.Get(ctx, "2026/000002")
		require.NoError(t, err)
		assert.Equal(t, "Αίτημα πολίτη για βεβαίωση", got.Subject)
		_, err = book.Get(ctx, "2026/000004")
		assert.ErrorIs(t, err, declaration.ErrNotFound, "a document's number, not the book's")
		_, err = book.Get(ctx, "nonsense")
		assert.ErrorIs(t, err, declaration.ErrNotFound)

		found, err := book.Search(ctx, declaration.BookQuery{Text: "ΑΙΤΗΜΑ"})
		require.NoError(t, err)
		require.Len(t, found, 2, "accents and case do not matter")
		assert.Equal(t, "2026/000003", found[0].Number, "newest first")
		found, err = book.Search(ctx, declaration.BookQuery{Direction: declaration.Outgoing})
		require.NoError(t, err)
		require.Len(t, found, 1)
		found, err = book.Search(ctx, declaration.BookQuery{Text: "100%_"})
		require.NoError(t, err)
		assert.Empty(t, found, "LIKE wildcards are taken literally")
		_, err = book.Search(ctx, declaration.BookQuery{Limit: 501})
		assert.Error(t, err)

		// Bad entries are refused and store nothing.
		bad := entry("x")
		bad.ContentSHA256 = "abc"
		bad.Direction = "sideways"
		_, err = book.Register(ctx, bad)
		var inv *declaration.InvalidError
		require.ErrorAs(t, err, &inv)
		assert.Len(t, inv.Fields, 2)
		assert.Equal(t, []string{"4"}, db.Dump(t, `SELECT count(*) FROM declaration_book`))

		rep, err = book.Verify(ctx)
		require.NoError(t, err)
		assert.True(t, rep.OK(), rep.Broken)
		assert.EqualValues(t, 4, rep.Entries)

		// The database refuses changes.
		_, err = db.ExecContext(ctx, `UPDATE declaration_book SET subject = 'x' WHERE seq = 2`)
		assert.Error(t, err, "append-only")
		_, err = db.ExecContext(ctx, `DELETE FROM declaration_book WHERE seq = 2`)
		assert.Error(t, err, "append-only")
	})
}

// TestProtocolBookTamper changes, deletes and appends entries behind the
// database's back (its append-only triggers dropped, as someone with full
// rights could) and checks that Verify says where.
func TestProtocolBookTamper(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		fresh := func(t *testing.T) *declaration.Book {
			book, err := declaration.NewBook(ctx, declaration.BookConfig{DB: db.DB.DB, Issuer: t.Name()})
			require.NoError(t, err)
			for i := range 5 {
				_, err := book.Register(ctx, entry(fmt.Sprint("Έγγραφο ", i)))
				require.NoError(t, err)
			}
			return book
		}
		dropTriggers := func(t *testing.T) {
			var stmts []string
			if db.Dialect() == sqlstore.Postgres {
				stmts = []string{`DROP TRIGGER IF EXISTS declaration_book_no_change ON declaration_book`}
			} else {
				stmts = []string{`DROP TRIGGER IF EXISTS declaration_book_no_update`, `DROP TRIGGER IF EXISTS declaration_book_no_delete`}
			}
			for _, s := range stmts {
				_, err := db.ExecContext(ctx, s)
				require.NoError(t, err)
			}
		}
		cases := map[string]struct {
			tamper func(t *testing.T, issuer string)
			want   string
		}{
			"changed subject": {func(t *testing.T, issuer string) {
				_, err := db.ExecContext(ctx, `UPDATE declaration_book SET subject = 'Άλλο' WHERE issuer = $1 AND seq = 3`, issuer)
				require.NoError(t, err)
			}, "2026/000003: its fields do not match"},
			"deleted in the middle": {func(t *testing.T, issuer string) {
				_, err := db.ExecContext(ctx, `DELETE FROM declaration_book WHERE issuer = $1 AND seq = 2`, issuer)
				require.NoError(t, err)
			}, "2026/000003: does not follow"},
			"deleted at the end": {func(t *testing.T, issuer string) {
				_, err := db.ExecContext(ctx, `DELETE FROM declaration_book WHERE issuer = $1 AND seq = 5`, issuer)
				require.NoError(t, err)
			}, "deleted or added at the end"},
			"rehashed after a change": {func(t *testing.T, issuer string) {
				// Changing an entry and fixing its own hash still breaks the next link.
				_, err := db.ExecContext(ctx, `UPDATE declaration_book SET sender = 'Κάποιος', hash = $2 WHERE issuer = $1 AND seq = 2`, issuer, sha("forged"))
				require.NoError(t, err)
			}, "2026/000003: does not follow"},
		}
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				book := fresh(t)
				dropTriggers(t)
				rep, err := book.Verify(ctx)
				require.NoError(t, err)
				require.True(t, rep.OK())
				c.tamper(t, t.Name())
				rep, err = book.Verify(ctx)
				require.NoError(t, err)
				require.False(t, rep.OK())
				assert.Contains(t, fmt.Sprint(rep.Broken), c.want)
			})
		}
	})
}

// TestProtocolBookConcurrent registers from two instances at once: every
// number is given once and the chain holds.
func TestProtocolBookConcurrent(t *testing.T) {
	db := sqltest.Postgres(t)
	ctx := t.Context()
	var books []*declaration.Book
	for _, conn := range []*sqltest.DB{db, nil} {
		d := db.DB.DB
		if conn == nil {
			d = db.OpenAnother(t)
		}
		b, err := declaration.NewBook(ctx, declaration.BookConfig{DB: d, Issuer: "Δήμος"})
		require.NoError(t, err)
		books = append(books, b)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := books[i%2].Register(ctx, entry(fmt.Sprint("Έγγραφο ", i)))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	rep, err := books[0].Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Broken)
	assert.EqualValues(t, 40, rep.Entries)
}

// A book without a Location numbers by the year in Athens, as the
// service's documents do: half an hour after midnight on New Year's Day
// in Athens is still the old year in UTC, and the number is the new year's.
func TestBookYearInAthensByDefault(t *testing.T) {
	db := sqltest.SQLite(t)
	clock := testclock.New()
	clock.Set(time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC))
	book, err := declaration.NewBook(t.Context(), declaration.BookConfig{DB: db.DB.DB, Issuer: "Δήμος Πάτρας", Now: clock.Now})
	require.NoError(t, err)
	got, err := book.Register(t.Context(), entry("Πρώτο του έτους"))
	require.NoError(t, err)
	assert.Equal(t, "2027/000001", got.Number)
}
