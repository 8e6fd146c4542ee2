package interop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
	"github.com/egovkit/egovkit/problem"
)

func newAuthorizer(t *testing.T, cfg interop.Config) *interop.Authorizer {
	t.Helper()
	a, err := interop.New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestPathPatterns(t *testing.T) {
	ctx := t.Context()
	st, err := interop.NewMemoryStore()
	require.NoError(t, err)
	svc := interoptest.Service("p")
	_, err = st.CreateService(ctx, svc)
	require.NoError(t, err)
	patterns := map[string]string{} // consumer member → pattern
	for member, p := range map[string]string{
		"ONE": "/persons/*/address", "REST": "/persons/**", "ALL": "/**", "ROOT": "/",
		"EXACT": "/persons", "SLASH": "/persons/", "STAR": "/*",
	} {
		patterns[member] = p
		_, err := st.GrantRight(ctx, interop.Right{Consumer: interoptest.Consumer(member), Service: svc.ID, Method: "GET", Path: p})
		require.NoError(t, err)
	}
	a := newAuthorizer(t, interop.Config{Store: st, PollInterval: -1})
	for _, c := range []struct {
		member, path string
		allowed      bool
	}{
		{"ONE", "/persons/123/address", true},
		{"ONE", "/persons//address", false},
		{"ONE", "/persons/123/address/x", false},
		{"ONE", "/persons/123", false},
		{"ONE", "/persons/a%2Fb/address", true}, // one segment
		{"ONE", "/persons/a/b/address", false},
		{"ONE", "/Persons/123/address", false},
		{"REST", "/persons", true},
		{"REST", "/persons/", true},
		{"REST", "/persons/1/2/3", true},
		{"REST", "/personsX", false},
		{"REST", "/", false},
		{"ALL", "/", true},
		{"ALL", "/anything/at/all", true},
		{"ROOT", "/", true},
		{"ROOT", "/x", false},
		{"EXACT", "/persons", true},
		{"EXACT", "/persons/", false},
		{"SLASH", "/persons/", true},
		{"SLASH", "/persons", false},
		{"STAR", "/x", true},
		{"STAR", "/", false},
		{"STAR", "/x/", false},
		{"NOBODY", "/", false},
	} {
		_, err := a.Authorize(ctx, interoptest.Consumer(c.member), svc.ID, "GET", c.path)
		if c.allowed {
			assert.NoError(t, err, "%s %s on %s", c.member, patterns[c.member], c.path)
		} else {
			assert.ErrorIs(t, err, interop.ErrForbidden, "%s %s on %s", c.member, patterns[c.member], c.path)
		}
	}
}

func TestAuthorize(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	st, err := interop.NewMemoryStore()
	require.NoError(t, err)
	svc, err := st.CreateService(ctx, interoptest.Service("addr"))
	require.NoError(t, err)
	off := interoptest.Service("off")
	off.Disabled = true
	_, err = st.CreateService(ctx, off)
	require.NoError(t, err)
	dypa := interoptest.Consumer("DYPA")
	r, err := st.GrantRight(ctx, interop.Right{Consumer: dypa, Service: svc.ID, Method: "GET", Path: "/persons/*/address",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	require.NoError(t, err)
	_, err = st.GrantRight(ctx, interop.Right{Consumer: dypa, Service: off.ID, Method: interop.AnyMethod, Path: "/**"})
	require.NoError(t, err)

	a := newAuthorizer(t, interop.Config{Store: st, PollInterval: -1, Now: func() time.Time { return *clock.Load() }})
	d, err := a.Authorize(ctx, dypa, svc.ID, "GET", "/persons/1/address")
	require.NoError(t, err)
	assert.Equal(t, svc.ID, d.Service)
	assert.Equal(t, r.ID, d.Right)
	assert.Equal(t, "https://registry.aade.example/api", d.Upstream.String())
	assert.Equal(t, []string{"residence_address", "since"}, d.Items)
	assert.True(t, d.ConsentRequired)
	assert.Equal(t, svc.Limits, d.Limits)
	assert.Equal(t, interop.ClientID{Instance: "GR", Class: "GOV", Member: "EL-AADE"}, d.Owner)

	var ref *interop.Refusal
	_, err = a.Authorize(ctx, dypa, svc.ID, "POST", "/persons/1/address")
	require.ErrorAs(t, err, &ref, "another method")
	assert.ErrorIs(t, err, interop.ErrForbidden)
	assert.ErrorIs(t, err, errkind.Forbidden)
	assert.Equal(t, 403, ref.Problem().Status)
	assert.Equal(t, "Server.ServerProxy.AccessDenied", ref.XRoadError())
	assert.Equal(t, interop.OutcomeForbidden, interop.Outcome(err))

	_, err = a.Authorize(ctx, interoptest.Consumer("OTHER"), svc.ID, "GET", "/persons/1/address")
	assert.ErrorIs(t, err, interop.ErrForbidden, "deny by default")
	_, err = a.Authorize(ctx, interop.ClientID{Instance: "GR", Class: "GOV", Member: "DYPA"}, svc.ID, "GET", "/persons/1/address")
	assert.ErrorIs(t, err, interop.ErrForbidden, "a right of a subsystem is not its member's")

	_, err = a.Authorize(ctx, dypa, interoptest.Service("nothing").ID, "GET", "/")
	require.ErrorAs(t, err, &ref)
	assert.ErrorIs(t, err, errkind.NotFound)
	assert.Equal(t, 404, ref.Problem().Status)
	assert.Equal(t, interop.OutcomeNotFound, interop.Outcome(err))

	_, err = a.Authorize(ctx, dypa, off.ID, "GET", "/")
	assert.ErrorIs(t, err, interop.ErrServiceDisabled)
	assert.ErrorIs(t, err, errkind.Unavailable)
	assert.Equal(t, interop.OutcomeDisabled, interop.Outcome(err))
	require.ErrorAs(t, err, &ref)
	p := ref.Problem()
	assert.Equal(t, 503, p.Status)
	assert.Equal(t, 300, p.Extensions["retry_after"], "sent as Retry-After")
	assert.Equal(t, "Server.ServerProxy.ServiceDisabled", p.Extensions["xroad_error"])

	// The validity window: open at its start, closed at its end.
	later := now.Add(time.Hour)
	clock.Store(&later)
	_, err = a.Authorize(ctx, dypa, svc.ID, "GET", "/persons/1/address")
	assert.ErrorIs(t, err, interop.ErrForbidden, "expired")
	earlier := now.Add(-time.Hour)
	clock.Store(&earlier)
	_, err = a.Authorize(ctx, dypa, svc.ID, "GET", "/persons/1/address")
	assert.NoError(t, err, "from its first instant")

	// A change is seen at the next Maintain, not before.
	clock.Store(&now)
	require.NoError(t, st.RevokeRight(ctx, r.ID))
	_, err = a.Authorize(ctx, dypa, svc.ID, "GET", "/persons/1/address")
	assert.NoError(t, err)
	g := a.Generation()
	require.NoError(t, a.Maintain(ctx))
	assert.Greater(t, a.Generation(), g)
	_, err = a.Authorize(ctx, dypa, svc.ID, "GET", "/persons/1/address")
	assert.ErrorIs(t, err, interop.ErrForbidden, "revoked")
}

// failingStore answers Generation with an error when down is set.
type failingStore struct {
	interop.Store
	down atomic.Bool
}

var errDown = errors.New("database down")

func (f *failingStore) Generation(ctx context.Context) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Store.Generation(ctx)
}

// TestMaxStale: while the registry cannot be read, decisions come from the
// last snapshot for MaxStale, then are suspended until a poll works.
func TestMaxStale(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	mem, err := interop.NewMemoryStore()
	require.NoError(t, err)
	st := &failingStore{Store: mem}
	svc, err := st.CreateService(ctx, interoptest.Service("s"))
	require.NoError(t, err)
	_, err = st.GrantRight(ctx, interop.Right{Consumer: interoptest.Consumer("C"), Service: svc.ID, Method: "GET", Path: "/**"})
	require.NoError(t, err)
	a := newAuthorizer(t, interop.Config{Store: st, PollInterval: -1, MaxStale: time.Minute, Now: func() time.Time { return *clock.Load() }})
	call := func() error {
		_, err := a.Authorize(ctx, interoptest.Consumer("C"), svc.ID, "GET", "/")
		return err
	}
	st.down.Store(true)
	assert.ErrorIs(t, a.Maintain(ctx), errDown)
	assert.NoError(t, call(), "within MaxStale")
	later := now.Add(61 * time.Second)
	clock.Store(&later)
	assert.ErrorIs(t, a.Maintain(ctx), errDown)
	assert.ErrorIs(t, call(), interop.ErrRegistryStale)
	assert.ErrorIs(t, call(), errkind.Unavailable)
	var pe interface{ Problem() *problem.Problem }
	require.ErrorAs(t, call(), &pe)
	assert.Equal(t, 503, pe.Problem().Status)
	st.down.Store(false)
	require.NoError(t, a.Maintain(ctx))
	assert.NoError(t, call(), "back")
}

// TestChangesReachEveryInstance: two gateways on one database, each with
// its own pool and Authorizer polling every 20 ms. A right granted through
// one is allowed by the other, and a right revoked through one is refused
// by the other, each within a bounded wait.
func TestChangesReachEveryInstance(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		one := sqlStore(t, db.DB.DB)
		two := sqlStore(t, db.OpenAnother(t))
		const interval = 20 * time.Millisecond
		a1 := newAuthorizer(t, interop.Config{Store: one, PollInterval: interval})
		a2 := newAuthorizer(t, interop.Config{Store: two, PollInterval: interval})

		svc, err := one.CreateService(ctx, interoptest.Service("addr"))
		require.NoError(t, err)
		c := interoptest.Consumer("DYPA")
		r, err := one.GrantRight(ctx, interop.Right{Consumer: c, Service: svc.ID, Method: "GET", Path: "/**"})
		require.NoError(t, err)
		within := func(a *interop.Authorizer, want error) time.Duration {
			t.Helper()
			start := time.Now()
			deadline := start.Add(5 * time.Second)
			for {
				_, err := a.Authorize(ctx, c, svc.ID, "GET", "/x")
				if want == nil && err == nil || want != nil && errors.Is(err, want) {
					return time.Since(start)
				}
				require.True(t, time.Now().Before(deadline), "not seen within 5 s: %v", err)
				time.Sleep(interval / 4)
			}
		}
		within(a2, nil)
		within(a1, nil)

		// Revoked through the second instance, refused by the first.
		require.NoError(t, two.RevokeRight(ctx, r.ID))
		took := within(a1, interop.ErrForbidden)
		t.Logf("revocation seen by the other instance after %v", took)

		// Disabled through the first, refused by the second.
		_, err = one.GrantRight(ctx, interop.Right{Consumer: c, Service: svc.ID, Method: "GET", Path: "/**"})
		require.NoError(t, err)
		within(a2, nil)
		svc.Disabled = true
		_, err = one.UpdateService(ctx, svc)
		require.NoError(t, err)
		within(a2, interop.ErrServiceDisabled)
		// The first instance polls on its own schedule; once it has seen the
		// change too, both hold the same generation.
		within(a1, interop.ErrServiceDisabled)
		require.Eventually(t, func() bool { return a1.Generation() == a2.Generation() },
			5*time.Second, interval/4, "generations %d and %d", a1.Generation(), a2.Generation())
	})
}

func TestAuthorizerNeedsStore(t *testing.T) {
	_, err := interop.New(t.Context(), interop.Config{})
	assert.Error(t, err)
}
