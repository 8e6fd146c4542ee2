package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
)

// realms are the two identity realms the portal runs: citizens and civil
// servants, each with its own issuer, signing keys, clients and sessions.
var realms = []string{"citizen", "servant"}

// Demo client, created on first run in demo mode (and printed at start).
const (
	demoClientID     = "demo-agency"
	demoClientSecret = "demo-agency-secret"
)

// maintainEvery is how often expired sign-in state is purged and signing
// keys are checked for rotation.
const maintainEvery = 5 * time.Minute

// mountAuth mounts each realm's provider at /auth/<realm>/. Both realms
// share the accounts, and, when an SMS sender is configured, the one-time
// codes and the contact registry, so sign-ins can reach LoASubstantial.
func (a *app) mountAuth(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	var err error
	a.accounts, err = auth.NewAccounts(ctx, cfg.DB, auth.WithLogger(a.log))
	if err != nil {
		return err
	}
	if cfg.SMS != nil {
		secret, err := otpSecret(cfg.KEK)
		if err != nil {
			return err
		}
		if a.otps, err = auth.NewOneTimeCodes(ctx, cfg.DB, secret, cfg.SMS, auth.WithLogger(a.log)); err != nil {
			return err
		}
		if a.contacts, err = auth.NewContactRegistry(ctx, cfg.DB, a.otps, cfg.SMS, auth.WithLogger(a.log)); err != nil {
			return err
		}
		totpKey, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit authenticator apps v1", 32)
		if err != nil {
			return err
		}
		if a.totp, err = auth.NewTOTPStore(ctx, cfg.DB, totpKey, "egovkit", auth.WithLogger(a.log)); err != nil {
			return err
		}
	} else {
		a.log.Warn("no SMS gateway configured (EGOVKIT_SMS_WEBHOOK): sign-ins reach only LoA low")
	}
	outboxURL := ""
	if cfg.Demo && a.outbox != nil {
		outboxURL = "/dev/outbox"
	}
	for _, realm := range realms {
		clients, err := auth.NewClientRegistry(ctx, cfg.DB, realm, auth.WithLogger(a.log))
		if err != nil {
			return err
		}
		signing, err := auth.NewSigningKeys(ctx, cfg.DB, "auth/"+realm, cfg.KEK, auth.WithLogger(a.log))
		if err != nil {
			return err
		}
		if a.signingKeys == nil {
			a.signingKeys = map[string]auth.SigningKeys{}
		}
		a.signingKeys[realm] = signing
		codes, err := auth.NewCodeStore(ctx, cfg.DB, realm)
		if err != nil {
			return err
		}
		issuer := cfg.BaseURL + "/auth/" + realm
		p, err := auth.NewProvider(ctx, auth.ProviderConfig{
			Issuer: issuer, Realm: realm, Servants: realm == "servant", Keys: signing, Clients: clients,
			Codes: codes, Accounts: a.accounts, OneTimeCodes: a.otps, Contacts: a.contacts,
			Authenticators: a.totp, DemoOutboxURL: outboxURL, Logger: a.log, Counter: a.metrics,
		})
		if err != nil {
			return err
		}
		mux.Handle("/auth/"+realm+"/", http.StripPrefix("/auth/"+realm, p.Handler()))
		if cfg.AdminToken != "" {
			admin, err := auth.NewClientAdmin(auth.ClientAdminConfig{Clients: clients, Logger: a.log, Authorize: bearerAdmin(cfg.AdminToken)})
			if err != nil {
				return err
			}
			mux.Handle("/auth/"+realm+"/admin/", http.StripPrefix("/auth/"+realm+"/admin", admin))
		}
		a.issuers = append(a.issuers, issuer)
		a.providers = append(a.providers, p)
		if realm == "servant" {
			a.servants, a.servantClients = p, clients
		} else {
			a.citizens, a.citizenClients = p, clients
		}
		if cfg.Demo {
			if err := createDemoClient(ctx, clients, cfg.BaseURL, realm, a.log); err != nil {
				return err
			}
		}
	}
	a.startMaintenance(ctx)
	return nil
}

