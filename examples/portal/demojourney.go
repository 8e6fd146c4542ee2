package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/examples/registry/registry"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/sqldb"
)

// The once-only journey of the demonstration: the agency (examples/agency)
// and the registry (examples/registry), started in-process on loopback
// ports of their own and registered at the portal as an agency's site
// would be. Their credentials are published like every demo client's.
const (
	journeyAgencyClient  = "agency"
	journeyAgencySecret  = "agency-demo-secret"
	journeyInteropClient = "agency-interop"
	// journeyPreviewClient is the portal's own client of its gateway: the
	// consent pages fetch the registry's preview with it.
	journeyPreviewClient = "portal-preview"
)

var (
	journeyConsumer = interop.ClientID{Instance: "GR", Class: "GOV", Member: "DIMOS-ATHINAION", Subsystem: "BENEFITS"}
	journeyService  = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-YPES", Subsystem: "CIVREG", Service: "family-status"}
	// The registry's preview is a service of its own, with no consent,
	// that only the portal's consent pages call.
	journeyPreviewConsumer = interop.ClientID{Instance: "GR", Class: "GOV", Member: "PORTAL", Subsystem: "CONSENT"}
	journeyPreviewService  = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-YPES", Subsystem: "CIVREG", Service: "family-status-preview"}
)

// journeySource is the registry's service as the consent pages name it.
var journeySource = consent.Source{Registry: "Ληξιαρχείο", Service: "Πιστοποιητικό οικογενειακής κατάστασης"}

// demoJourney is the agency and the registry of the demonstration: the
// listeners they answer on, chosen before the portal is built so that
// their URLs can be registered, and what they are served with.
type demoJourney struct {
	agencyLn, registryLn  net.Listener
	agencyKey, previewKey *ecdsa.PrivateKey
	// agencyData is the agency's data directory: its interop key and its
	// database of applications and declarations.
	agencyData string
	agencyDB   *sql.DB
	servers    []*http.Server
}

// listenJourney opens the agency's and the registry's listeners, and
// reads the agency's and the preview's interop keys from dataDir, where
// the first start writes them: the clients registered with their key
// sets stay the same across restarts.
func listenJourney(dataDir, agencyAddr, registryAddr string) (*demoJourney, error) {
	for _, addr := range []string{agencyAddr, registryAddr} {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: the demo agency and registry listen on a loopback address only, not %q", errUsage, addr)
		}
	}
	a, err := net.Listen("tcp", agencyAddr)
	if err != nil {
		return nil, fmt.Errorf("the demo agency: %w", err)
	}
	r, err := net.Listen("tcp", registryAddr)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("the demo registry: %w", err)
	}
	agencyData := filepath.Join(dataDir, "demo-agency")
	key, _, err := agency.LoadOrCreateKey(filepath.Join(agencyData, "interop-key.pem"))
	if err != nil {
		a.Close()
		r.Close()
		return nil, fmt.Errorf("the demo agency's interop key: %w", err)
	}
	pkey, _, err := agency.LoadOrCreateKey(filepath.Join(dataDir, "preview-key.pem"))
	if err != nil {
		a.Close()
		r.Close()
		return nil, fmt.Errorf("the consent preview's interop key: %w", err)
	}
	return &demoJourney{agencyLn: a, registryLn: r, agencyKey: key, previewKey: pkey, agencyData: agencyData}, nil
}

func (j *demoJourney) agencyURL() string   { return "http://" + j.agencyLn.Addr().String() }
func (j *demoJourney) registryURL() string { return "http://" + j.registryLn.Addr().String() }

