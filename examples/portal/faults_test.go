package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sqldb"
)

// The grace period bounds the whole stop even when the database hangs:
// a sign-in left counts to flush, a request is waiting for the database,
// and the database stops answering (PostgreSQL behind a proxy that stops
// forwarding, SQLite with its write lock held elsewhere). The portal must
// return within the grace period and a small margin, saying that it left
// work unfinished.
func TestShutdownWithinGraceWhenDatabaseHangs(t *testing.T) {
	const grace = time.Second
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := sqltest.Faulty(t, db, 200*time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		addrc := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-db", f.URL,
				"-shutdown-grace", grace.String(), "-demo"}, func(string) string { return "" }, io.Discard, func(a string) { addrc <- a })
		}()
		var base string
		select {
		case a := <-addrc:
			base = "http://" + a
		case err := <-done:
			t.Fatalf("portal did not start: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("portal did not start in time")
		}
		servantToken(t, base, demoServant, demoServantPassword) // a sign-in, counted, to flush at the end

		f.Freeze()
		waiting := make(chan struct{})
		go func() {
			defer close(waiting)
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(100 * time.Millisecond) // let the request reach the database
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			took := time.Since(start)
			assert.Less(t, took, grace+1500*time.Millisecond, "stopped within the grace period")
			if err != nil {
				assert.Contains(t, err.Error(), "grace period")
			}
		case <-time.After(grace + 60*time.Second):
			t.Fatal("the portal did not stop")
		}
		f.Thaw()
		<-waiting
	})
}

// /readyz reports a database that answers but cannot write: a SQLite file
// opened read-only, a PostgreSQL session with default_transaction_read_only.
// The portal is built on a writable pool (its packages migrate at start);
// its readiness probe is then pointed at a read-only pool on the same
// database, as when a database turns read-only under a running instance.
func TestReadyzReportsADatabaseThatCannotWrite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		key, err := kek.Generate()
		require.NoError(t, err)
		a, err := newApp(ctx, appConfig{DB: db.DB.DB, KEK: key, BaseURL: "http://127.0.0.1:8080", Demo: false})
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		ready := func() (int, http.Header, string) {
			w := httptest.NewRecorder()
			a.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			return w.Code, w.Header(), w.Body.String()
		}
		status, _, body := ready()
		require.Equal(t, http.StatusOK, status, body)

		ro := db.OpenReadOnly(t)
		require.NoError(t, ro.PingContext(ctx), "the database still answers")
		a.ready, err = sqldb.NewProbe(ctx, ro)
		require.NoError(t, err)

		status, h, body := ready()
		assert.Equal(t, http.StatusServiceUnavailable, status, body)
		assert.Equal(t, "application/problem+json", h.Get("Content-Type"))
		assert.NotEmpty(t, h.Get("Retry-After"))
		var p map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		assert.Contains(t, p["detail"], "cannot write")
	})
}
