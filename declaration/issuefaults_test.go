package declaration_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// failIssues makes the database refuse to issue any document until the
// returned function is called: a fault inside the issuing transaction,
// after the one-time code was checked.
func failIssues(t *testing.T, db *sqltest.DB) func() {
	return failState(t, db, declaration.StateIssued)
}

// failState makes the database refuse to put any document in state until
// the returned function is called.
func failState(t *testing.T, db *sqltest.DB, state string) func() {
	t.Helper()
	ctx := t.Context()
	if db.Dialect() == sqlstore.Postgres {
		_, err := db.DB.DB.ExecContext(ctx, `CREATE OR REPLACE FUNCTION test_fail_issue() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.state = '`+state+`' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`)
		require.NoError(t, err)
		_, err = db.DB.DB.ExecContext(ctx, `CREATE TRIGGER test_fail_issue BEFORE UPDATE ON declaration_documents
			FOR EACH ROW EXECUTE FUNCTION test_fail_issue()`)
		require.NoError(t, err)
		return func() {
			_, err := db.DB.DB.ExecContext(ctx, `DROP TRIGGER test_fail_issue ON declaration_documents`)
			require.NoError(t, err)
		}
	}
	_, err := db.DB.DB.ExecContext(ctx, `CREATE TRIGGER test_fail_issue BEFORE UPDATE ON declaration_documents
		WHEN NEW.state = '`+state+`' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`)
	require.NoError(t, err)
	return func() {
		_, err := db.DB.DB.ExecContext(ctx, `DROP TRIGGER test_fail_issue`)
		require.NoError(t, err)
	}
}

// TestFailedIssueKeepsCode: a confirmation whose issuing transaction
// fails after the code was checked leaves the code usable, so the
// declarant confirms again at once with it, without waiting out the
// cool-down for a new one, and the protocol numbers keep no gap.
func TestFailedIssueKeepsCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)
		d, err := f.svc.Create(ctx, maria, solemn())
		require.NoError(t, err)
		_, err = f.svc.RequestCode(ctx, maria, d.ID)
		require.NoError(t, err)
		code := f.code(t, maria)

		restore := failIssues(t, db)
		_, err = f.svc.Confirm(ctx, maria, d.ID, code)
		require.Error(t, err)
		assert.NotErrorIs(t, err, declaration.ErrCode)
		restore()
		got, err := f.svc.Get(ctx, maria, d.ID)
		require.NoError(t, err)
		assert.Equal(t, declaration.StateDraft, got.State, "nothing issued")
		assert.Equal(t, 0, f.count.get(declarationIssued))

		doc, err := f.svc.Confirm(ctx, maria, d.ID, code)
		require.NoError(t, err, "the same code confirms once the fault is gone")
		assert.Equal(t, "2026/000001", doc.Protocol)
		assert.Equal(t, 1, f.count.get(declarationIssued))
		_, err = f.svc.Confirm(ctx, maria, d.ID, code)
		assert.ErrorIs(t, err, declaration.ErrState, "and only once")
	})
}

// TestIssueCountedWhateverTheClient confirms drafts from many callers on
// two instances whose contexts end at random moments, as clients that
// give up while their confirmation waits for its batch: every document
// stored as issued is counted exactly once, and none counted that is not.
func TestIssueCountedWhateverTheClient(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a := newFixture(t, db.DB.DB, nil)
		// One counter behind both, as one metrics store.
		b := newFixture(t, db.OpenAnother(t), a.kek, func(c *declaration.Config) { c.Counter = a.count })
		const n = 120
		type job struct {
			f    *fixture
			p    declaration.Person
			id   string
			code string
		}
		jobs := make([]job, n)
		for i := range jobs {
			afm, err := ident.GenerateAFM(rand.Reader)
			require.NoError(t, err)
			p := declaration.Person{AFM: afm, GivenName: "Α", FamilyName: "Β", Mobile: fmt.Sprintf("+3069%08d", i)}
			f := []*fixture{a, b}[i%2]
			d, err := f.svc.Create(ctx, p, solemn())
			require.NoError(t, err)
			_, err = f.svc.RequestCode(ctx, p, d.ID)
			require.NoError(t, err)
			jobs[i] = job{f: f, p: p, id: d.ID, code: f.code(t, p)}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// From at once to long enough for most batches, under the
				// race detector too.
				wait, _ := rand.Int(rand.Reader, big.NewInt(int64(1500*time.Millisecond)))
				cctx, cancel := context.WithTimeout(ctx, time.Duration(wait.Int64()))
				defer cancel()
				_, err := j.f.svc.Confirm(cctx, j.p, j.id, j.code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					outcomes["issued"]++
				case cctx.Err() != nil:
					// context.DeadlineExceeded, or sql.ErrTxDone from a
					// transaction the deadline rolled back.
					outcomes["gave up"]++
				case sqlstore.IsUnavailable(err):
					// A machine too busy to connect within the deadline:
					// refused as unavailable, and nothing may be counted
					// that was not stored.
					outcomes["unavailable"]++
				default:
					outcomes[err.Error()]++
				}
			}()
		}
		wg.Wait()
		require.Eventually(t, func() bool { return declaration.Idle(a.svc) && declaration.Idle(b.svc) }, 30*time.Second, 10*time.Millisecond)
		t.Logf("outcomes: %v", outcomes)
		for o := range outcomes {
			assert.Contains(t, []string{"issued", "gave up", "unavailable"}, o)
		}
		stored := db.Dump(t, `SELECT count(*) FROM declaration_documents WHERE state = 'issued'`)[0]
		assert.Equal(t, stored, fmt.Sprint(a.count.get(declarationIssued)), "counted = stored")
		assert.GreaterOrEqual(t, a.count.get(declarationIssued), outcomes["issued"])
		assert.Positive(t, outcomes["issued"])
	})
}

// TestClientGone: a request whose client went away is logged at info and
// answered as such, not as an internal error.
func TestClientGone(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	api, err := declaration.APIHandler(declaration.APIConfig{Service: f.svc, Logger: log,
		Declarant: func(*http.Request) (declaration.Person, error) { return maria, nil }})
	require.NoError(t, err)
	pages, err := declaration.PagesHandler(declaration.PagesConfig{Service: f.svc, Logger: log,
		Declarant: func(*http.Request) (declaration.Person, error) { return maria, nil }})
	require.NoError(t, err)
	d, err := f.svc.Create(t.Context(), maria, solemn())
	require.NoError(t, err)
	_, err = f.svc.RequestCode(t.Context(), maria, d.ID)
	require.NoError(t, err)
	code := f.code(t, maria)

	for name, c := range map[string]struct {
		h    http.Handler
		path string
		body string
		ct   string
	}{
		"API":   {api, "/documents/" + d.ID + "/confirm", `{"code":"` + code + `"}`, "application/json"},
		"pages": {pages, "/d/" + d.ID + "/confirm", "code=" + code, "application/x-www-form-urlencoded"},
	} {
		t.Run(name, func(t *testing.T) {
			cctx, cancel := context.WithCancel(t.Context())
			cancel() // the client is gone
			req := httptest.NewRequestWithContext(cctx, "POST", c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ct)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			assert.NotEqual(t, http.StatusInternalServerError, rec.Code)
			assert.Equal(t, 499, rec.Code)
			assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no internal error logged")
			assert.Positive(t, logs.FilterMessage("client went away before the answer").Len())
		})
	}
}
