package interop_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
)

// TestDatabaseStopsAnswering: with the database frozen, changes fail as
// unavailable within the deadline (503 with Retry-After over the API),
// decisions go on from the snapshot, and everything works again once the
// database answers.
func TestDatabaseStopsAnswering(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		const deadline = 500 * time.Millisecond
		f := sqltest.Faulty(t, db, 200*time.Millisecond)
		st, err := interop.NewSQLStore(ctx, f.DB, interop.WithDBTimeout(deadline))
		require.NoError(t, err)
		svc, err := st.CreateService(ctx, interoptest.Service("s"))
		require.NoError(t, err)
		c := interoptest.Consumer("C")
		_, err = st.GrantRight(ctx, interop.Right{Consumer: c, Service: svc.ID, Method: "GET", Path: "/**"})
		require.NoError(t, err)
		authz := newAuthorizer(t, interop.Config{Store: st, PollInterval: -1})
		srv := apiServer(t, st)

		f.Freeze()
		start := time.Now()
		_, err = st.GrantRight(ctx, interop.Right{Consumer: interoptest.Consumer("D"), Service: svc.ID, Method: "GET", Path: "/**"})
		assert.ErrorIs(t, err, errkind.Unavailable)
		assert.Less(t, time.Since(start), 4*deadline, "within the deadline")

		a := call(t, srv, "op", "POST", "/rights", `{"consumer": "GR/GOV/E/APP", "service": "`+svc.ID.String()+`", "method": "GET", "path": "/"}`)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, a.raw)
		assert.True(t, strings.Contains(a.raw, "retry_after"), a.raw)

		// On PostgreSQL the poll fails too; the snapshot keeps deciding.
		_ = authz.Maintain(ctx)
		_, err = authz.Authorize(ctx, c, svc.ID, "GET", "/x")
		assert.NoError(t, err)

		f.Thaw()
		_, err = st.GrantRight(ctx, interop.Right{Consumer: interoptest.Consumer("D"), Service: svc.ID, Method: "GET", Path: "/**"})
		require.NoError(t, err)
		require.NoError(t, authz.Maintain(ctx))
		_, err = authz.Authorize(ctx, interoptest.Consumer("D"), svc.ID, "GET", "/x")
		assert.NoError(t, err)
	})
}
