package exchangelog_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

func get(t *testing.T, srv *httptest.Server, path string, v any) *http.Response {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if v != nil {
		require.NoError(t, json.Unmarshal(body, v), string(body))
	}
	return resp
}

// TestHandler reads the log over HTTP as an auditor would, and checks
// what it reads with the offline verifier only.
func TestHandler(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		l := newLog(t, db.DB.DB, clock)
		for i := range 11 {
			_, err := l.Append(ctx, entry("h", i))
			require.NoError(t, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/log/", http.StripPrefix("/log", l.Handler()))
		srv := httptest.NewServer(mux)
		defer srv.Close()

		resp, err := srv.Client().Get(srv.URL + "/log/key")
		require.NoError(t, err)
		key, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		vkey := strings.TrimSpace(string(key))
		assert.Equal(t, l.VerifierKey(), vkey)

		var c1 exchangelog.CheckpointResponse
		require.Equal(t, http.StatusOK, get(t, srv, "/log/checkpoint", &c1).StatusCode)
		cp1, err := verify.OpenCheckpoint([]byte(c1.Checkpoint), vkey)
		require.NoError(t, err)
		assert.Equal(t, int64(11), cp1.Size)
		assert.Equal(t, c1.Root, cp1.Root)

		// Entry by index, then its inclusion proof without a size: the
		// answer carries the checkpoint it is for.
		var rec exchangelog.Record
		require.Equal(t, http.StatusOK, get(t, srv, "/log/entries/4", &rec).StatusCode)
		var inc exchangelog.InclusionResponse
		require.Equal(t, http.StatusOK, get(t, srv, "/log/proof/inclusion?index=4", &inc).StatusCode)
		cp, err := verify.OpenCheckpoint([]byte(inc.Checkpoint), vkey)
		require.NoError(t, err)
		e, err := cp.Entry(inc.Index, rec.Leaf, inc.Proof)
		require.NoError(t, err)
		assert.Equal(t, "h-000004", e.ExchangeID)

		// By exchange id and by leaf hash, for a size named.
		var byID exchangelog.Record
		require.Equal(t, http.StatusOK, get(t, srv, "/log/entries?exchange_id=h-000009", &byID).StatusCode)
		assert.Equal(t, int64(9), byID.Index)
		var byHash exchangelog.InclusionResponse
		require.Equal(t, http.StatusOK, get(t, srv, "/log/proof/inclusion?size=11&leaf_hash="+
			strings.ReplaceAll(byID.LeafHash.String(), "+", "%2B"), &byHash).StatusCode)
		assert.Equal(t, int64(9), byHash.Index)
		require.NoError(t, verify.Inclusion(cp1.Size, cp1.Root, 9, verify.LeafHash(byID.Leaf), byHash.Proof))

		// Grow, then a consistency proof between the two checkpoints.
		for i := range 6 {
			_, err := l.Append(ctx, entry("h2", i))
			require.NoError(t, err)
		}
		clock.Advance(time.Minute)
		var c2 exchangelog.CheckpointResponse
		get(t, srv, "/log/checkpoint", &c2)
		cp2, err := verify.OpenCheckpoint([]byte(c2.Checkpoint), vkey)
		require.NoError(t, err)
		var cons exchangelog.ConsistencyResponse
		require.Equal(t, http.StatusOK, get(t, srv, "/log/proof/consistency?first=11&second=17", &cons).StatusCode)
		require.NoError(t, cp2.Extends(cp1, cons.Proof))

		// Refusals: problem+json, never a 500.
		for path, want := range map[string]int{
			"/log/entries/17":                                 http.StatusNotFound,
			"/log/entries/-1":                                 http.StatusBadRequest,
			"/log/entries/007":                                http.StatusBadRequest,
			"/log/entries/x":                                  http.StatusBadRequest,
			"/log/entries":                                    http.StatusBadRequest,
			"/log/entries?exchange_id=nobody":                 http.StatusNotFound,
			"/log/proof/inclusion?index=17&size=17":           http.StatusBadRequest,
			"/log/proof/inclusion?index=1&size=18":            http.StatusBadRequest,
			"/log/proof/inclusion?index=1&leaf_hash=AAAA":     http.StatusBadRequest,
			"/log/proof/inclusion?size=3":                     http.StatusBadRequest,
			"/log/proof/inclusion?leaf_hash=%%%":              http.StatusBadRequest,
			"/log/proof/inclusion?index=99999999999999999999": http.StatusBadRequest,
			"/log/proof/consistency?first=0&second=5":         http.StatusBadRequest,
			"/log/proof/consistency?first=6&second=5":         http.StatusBadRequest,
			"/log/proof/consistency?first=1&second=18":        http.StatusBadRequest,
			"/log/proof/consistency?first=1":                  http.StatusBadRequest,
			"/log/nothing":                                    http.StatusNotFound,
		} {
			var p map[string]any
			resp := get(t, srv, path, &p)
			assert.Equal(t, want, resp.StatusCode, path)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), path)
			assert.Equal(t, float64(want), p["status"], path)
		}
		var p map[string]any
		resp = get(t, srv, "/log/proof/consistency?first=5&second=40", &p)
		assert.Equal(t, exchangelog.TypeOutOfRange, p["type"])
		resp, err = srv.Client().Post(srv.URL+"/log/checkpoint", "text/plain", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	})
}

// TestDatabaseUnavailable: a database that stops answering fails appends
// within the deadline as unavailable, and the handler answers 503.
func TestDatabaseUnavailable(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := sqltest.Faulty(t, db, 200*time.Millisecond)
		key, err := exchangelog.NewSigningKey(ctx, f.DB, testKEK, origin)
		require.NoError(t, err)
		l, err := exchangelog.New(ctx, exchangelog.Config{DB: f.DB, Signer: key, DBTimeout: 500 * time.Millisecond})
		require.NoError(t, err)
		defer l.Close()
		_, err = l.Append(ctx, entry("u", 1))
		require.NoError(t, err)

		f.Freeze()
		start := time.Now()
		_, err = l.Append(ctx, entry("u", 2))
		assert.ErrorIs(t, err, errkind.Unavailable)
		assert.Less(t, time.Since(start), 5*time.Second)
		f.Thaw()
		_, err = l.Append(ctx, entry("u", 3))
		require.NoError(t, err, "the log works again once the database does")

		f.Down()
		srv := httptest.NewServer(l.Handler())
		defer srv.Close()
		var p map[string]any
		resp := get(t, srv, "/entries/0", &p)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		_, err = l.Append(ctx, entry("u", 4))
		assert.ErrorIs(t, err, errkind.Unavailable)
	})
}
