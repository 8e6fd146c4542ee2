package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
)

// realms are the two identity realms the portal runs: citizens and civil
// servants, each with its own issuer, signing keys and clients.
var realms = []string{"citizen", "servant"}

// Demo client, created on first run in demo mode (and printed at start).
const (
	demoClientID     = "demo-agency"
	demoClientSecret = "demo-agency-secret"
)

// mountAuth mounts each realm's provider at /auth/<realm>/ and returns the
// citizen realm's client registry.
func (a *app) mountAuth(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	for _, realm := range realms {
		clients, err := auth.NewClientRegistry(ctx, cfg.DB, realm, auth.WithRegistryLogger(a.log))
		if err != nil {
			return err
		}
		signing, err := keys.New(ctx, cfg.DB, "auth/"+realm, cfg.KEK, keys.WithLogger(a.log))
		if err != nil {
			return err
		}
		issuer := cfg.BaseURL + "/auth/" + realm
		p, err := auth.NewProvider(auth.ProviderConfig{
			Issuer: issuer, Realm: realm, Keys: signing, Clients: clients, Logger: a.log,
		})
		if err != nil {
			return err
		}
		mux.Handle("/auth/"+realm+"/", http.StripPrefix("/auth/"+realm, p.Handler()))
		a.issuers = append(a.issuers, issuer)
		if realm == "citizen" && cfg.Demo {
			if err := createDemoClient(ctx, clients, cfg.BaseURL, a.log); err != nil {
				return err
			}
		}
	}
	return nil
}

func createDemoClient(ctx context.Context, clients *auth.ClientRegistry, base string, log *zap.Logger) error {
	c := auth.Client{
		ID: demoClientID, Name: "Demo agency", AuthMethod: auth.AuthSecretBasic,
		GrantTypes:   []string{auth.GrantAuthorizationCode, auth.GrantRefreshToken, auth.GrantClientCredentials},
		RedirectURIs: []string{"http://127.0.0.1:8090/callback"},
		Scopes:       []string{"openid", "profile"},
		Audience:     []string{"http://127.0.0.1:8090"},
	}
	_, err := clients.Import(ctx, c, demoClientSecret)
	switch {
	case errors.Is(err, auth.ErrClientExists):
	case err != nil:
		return fmt.Errorf("demo client: %w", err)
	}
	log.Warn("demo mode: a client with a published secret exists; start with -demo=false on a real server",
		zap.String("client_id", demoClientID), zap.String("client_secret", demoClientSecret),
		zap.String("token_endpoint", base+"/auth/citizen/token"))
	return nil
}