// seedJourney registers the journey at the portal: the registry's
// family-status service (its upstream the registry's API) with the
// agency's right to it, and its preview service, with no consent, with
// the portal's own right to it; the agency's two clients (sign-in and
// consent requests with a secret; gateway calls with its key) and the
// portal's preview client (gateway calls with its key); and which X-Road
// client and consent requester each interop client is.
func (a *app) seedJourney(ctx context.Context, cfg appConfig, store interop.Store) error {
	j := cfg.Journey
	items := []interop.DataItem{
		{Code: "marital_status", Type: interop.ItemCode, Label: interop.Text{El: "Οικογενειακή κατάσταση", En: "Marital status"}},
		{Code: "spouse", Type: interop.ItemText, Label: interop.Text{El: "Σύζυγος", En: "Spouse"}},
		{Code: "children", Type: interop.ItemText, Label: interop.Text{El: "Τέκνα", En: "Children"}},
	}
	for _, r := range []struct {
		svc   interop.Service
		right interop.Right
	}{
		{interop.Service{ID: journeyService, Title: interop.Text{El: "Πιστοποιητικό οικογενειακής κατάστασης", En: "Family status certificate"},
			ConsentRequired: true, Items: items},
			interop.Right{Consumer: journeyConsumer, Path: "/family-status"}},
		{interop.Service{ID: journeyPreviewService, Title: interop.Text{El: "Προεπισκόπηση οικογενειακής κατάστασης", En: "Family status preview"},
			LegalBasis: "the citizen's preview of their own data before consenting", Items: items},
			interop.Right{Consumer: journeyPreviewConsumer, Path: "/family-status/preview"}},
	} {
		r.svc.Upstream, r.svc.UpdatedBy = j.registryURL()+"/api", "demonstration data"
		if err := putJourneyService(ctx, store, r.svc); err != nil {
			return fmt.Errorf("demo journey service %s: %w", r.svc.ID, err)
		}
		r.right.Service, r.right.Method, r.right.GrantedBy = r.svc.ID, http.MethodGet, "demonstration data"
		if _, err := store.GrantRight(ctx, r.right); err != nil && !errors.Is(err, interop.ErrExists) {
			return fmt.Errorf("demo journey right to %s: %w", r.svc.ID, err)
		}
	}

	base := j.agencyURL()
	site := auth.Client{ID: journeyAgencyClient, Name: "Δήμος Αθηναίων",
		Names:      map[string]string{"el": "Δήμος Αθηναίων", "en": "City of Athens"},
		AuthMethod: auth.AuthSecretBasic, GrantTypes: []string{auth.GrantAuthorizationCode, auth.GrantClientCredentials},
		RedirectURIs: []string{base + "/signin/callback", base + "/consent-return"}, PostLogoutRedirectURIs: []string{base + "/"},
		Scopes:   []string{"openid", "profile", auth.ScopeGreekIdentity, auth.ScopePhone, scopeConsentRequest},
		Audience: []string{cfg.BaseURL + consentAPI}}
	if err := a.putJourneyClient(ctx, site, journeyAgencySecret); err != nil {
		return fmt.Errorf("demo agency client: %w", err)
	}
	jwks, err := agency.JWKS(&j.agencyKey.PublicKey)
	if err != nil {
		return err
	}
	calls := auth.Client{ID: journeyInteropClient, Name: "Δήμος Αθηναίων",
		Names:      map[string]string{"el": "Δήμος Αθηναίων", "en": "City of Athens"},
		AuthMethod: auth.AuthPrivateKeyJWT, GrantTypes: []string{auth.GrantClientCredentials},
		Scopes: []string{scopeInteropCall}, Audience: []string{cfg.BaseURL + gatewayPath}, JWKS: json.RawMessage(jwks)}
	if err := a.putJourneyClient(ctx, calls, ""); err != nil {
		return fmt.Errorf("demo agency interop client: %w", err)
	}
	if jwks, err = agency.JWKS(&j.previewKey.PublicKey); err != nil {
		return err
	}
	preview := auth.Client{ID: journeyPreviewClient, Name: "Τα δεδομένα μου",
		Names:      map[string]string{"el": "Τα δεδομένα μου", "en": "My data"},
		AuthMethod: auth.AuthPrivateKeyJWT, GrantTypes: []string{auth.GrantClientCredentials},
		Scopes: []string{scopeInteropCall}, Audience: []string{cfg.BaseURL + gatewayPath}, JWKS: json.RawMessage(jwks)}
	if err := a.putJourneyClient(ctx, preview, ""); err != nil {
		return fmt.Errorf("demo preview interop client: %w", err)
	}
	a.interop.consumers[journeyPreviewClient] = journeyPreviewConsumer
	a.interop.consumers[journeyInteropClient] = journeyConsumer
	a.interop.requesters[journeyInteropClient] = journeyAgencyClient
	a.interop.sources[journeyService.String()] = journeySource
	return nil
}

