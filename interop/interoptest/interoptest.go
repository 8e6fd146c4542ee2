// Package interoptest holds the conformance suite every [interop.Store]
// passes: the SQL store on SQLite and PostgreSQL and the memory store run
// it, and so can any other implementation.
//
//	func TestMyStore(t *testing.T) {
//		interoptest.RunStoreTests(t, func(t *testing.T) interop.Store {
//			return newMyStore(t)
//		})
//	}
package interoptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop"
)

// Service returns a valid registration of a service named name under the
// subsystem GR/GOV/EL-AADE/REGISTRY.
func Service(name string) interop.Service {
	return interop.Service{
		ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: name},
		Title:    interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"},
		Upstream: "https://registry.aade.example/api",
		Items: []interop.DataItem{
			{Code: "residence_address", Type: interop.ItemText, Label: interop.Text{El: "Διεύθυνση", En: "Address"}},
			{Code: "since", Type: interop.ItemDate, Label: interop.Text{El: "Από", En: "Since"}},
		},
		ConsentRequired: true,
		Limits:          interop.Limits{MaxRequestBytes: 1 << 16, MaxResponseBytes: 1 << 20, Timeout: 5 * time.Second, RatePerSecond: 20, Burst: 40},
	}
}

// Consumer returns the client GR/GOV/{member}/APP.
func Consumer(member string) interop.ClientID {
	return interop.ClientID{Instance: "GR", Class: "GOV", Member: member, Subsystem: "APP"}
}