// bearerAdmin accepts requests bearing the operator's admin token.
func bearerAdmin(token string) func(*http.Request) (string, error) {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) (string, error) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return "", errors.New("not the admin token")
		}
		return "operator", nil
	}
}

// startMaintenance runs each provider's maintenance now and every
// maintainEvery until the app is closed.
func (a *app) startMaintenance(ctx context.Context) {
	a.every(ctx, "maintenance", func(ctx context.Context) error {
		var errs []error
		for _, p := range a.providers {
			errs = append(errs, p.Maintain(ctx))
		}
		return errors.Join(errs...)
	})
}

// every runs fn now and every maintainEvery until the app is closed,
// logging what fails.
func (a *app) every(ctx context.Context, what string, fn func(context.Context) error) {
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(maintainEvery)
		defer t.Stop()
		for {
			if err := fn(mctx); err != nil && mctx.Err() == nil {
				a.log.Warn(what+" failed", zap.Error(err))
			}
			select {
			case <-mctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	a.closers = append(a.closers, func() error { cancel(); <-done; return nil })
}

// ensureClient registers c with secret, or, when it exists, adds c's
// redirect URIs to the registered ones in one transaction: instances of
// the portal reached at other public URLs keep theirs, and so does an
// address the portal has moved from, until the operator removes it.
func ensureClient(ctx context.Context, clients *auth.ClientRegistry, c auth.Client, secret string) error {
	_, err := clients.Import(ctx, c, secret)
	if !errors.Is(err, auth.ErrClientExists) {
		return err
	}
	_, err = clients.Modify(ctx, c.ID, func(old *auth.Client) error {
		redirects, logouts := union(old.RedirectURIs, c.RedirectURIs), union(old.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs)
		// Clients registered before they had names in both languages
		// get them here.
		sameNames := old.Name == c.Name && maps.Equal(old.Names, c.Names)
		// Scopes and audiences the portal added since are given too.
		scopes, audience := union(old.Scopes, c.Scopes), union(old.Audience, c.Audience)
		if sameNames && len(redirects) == len(old.RedirectURIs) && len(logouts) == len(old.PostLogoutRedirectURIs) &&
			len(scopes) == len(old.Scopes) && len(audience) == len(old.Audience) {
			return errUnchanged
		}
		old.RedirectURIs, old.PostLogoutRedirectURIs = redirects, logouts
		old.Scopes, old.Audience = scopes, audience
		old.Name, old.Names = c.Name, c.Names
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// errUnchanged stops a modification that would change nothing.
var errUnchanged = errors.New("unchanged")

// union is a followed by what of b it lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func createDemoClient(ctx context.Context, clients *auth.ClientRegistry, base, realm string, log *zap.Logger) error {
	c := auth.Client{
		ID: demoClientID, Name: "Δοκιμαστική υπηρεσία", AuthMethod: auth.AuthSecretBasic,
		Names:                  map[string]string{"el": "Δοκιμαστική υπηρεσία", "en": "Demo agency"},
		GrantTypes:             []string{auth.GrantAuthorizationCode, auth.GrantRefreshToken, auth.GrantClientCredentials},
		RedirectURIs:           []string{"http://127.0.0.1:8090/callback", base + "/demo/" + realm + "/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1:8090/", base + "/demo/" + realm + "/"},
		Scopes:                 []string{"openid", "profile"},
		Audience:               []string{"http://127.0.0.1:8090"},
	}
	if realm == "citizen" {
		c.Scopes = append(c.Scopes, auth.ScopeGreekIdentity)
	} else { // the exchange layer's operators sign in through it
		c.Scopes = append(c.Scopes, scopeInteropOperate)
		c.Audience = append(c.Audience, base+interopAPI)
	}
	if err := ensureClient(ctx, clients, c, demoClientSecret); err != nil {
		return fmt.Errorf("demo client: %w", err)
	}
	log.Info("demo client ready", zap.String("realm", realm), zap.String("client_id", demoClientID),
		zap.String("authorization_endpoint", base+"/auth/"+realm+"/authorize"))
	return nil
}