// putJourneyService registers svc, or brings the registered one's
// upstream up to this start: the registry has a new port at every start.
func putJourneyService(ctx context.Context, store interop.Store, svc interop.Service) error {
	old, err := store.Service(ctx, svc.ID)
	switch {
	case errors.Is(err, interop.ErrNotFound):
		if _, err := store.CreateService(ctx, svc); err != nil && !errors.Is(err, interop.ErrExists) {
			return err
		}
	case err != nil:
		return err
	case old.Upstream != svc.Upstream:
		old.Upstream = svc.Upstream
		if _, err := store.UpdateService(ctx, old); err != nil {
			return err
		}
	}
	return nil
}

// journeyPreview is the consent pages' PreviewFetcher in demo mode: it
// fetches the registry's preview through the portal's own gateway, as
// the portal's consumer, so that the call is authorized and logged like
// any other; the preview service needs no consent, and only the portal
// has a right to it.
type journeyPreview struct{ gateway *consumer.Client }

// newJourneyPreview is the preview of the journey's registry, called
// through the gateway at cfg.BaseURL.
func newJourneyPreview(cfg appConfig, log *zap.Logger) (*journeyPreview, error) {
	key := cfg.Journey.previewKey
	gw, err := consumer.New(consumer.Config{Gateway: cfg.BaseURL + interopPrefix, Consumer: journeyPreviewConsumer,
		Issuer: cfg.BaseURL + "/auth/citizen", ClientID: journeyPreviewClient, Key: key, KeyID: agency.KeyID(&key.PublicKey),
		Resource: cfg.BaseURL + gatewayPath, MaxAttempts: 1, Logger: log})
	if err != nil {
		return nil, err
	}
	return &journeyPreview{gateway: gw}, nil
}