// RunStoreTests runs the conformance suite. newStore returns a fresh,
// empty store for each subtest.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) interop.Store) {
	t.Run("Services", func(t *testing.T) { testServices(t, newStore(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("Rights", func(t *testing.T) { testRights(t, newStore(t)) })
	t.Run("Generation", func(t *testing.T) { testGeneration(t, newStore(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, newStore(t)) })
	t.Run("ConcurrentGrants", func(t *testing.T) { testConcurrentGrants(t, newStore(t)) })
}

func testServices(t *testing.T, st interop.Store) {
	ctx := t.Context()
	s := Service("address")
	s.OpenAPI = json.RawMessage(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`)
	s.UpdatedBy = "op-1"
	created, err := st.CreateService(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, int64(1), created.Revision)
	assert.Equal(t, interop.ClientID{Instance: "GR", Class: "GOV", Member: "EL-AADE"}, created.Owner, "owner filled from the identifier")
	assert.False(t, created.CreatedAt.IsZero())

	_, err = st.CreateService(ctx, s)
	assert.ErrorIs(t, err, interop.ErrExists)
	assert.ErrorIs(t, err, errkind.Conflict)

	got, err := st.Service(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, created.ID, got.ID)
	assert.Equal(t, s.Title, got.Title)
	assert.Equal(t, s.Items, got.Items)
	assert.Equal(t, s.Limits, got.Limits)
	assert.True(t, got.ConsentRequired)
	assert.Equal(t, "op-1", got.UpdatedBy)
	assert.JSONEq(t, string(s.OpenAPI), string(got.OpenAPI))
	assert.True(t, created.CreatedAt.Equal(got.CreatedAt), "%v %v", created.CreatedAt, got.CreatedAt)

	_, err = st.Service(ctx, Service("nothing").ID)
	assert.ErrorIs(t, err, interop.ErrNotFound)
	assert.ErrorIs(t, err, errkind.NotFound)

	// An update names the revision it started from.
	got.ConsentRequired, got.LegalBasis = false, "ν. 4727/2020, άρθρο 84"
	got.Disabled = true
	updated, err := st.UpdateService(ctx, got)
	require.NoError(t, err)
	assert.Equal(t, int64(2), updated.Revision)
	assert.True(t, updated.CreatedAt.Equal(created.CreatedAt))
	_, err = st.UpdateService(ctx, got) // still revision 1
	assert.ErrorIs(t, err, interop.ErrStale)
	assert.ErrorIs(t, err, errkind.Conflict)
	missing := Service("missing")
	missing.Revision = 1
	_, err = st.UpdateService(ctx, missing)
	assert.ErrorIs(t, err, interop.ErrNotFound)

	_, err = st.CreateService(ctx, Service("another"))
	require.NoError(t, err)
	list, err := st.Services(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "address", list[0].ID.Service, "ordered by identifier")
	assert.Empty(t, list[0].OpenAPI, "lists leave the OpenAPI document out")
	assert.True(t, list[0].Disabled)
	assert.Equal(t, "ν. 4727/2020, άρθρο 84", list[0].LegalBasis)
}

func testInvalid(t *testing.T, st interop.Store) {
	ctx := t.Context()
	g0, err := st.Generation(ctx)
	require.NoError(t, err)
	for name, change := range map[string]func(*interop.Service){
		"ftp upstream":       func(s *interop.Service) { s.Upstream = "ftp://files.example/x" },
		"no upstream host":   func(s *interop.Service) { s.Upstream = "https:///x" },
		"user in upstream":   func(s *interop.Service) { s.Upstream = "https://u:p@host.example/" },
		"query in upstream":  func(s *interop.Service) { s.Upstream = "https://host.example/?a=1" },
		"javascript":         func(s *interop.Service) { s.Upstream = "javascript:alert(1)" },
		"bad identifier":     func(s *interop.Service) { s.ID.Member = "EL AADE" },
		"versioned":          func(s *interop.Service) { s.ID.Version = "v1" },
		"other owner":        func(s *interop.Service) { s.Owner = interop.ClientID{Instance: "GR", Class: "GOV", Member: "OTHER"} },
		"no title":           func(s *interop.Service) { s.Title.El = "" },
		"no basis":           func(s *interop.Service) { s.ConsentRequired = false },
		"bad item code":      func(s *interop.Service) { s.Items[0].Code = "Residence Address" },
		"duplicate item":     func(s *interop.Service) { s.Items[1].Code = s.Items[0].Code },
		"bad item type":      func(s *interop.Service) { s.Items[0].Type = "blob" },
		"negative limit":     func(s *interop.Service) { s.Limits.Timeout = -time.Second },
		"openapi not json":   func(s *interop.Service) { s.OpenAPI = json.RawMessage(`openapi: 3.0.0`) },
		"openapi version 2":  func(s *interop.Service) { s.OpenAPI = json.RawMessage(`{"swagger":"2.0"}`) },
		"invalid utf-8 text": func(s *interop.Service) { s.Title.En = "\xff" },
	} {
		s := Service("svc")
		change(&s)
		_, err := st.CreateService(ctx, s)
		assert.ErrorIs(t, err, interop.ErrInvalid, name)
		assert.ErrorIs(t, err, errkind.Invalid, name)
	}
	_, err = st.CreateService(ctx, Service("svc"))
	require.NoError(t, err)
	for name, change := range map[string]func(*interop.Right){
		"lower-case method": func(r *interop.Right) { r.Method = "get" },
		"no path":           func(r *interop.Right) { r.Path = "" },
		"relative path":     func(r *interop.Right) { r.Path = "persons/*" },
		"inner **":          func(r *interop.Right) { r.Path = "/**/address" },
		"partial *":         func(r *interop.Right) { r.Path = "/persons/a*" },
		"dot segment":       func(r *interop.Right) { r.Path = "/a/../b" },
		"query":             func(r *interop.Right) { r.Path = "/a?b=1" },
		"empty window":      func(r *interop.Right) { r.NotAfter = r.NotBefore },
		"bad consumer":      func(r *interop.Right) { r.Consumer.Member = "" },
	} {
		r := interop.Right{Consumer: Consumer("DYPA"), Service: Service("svc").ID, Method: "GET", Path: "/persons/*",
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		change(&r)
		_, err := st.GrantRight(ctx, r)
		assert.ErrorIs(t, err, interop.ErrInvalid, name)
	}
	g1, err := st.Generation(ctx)
	require.NoError(t, err)
	assert.Equal(t, g0+1, g1, "refused changes move nothing")
	rights, err := st.Rights(ctx, interop.RightFilter{})
	require.NoError(t, err)
	assert.Empty(t, rights)
}

func testRights(t *testing.T, st interop.Store) {
	ctx := t.Context()
	a, b := Service("a"), Service("b")
	for _, s := range []interop.Service{a, b} {
		_, err := st.CreateService(ctx, s)
		require.NoError(t, err)
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	r1, err := st.GrantRight(ctx, interop.Right{Consumer: Consumer("DYPA"), Service: a.ID, Method: "GET",
		Path: "/persons/*/address", NotBefore: from, NotAfter: from.Add(24 * time.Hour), GrantedBy: "op-1"})
	require.NoError(t, err)
	assert.NotEmpty(t, r1.ID)
	assert.False(t, r1.GrantedAt.IsZero())
	_, err = st.GrantRight(ctx, interop.Right{Consumer: Consumer("DYPA"), Service: a.ID, Method: "GET", Path: "/persons/*/address"})
	assert.ErrorIs(t, err, interop.ErrExists, "the same right twice")
	r2, err := st.GrantRight(ctx, interop.Right{Consumer: Consumer("EFKA"), Service: a.ID, Method: interop.AnyMethod, Path: "/**"})
	require.NoError(t, err)
	r3, err := st.GrantRight(ctx, interop.Right{Consumer: Consumer("DYPA"), Service: b.ID, Method: "POST", Path: "/"})
	require.NoError(t, err)
	_, err = st.GrantRight(ctx, interop.Right{Consumer: Consumer("DYPA"), Service: Service("none").ID, Method: "GET", Path: "/"})
	assert.ErrorIs(t, err, interop.ErrNotFound, "a right to a service that does not exist")

	all, err := st.Rights(ctx, interop.RightFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, []string{r1.ID, r2.ID, r3.ID}, ids(all), "ordered by service, consumer, method, path")
	got := all[0]
	assert.Equal(t, "op-1", got.GrantedBy)
	assert.True(t, got.NotBefore.Equal(from), "%v", got.NotBefore)
	assert.True(t, got.NotAfter.Equal(from.Add(24*time.Hour)))

	byService, err := st.Rights(ctx, interop.RightFilter{Service: a.ID})
	require.NoError(t, err)
	assert.Equal(t, []string{r1.ID, r2.ID}, ids(byService))
	byConsumer, err := st.Rights(ctx, interop.RightFilter{Consumer: Consumer("DYPA")})
	require.NoError(t, err)
	assert.Equal(t, []string{r1.ID, r3.ID}, ids(byConsumer))
	both, err := st.Rights(ctx, interop.RightFilter{Consumer: Consumer("DYPA"), Service: b.ID})
	require.NoError(t, err)
	assert.Equal(t, []string{r3.ID}, ids(both))

	require.NoError(t, st.RevokeRight(ctx, r1.ID))
	assert.ErrorIs(t, st.RevokeRight(ctx, r1.ID), interop.ErrNotFound)
	assert.ErrorIs(t, st.RevokeRight(ctx, "r-'; DROP TABLE x"), interop.ErrNotFound)
	all, err = st.Rights(ctx, interop.RightFilter{})
	require.NoError(t, err)
	assert.Equal(t, []string{r2.ID, r3.ID}, ids(all))

	snap, err := st.Snapshot(ctx)
	require.NoError(t, err)
	assert.Len(t, snap.Services, 2)
	assert.Equal(t, []string{r2.ID, r3.ID}, ids(snap.Rights))
	g, err := st.Generation(ctx)
	require.NoError(t, err)
	assert.Equal(t, g, snap.Generation)
}

func ids(rs []interop.Right) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// testGeneration: every change moves the generation, reads do not.
func testGeneration(t *testing.T, st interop.Store) {
	ctx := t.Context()
	gen := func() int64 {
		g, err := st.Generation(ctx)
		require.NoError(t, err)
		return g
	}
	g := gen()
	s, err := st.CreateService(ctx, Service("g"))
	require.NoError(t, err)
	assert.Greater(t, gen(), g, "create")
	g = gen()
	_, err = st.Services(ctx)
	require.NoError(t, err)
	_, err = st.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, g, gen(), "reads")
	s.Disabled = true
	_, err = st.UpdateService(ctx, s)
	require.NoError(t, err)
	assert.Greater(t, gen(), g, "update")
	g = gen()
	r, err := st.GrantRight(ctx, interop.Right{Consumer: Consumer("X"), Service: s.ID, Method: "GET", Path: "/**"})
	require.NoError(t, err)
	assert.Greater(t, gen(), g, "grant")
	g = gen()
	require.NoError(t, st.RevokeRight(ctx, r.ID))
	assert.Greater(t, gen(), g, "revoke")
}

// testConcurrentUpdates: of several updates from the same revision,
// exactly one wins and the others are stale.
func testConcurrentUpdates(t *testing.T, st interop.Store) {
	ctx := t.Context()
	s, err := st.CreateService(ctx, Service("race"))
	require.NoError(t, err)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s
			c.Title.En = fmt.Sprintf("writer %d", i)
			_, errs[i] = st.UpdateService(ctx, c)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, interop.ErrStale)
		}
	}
	assert.Equal(t, 1, won)
	got, err := st.Service(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Revision)
}

// testConcurrentGrants: grants from many goroutines each move the
// generation once, and the same right granted twice at once is recorded
// once.
func testConcurrentGrants(t *testing.T, st interop.Store) {
	ctx := context.Background()
	s, err := st.CreateService(ctx, Service("many"))
	require.NoError(t, err)
	g0, err := st.Generation(ctx)
	require.NoError(t, err)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two goroutines per consumer grant the same right.
			_, errs[i] = st.GrantRight(ctx, interop.Right{Consumer: Consumer(fmt.Sprintf("M%d", i/2)), Service: s.ID, Method: "GET", Path: "/**"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, interop.ErrExists) {
			t.Errorf("grant: %v", err)
		}
	}
	assert.Equal(t, n, ok)
	rights, err := st.Rights(ctx, interop.RightFilter{Service: s.ID})
	require.NoError(t, err)
	assert.Len(t, rights, n)
	g1, err := st.Generation(ctx)
	require.NoError(t, err)
	assert.Equal(t, g0+n, g1, "one move per recorded grant")
}
