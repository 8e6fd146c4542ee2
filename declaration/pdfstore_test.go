package declaration_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestPDFSignedOnce: a document's PDF is drawn and sealed once; every
// download, from every instance on one database, even racing for the
// first one, gets the same bytes. A revocation makes a second form,
// marked revoked, with the same signed QR code, stable in turn.
func TestPDFSignedOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		signer := testSigner(t)
		seal := func(c *declaration.Config) { c.PDFSigner = signer }
		a := newFixture(t, db.DB.DB, nil, seal)
		b := newFixture(t, db.OpenAnother(t), a.kek, seal)
		doc := a.issue(t, maria, solemn())

		const racers = 8
		forms := make([][]byte, 2*racers)
		var wg sync.WaitGroup
		for i := range forms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := []*fixture{a, b}[i%2]
				d, err := f.svc.Get(ctx, maria, doc.ID)
				if assert.NoError(t, err) {
					forms[i], err = f.svc.PDF(ctx, d)
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		for i, pdf := range forms {
			require.NotEmpty(t, pdf)
			assert.True(t, bytes.Equal(forms[0], pdf), "download %d differs", i)
		}
		again, err := b.svc.PDF(ctx, doc)
		require.NoError(t, err)
		assert.Equal(t, forms[0], again)
		assert.Equal(t, []string{"1"}, db.Dump(t, `SELECT count(*) FROM declaration_pdfs WHERE id = $1`, doc.ID))

		revoked, err := a.revoke(t, maria, doc.ID, "")
		require.NoError(t, err)
		marked, err := b.svc.PDF(ctx, revoked)
		require.NoError(t, err)
		assert.NotEqual(t, forms[0], marked, "a revoked document's PDF says so")
		markedAgain, err := a.svc.PDF(ctx, revoked)
		require.NoError(t, err)
		assert.Equal(t, marked, markedAgain)
		assert.Equal(t, []string{"1"}, db.Dump(t, `SELECT count(DISTINCT qr) FROM declaration_pdfs WHERE id = $1`, doc.ID),
			"one signed QR code for both forms")
	})
}

// TestPDFETag: the PDF is served with a strong ETag, the same on every
// download; a client holding it gets 304 for If-None-Match; a revocation
// changes it.
func TestPDFETag(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	doc := f.issue(t, maria, solemn())
	people := map[string]declaration.Person{"maria": maria, "nikos": nikos}
	who := func(r *http.Request) (declaration.Person, error) {
		p, ok := people[r.Header.Get("X-Test-User")]
		if !ok {
			return declaration.Person{}, errors.New("not signed in")
		}
		return p, nil
	}
	api, err := declaration.APIHandler(declaration.APIConfig{Service: f.svc, Declarant: who})
	require.NoError(t, err)
	pages, err := declaration.PagesHandler(declaration.PagesConfig{Service: f.svc, Declarant: who})
	require.NoError(t, err)
	get := func(h http.Handler, path, etag string) (int, http.Header, []byte) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("X-Test-User", "maria")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, rec.Header(), b
	}
	status, hdr, first := get(api, "/documents/"+doc.ID+"/pdf", "")
	require.Equal(t, http.StatusOK, status)
	etag := hdr.Get("ETag")
	assert.Regexp(t, `^"[A-Za-z0-9_-]{43}"$`, etag, "a strong ETag")
	assert.Equal(t, "application/pdf", hdr.Get("Content-Type"))
	status, hdr, second := get(pages, "/d/"+doc.ID+"/pdf", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, etag, hdr.Get("ETag"), "the page serves the same bytes")
	assert.Equal(t, first, second)
	status, _, body := get(api, "/documents/"+doc.ID+"/pdf", etag)
	assert.Equal(t, http.StatusNotModified, status)
	assert.Empty(t, body)
	status, _, _ = get(pages, "/d/"+doc.ID+"/pdf", `"something else"`)
	assert.Equal(t, http.StatusOK, status)

	_, err = f.revoke(t, maria, doc.ID, "")
	require.NoError(t, err)
	status, hdr, _ = get(api, "/documents/"+doc.ID+"/pdf", etag)
	assert.Equal(t, http.StatusOK, status, "revoked: a new form")
	assert.NotEqual(t, etag, hdr.Get("ETag"))
}