// Preview answers the registry's values for a request whose source is
// the registry's family status; other sources offer no preview.
func (p *journeyPreview) Preview(ctx context.Context, q consent.PreviewQuery) ([]consent.PreviewValue, error) {
	if q.Source != journeySource {
		return nil, nil
	}
	resp, err := p.gateway.Do(ctx, consumer.Call{Service: journeyPreviewService, Path: "/family-status/preview", UserID: "GR" + q.TaxNumber})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the registry's preview answered %s", resp.Status)
	}
	var v struct {
		Values []consent.PreviewValue `json:"values"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&v); err != nil {
		return nil, fmt.Errorf("the registry's preview: %w", err)
	}
	wanted := map[string]bool{}
	for _, it := range q.Items {
		wanted[it.ID] = true
	}
	out := v.Values[:0]
	for _, val := range v.Values { // only what the request would release
		if wanted[val.Item] {
			out = append(out, val)
		}
	}
	return out, nil
}

// putJourneyClient registers c, or brings the registered one up to this
// start: the agency's URLs change at every start (and its key with a
// new data directory), so they replace the old ones rather than add to
// them.
func (a *app) putJourneyClient(ctx context.Context, c auth.Client, secret string) error {
	var err error
	if c.AuthMethod == auth.AuthSecretBasic {
		_, err = a.citizenClients.Import(ctx, c, secret)
	} else {
		_, _, err = a.citizenClients.Create(ctx, c)
	}
	if !errors.Is(err, auth.ErrClientExists) {
		return err
	}
	_, err = a.citizenClients.Modify(ctx, c.ID, func(old *auth.Client) error {
		old.RedirectURIs, old.PostLogoutRedirectURIs, old.JWKS = c.RedirectURIs, c.PostLogoutRedirectURIs, c.JWKS
		old.Scopes, old.Audience = union(old.Scopes, c.Scopes), union(old.Audience, c.Audience)
		return nil
	})
	return err
}

// journeyCitizens are the registry's records of the demo citizens, as
// the portal's accounts name them.
var journeyCitizens = []registry.Citizen{
	{TaxNumber: demoCitizenAFM, GivenName: "Μαρία", FamilyName: "Δοκιμαστική", MaritalStatus: "married",
		Spouse: "Νίκος Δοκιμαστικός", Municipality: "Αθηναίων",
		Children: []registry.Child{{Name: "Ελένη Δοκιμαστική", BirthDate: "2016-05-02"}, {Name: "Γιώργος Δοκιμαστικός", BirthDate: "2019-11-20"}}},
	{TaxNumber: demoCitizen2AFM, GivenName: "Γιάννης", FamilyName: "Παράδειγμα", MaritalStatus: "married",
		Spouse: "Σοφία Παραδείγματος", Municipality: "Αθηναίων",
		Children: []registry.Child{{Name: "Άννα Παραδείγματος", BirthDate: "2021-02-14"}}},
}

// startJourney serves the agency and the registry, once the portal's
// handler is built; they answer until closeJourney.
func (a *app) startJourney(ctx context.Context, cfg appConfig) error {
	j := cfg.Journey
	gwKey, gwKeyID, err := gatewayKey(cfg.KEK)
	if err != nil {
		return err
	}
	reg, err := registry.New(ctx, registry.Config{Keys: map[string]crypto.PublicKey{gwKeyID: gwKey.Public().(ed25519.PublicKey)},
		Citizens: demoRecords(cfg.DemoCitizens), Logger: a.log.Named("registry")})
	if err != nil {
		return err
	}
	cookieKey, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit demo agency cookies v1", 32)
	if err != nil {
		return err
	}
	// The agency keeps its applications and issues its declarations in a
	// database of its own, as another organisation would; the codes go
	// through the portal's SMS sender (the outbox at /dev/outbox).
	agencyKEK, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit demo agency kek v1", 32)
	if err != nil {
		return err
	}
	if j.agencyDB, err = sqldb.Open(ctx, "sqlite:"+filepath.Join(j.agencyData, "agency.db"), nil); err != nil {
		return fmt.Errorf("the demo agency's database: %w", err)
	}
	ag, err := agency.New(ctx, agency.Config{PublicURL: j.agencyURL(), Issuer: cfg.BaseURL + "/auth/citizen",
		ClientID: journeyAgencyClient, ClientSecret: journeyAgencySecret, ACR: rp.LoASubstantial,
		ConsentAPI: cfg.BaseURL + consentAPI, Gateway: cfg.BaseURL + interopPrefix, GatewayAudience: cfg.BaseURL + gatewayPath,
		InteropIssuer: cfg.BaseURL + "/auth/citizen", InteropClientID: journeyInteropClient, Key: j.agencyKey,
		XRoadClient: journeyConsumer, Service: journeyService, PurposeCode: "child-benefit", CookieKey: cookieKey,
		SourceRegistry: journeySource.Registry, SourceService: journeySource.Service,
		DB: j.agencyDB, KEK: agencyKEK, SMS: cfg.SMS, Authority: "Δήμος Αθηναίων",
		Counter: a.metrics, Logger: a.log.Named("agency")})
	if err != nil {
		j.agencyDB.Close()
		return err
	}
	a.every(ctx, "demo agency maintenance", ag.Maintain)
	for _, s := range []struct {
		ln net.Listener
		h  http.Handler
	}{{j.registryLn, reg}, {j.agencyLn, ag}} {
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: zap.NewStdLog(a.log.Named("demo-journey"))}
		j.servers = append(j.servers, srv)
		go srv.Serve(s.ln) //nolint:errcheck // ErrServerClosed at shutdown
	}
	a.closers = append(a.closers, j.close)
	a.journeyURL = j.agencyURL() + "/"
	a.log.Info("demo journey: apply for the child benefit at the agency; the certificate comes from the registry through the gateway",
		zap.String("agency", j.agencyURL()+"/"), zap.String("registry", j.registryURL()+"/"))
	return nil
}

// close stops the agency and the registry, letting requests under way
// finish for a few seconds.
func (j *demoJourney) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range j.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(j.servers) == 0 { // never served
		j.agencyLn.Close()
		j.registryLn.Close()
	}
	if j.agencyDB != nil {
		errs = append(errs, j.agencyDB.Close())
	}
	return errors.Join(errs...)
}
