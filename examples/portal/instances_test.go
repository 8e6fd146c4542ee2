package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sms"
)

// TestInstancesKeepEachOthersRedirects starts portals reached at different
// public URLs on one database, one after the other and then several at
// once: each registers its own clients' redirect URIs at start, and none
// takes away another's, so sign-ins keep working through every one.
func TestInstancesKeepEachOthersRedirects(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		key, err := kek.Generate()
		require.NoError(t, err)
		// Each instance listens on its own address, which is its public URL.
		start := func() (string, *app, error) {
			srv := httptest.NewUnstartedServer(nil)
			base := "http://" + srv.Listener.Addr().String()
			a, err := newApp(t.Context(), appConfig{DB: db.OpenAnother(t), KEK: key, BaseURL: base, SMS: &sms.Outbox{}})
			if err != nil {
				srv.Listener.Close()
				return "", nil, err
			}
			srv.Config.Handler = a
			srv.Start()
			t.Cleanup(func() { srv.Close(); a.Close() })
			return base, a, nil
		}
		var bases []string
		var apps []*app
		for range 2 {
			base, a, err := start()
			require.NoError(t, err)
			bases, apps = append(bases, base), append(apps, a)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				base, a, err := start()
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				bases, apps = append(bases, base), append(apps, a)
			}()
		}
		wg.Wait()
		require.Len(t, apps, 4)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

		for i, a := range apps {
			for _, site := range []struct{ realm, client, path string }{
				{"citizen", declarationsClientID, "/declarations"},
				{"servant", editorsClientID, "/procedures"},
			} {
				clients := a.citizenClients
				if site.realm == "servant" {
					clients = a.servantClients
				}
				c, err := clients.Get(t.Context(), site.client)
				require.NoError(t, err)
				for _, base := range bases {
					assert.Contains(t, c.RedirectURIs, base+site.path+"/signin/callback", "instance %s", bases[i])
					assert.Contains(t, c.PostLogoutRedirectURIs, base+site.path+"/", "instance %s", bases[i])
				}
				// The site's sign-in, through this instance, is sent on to
				// the provider's sign-in page: its redirect URI is accepted.
				resp, err := noFollow.Get(bases[i] + site.path + "/signin")
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusSeeOther, resp.StatusCode)
				loc, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				assert.Equal(t, bases[i]+site.path+"/signin/callback", loc.Query().Get("redirect_uri"))
				resp, err = noFollow.Get(loc.String())
				require.NoError(t, err)
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusSeeOther, resp.StatusCode, "instance %s, %s: %s", bases[i], site.client, b)
				login, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				assert.Equal(t, "/auth/"+site.realm+"/login", login.Path, "instance %s, %s", bases[i], site.client)
			}
		}
	})
}
