package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/examples/registry/registry"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/interop/provider"
	"github.com/egovkit/egovkit/problem"
)

// Where the exchange layer is mounted. The gateway's public URL
// (<public URL>/interop/r1) is the audience of the consumers' tokens; the
// operators' API's (<public URL>/interop/api) the audience of the
// operators' tokens.
const (
	interopPrefix = "/interop"
	gatewayPath   = interopPrefix + "/r1"
	interopAPI    = interopPrefix + "/api"
	interopLog    = interopPrefix + "/log"
)

// Scopes of the exchange layer.
const (
	// scopeInteropCall lets an agency's system (a client-credentials
	// token of the citizens' realm) call services through the gateway.
	scopeInteropCall = "interop:call"
	// scopeInteropOperate opens the operators' API to a civil servant's
	// token; what they may do there is their authorization for the
	// service "interop" (operator or auditor).
	scopeInteropOperate = "interop:operate"
)

// interopService is the service a servant's authorization names to make
// them an operator or an auditor of the exchange layer.
const interopService = "interop"

// exchangeLogOrigin names the portal's exchange log: the first line of
// every checkpoint. It does not follow the public URL, which a database
// outlives.
const exchangeLogOrigin = "egovkit-portal/exchange-log"

// interopLayer is what mountInterop builds that other parts of the
// portal use: the consumers' client ids, the exchange log for the
// citizens' proofs.
type interopLayer struct {
	// consumers maps a client of the citizens' realm to the X-Road client
	// it calls as; a client without an entry cannot call.
	consumers map[string]interop.ClientID
	// requesters maps a consumer's client to the client that asks the
	// citizens' consent for it, when that is another one (an agency that
	// signs its gateway calls with a key of their own); by default the
	// consumer's client asks itself.
	requesters map[string]string
	// sources are the consent sources of services, by service identifier;
	// a service without one is named by its identifier.
	sources map[string]consent.Source
	log     *exchangelog.Log
}

// mountInterop mounts the exchange layer:
//
//   - the gateway at /interop/r1/{instance}/{class}/{member}/{subsystem}/{service}/…
//     (X-Road's REST protocol under the portal's prefix). Consumers are
//     clients of the citizens' realm with the grant client_credentials
//     (client secret or private_key_jwt), the scope interop:call and the
//     gateway's URL as audience; each calls as the X-Road client it is
//     registered as (interopLayer.consumers). Services that need consent
//     ask package consent, whose use records the gateway's exchange id.
//   - the operators' API at /interop/api/, for civil servants' tokens
//     (scope interop:operate, their authorization for the service
//     "interop" says operator or auditor) or the administration token.
//   - the exchange log at /interop/log/: checkpoints, inclusion and
//     consistency proofs and the verifier key are public; entries, which
//     carry citizens' pseudonyms, only for auditors and operators.
//   - the gateway's key set at /interop/keys, for providers.
//
// The gateway's signing key is derived from the key-encryption key; the
// log's note key is generated on first run and stored sealed under it.
func (a *app) mountInterop(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	store, err := interop.NewSQLStore(ctx, cfg.DB, interop.WithLogger(a.log))
	if err != nil {
		return err
	}
	key, keyID, err := gatewayKey(cfg.KEK)
	if err != nil {
		return err
	}
	if cfg.Demo { // before the first snapshot of the registry
		if err := a.seedInteropDemo(ctx, mux, cfg, store, key.Public().(ed25519.PublicKey), keyID); err != nil {
			return err
		}
	}
	authz, err := interop.New(ctx, interop.Config{Store: store, Logger: a.log.Named("interop")})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, authz.Close)
	noteKey, err := exchangelog.NewSigningKey(ctx, cfg.DB, cfg.KEK, exchangeLogOrigin, exchangelog.WithLogger(a.log))
	if err != nil {
		return err
	}
	// The gateway holds each provider's answer until its entry is
	// committed (GatewayConfig.LogBeforeRelease), so no citizen's data
	// leaves without its record, even if the process dies that moment;
	// the calls wait for the commits, so an append waits only the log's
	// default moment for others to share its commit.
	xlog, err := exchangelog.New(ctx, exchangelog.Config{DB: cfg.DB, Signer: noteKey, Logger: a.log.Named("exchangelog")})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, xlog.Close)
	a.every(ctx, "exchange log maintenance", xlog.Maintain)
	pseudonymKey, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit interop citizens v1", 32)
	if err != nil {
		return err
	}
	a.interop.log = xlog
	calls, err := a.verifier(cfg, "citizen", gatewayPath)
	if err != nil {
		return err
	}
	gcfg := interop.GatewayConfig{Authorizer: authz, Tokens: &consumerTokens{v: calls, layer: a.interop},
		Log: xlog, LogBeforeRelease: true, Key: key, KeyID: keyID, Name: "portal", Counter: a.metrics, Observer: callLatency{a.callSeconds}, Logger: a.log.Named("gateway"),
		Pseudonym: func(userID string) string { return citizenPseudonym(pseudonymKey, userID) }}
	if a.consent != nil {
		gcfg.Consent = &consentChecker{svc: a.consent, app: a}
	}
	gw, err := interop.NewGateway(gcfg)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, gw.Close) // closed before the log, which it writes
	mux.Handle(gatewayPath+"/", http.StripPrefix(interopPrefix, gw))
	mux.Handle("GET "+interopPrefix+"/keys", gw.KeysHandler())

	api, err := interop.APIHandler(interop.APIConfig{Store: store, Caller: a.interopCaller(cfg), Logger: a.log})
	if err != nil {
		return err
	}
	operators, err := a.verifier(cfg, "servant", interopAPI)
	if err != nil {
		return err
	}
	a.interopTokens = operators
	mux.Handle(interopAPI+"/", http.StripPrefix(interopAPI, api))
	if err := a.mountInteropPages(ctx, mux, cfg, store); err != nil {
		return err
	}
	logs := http.StripPrefix(interopLog, xlog.Handler())
	mux.Handle(interopLog+"/", logs)
	auditors := a.requireInteropRole(cfg, interop.RoleAuditor, logs)
	mux.Handle(interopLog+"/entries", auditors)
	mux.Handle(interopLog+"/entries/", auditors)

	for i := range a.services {
		if a.services[i].Key == "interop" {
			a.services[i].Href = interopPages + "/"
		}
	}
	return nil
}

// gatewayKey derives the gateway's Ed25519 signing key from the
// key-encryption key, so that the data directory keeps one secret, and
// names it by its public key: a new key-encryption key is a new key id.
func gatewayKey(kek []byte) (ed25519.PrivateKey, string, error) {
	seed, err := hkdf.Key(sha256.New, kek, nil, "egovkit interop gateway signing key v1", ed25519.SeedSize)
	if err != nil {
		return nil, "", err
	}
	key := ed25519.NewKeyFromSeed(seed)
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	return key, "gateway-" + hex.EncodeToString(sum[:6]), nil
}

// citizenPseudonym is what the exchange log keeps of the citizen a call
// is about: a keyed hash of the X-Road-UserId, never the id.
func citizenPseudonym(key []byte, userID string) string {
	if userID == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	return "c-" + hex.EncodeToString(m.Sum(nil)[:16])
}

// consumerTokens checks a consumer's access token (the citizens' realm,
// the gateway's audience, scope interop:call, a client's own token) with
// the realm's keys in process, and answers the X-Road client the token's
// client is registered as.
type consumerTokens struct {
	v     *rp.Verifier
	layer *interopLayer
}

func (c *consumerTokens) VerifyToken(ctx context.Context, raw string) (interop.ClientID, error) {
	id, err := c.v.Verify(ctx, raw)
	switch {
	case errors.Is(err, errkind.Unavailable):
		return interop.ClientID{}, fmt.Errorf("%w: %w", interop.ErrTokenKeys, err)
	case err != nil:
		return interop.ClientID{}, fmt.Errorf("%w: %w", interop.ErrToken, err)
	case id.ClientID == "" || id.Subject != id.ClientID:
		return interop.ClientID{}, fmt.Errorf("%w: not a client's own token", interop.ErrToken)
	case !id.HasScope(scopeInteropCall):
		return interop.ClientID{}, fmt.Errorf("%w: the token lacks the scope %s", interop.ErrToken, scopeInteropCall)
	}
	client, ok := c.layer.consumers[id.ClientID]
	if !ok {
		return interop.ClientID{}, fmt.Errorf("%w: the client %q is not registered as a consumer", interop.ErrToken, id.ClientID)
	}
	return client, nil
}

// consentChecker answers the gateway with package consent: the consumer
// is the requester its client is registered as, the service the source
// it is registered as, the X-Road-UserId ("GR" and a tax number, or the
// tax number alone) the citizen, the X-Road-Issue the purpose's code.
// Each allowed call is recorded in the citizen's access log with the
// gateway's exchange id.
type consentChecker struct {
	svc *consent.Service
	app *app
}

func (c *consentChecker) CheckConsent(ctx context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	layer := c.app.interop
	clientID := ""
	for id, cl := range layer.consumers {
		if cl == q.Consumer {
			clientID = id
			break
		}
	}
	if clientID == "" {
		return interop.ConsentDecision{Reason: interop.ConsentOutOfScope}, nil
	}
	if r, ok := layer.requesters[clientID]; ok {
		clientID = r
	}
	req, err := c.app.requesterOf(ctx, clientID)
	if errors.Is(err, auth.ErrClientNotFound) {
		return interop.ConsentDecision{Reason: interop.ConsentOutOfScope}, nil
	}
	if err != nil {
		return interop.ConsentDecision{}, err
	}
	src, ok := layer.sources[q.Service.String()]
	if !ok {
		src = consent.Source{Registry: q.Service.Provider().String(), Service: q.Service.String()}
	}
	if q.ConsentID != "" {
		// A presented consent must be one this requester holds.
		_, err := c.svc.Status(ctx, req, q.ConsentID)
		switch {
		case errors.Is(err, consent.ErrNotFound), errors.Is(err, errkind.Invalid):
			return interop.ConsentDecision{Reason: interop.ConsentUnknown}, nil
		case err != nil:
			return interop.ConsentDecision{}, err
		}
	}
	d, err := c.svc.Check(ctx, consent.CheckRequest{Requester: req, TaxNumber: strings.TrimPrefix(q.Subject, "GR"),
		Source: src, Items: q.Items, Purpose: q.Purpose, ExchangeID: q.ExchangeID})
	if err != nil {
		return interop.ConsentDecision{}, err
	}
	if d.Allowed {
		if q.ConsentID != "" && d.ConsentID != q.ConsentID {
			c.app.log.Info("a call was allowed under another consent than the one presented",
				zap.String("exchange", q.ExchangeID), zap.String("consent", d.ConsentID))
		}
		return interop.ConsentDecision{Allowed: true, ConsentID: d.ConsentID}, nil
	}
	return interop.ConsentDecision{Reason: consentReason(d.Reason)}, nil
}

// consentReason is a consent refusal in the gateway's words.
func consentReason(r consent.Reason) interop.ConsentReason {
	switch r {
	case consent.ReasonWithdrawn:
		return interop.ConsentWithdrawn
	case consent.ReasonExpired:
		return interop.ConsentExpired
	case consent.ReasonUsedUp:
		return interop.ConsentUsedUp
	case consent.ReasonWrongPurpose, consent.ReasonItemsNotCovered:
		return interop.ConsentOutOfScope
	default:
		return interop.ConsentMissing
	}
}

// requesterOf is a client of the citizens' realm as package consent
// names a requester: by its registered name.
func (a *app) requesterOf(ctx context.Context, clientID string) (consent.Requester, error) {
	c, err := a.citizenClients.Get(ctx, clientID)
	if err != nil {
		return consent.Requester{}, err
	}
	if c.Disabled {
		return consent.Requester{}, fmt.Errorf("%w: the client is disabled", auth.ErrClientNotFound)
	}
	return consent.Requester{Organisation: c.Name, Client: c.ID}, nil
}

// interopCaller is who calls the operators' API: the bearer of the
// administration token (an operator and an auditor), or a civil servant
// whose token was issued for the API with the scope interop:operate (at
// LoA substantial for a change), with the roles of their authorizations
// for the service "interop".
func (a *app) interopCaller(cfg appConfig) func(*http.Request) (interop.Caller, error) {
	admin := sha256.Sum256([]byte(cfg.AdminToken))
	return func(r *http.Request) (interop.Caller, error) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			return interop.Caller{}, errors.New("no bearer token")
		}
		if cfg.AdminToken != "" {
			sum := sha256.Sum256([]byte(raw))
			if subtle.ConstantTimeCompare(sum[:], admin[:]) == 1 {
				return interop.Caller{ID: "administrator", Roles: []string{interop.RoleOperator, interop.RoleAuditor}}, nil
			}
		}
		id, err := a.interopTokens.Verify(r.Context(), raw)
		if err != nil {
			return interop.Caller{}, err
		}
		if !id.HasScope(scopeInteropOperate) {
			return interop.Caller{}, fmt.Errorf("the token lacks the scope %s", scopeInteropOperate)
		}
		// A change of the registry is a write: as the other APIs, it takes
		// a sign-in at LoA substantial.
		if r.Method != http.MethodGet && r.Method != http.MethodHead && id.ACR != rp.LoASubstantial && id.ACR != rp.LoAHigh {
			return interop.Caller{}, errors.New("a change needs a sign-in at LoA substantial")
		}
		return a.interopCallerFromToken(r.Context(), raw)
	}
}

// interopCallerFromToken asks the servants' provider, in process, who an
// access token speaks for, with the roles of their authorizations for the
// service "interop".
func (a *app) interopCallerFromToken(ctx context.Context, raw string) (interop.Caller, error) {
	claims, err := a.servants.UserInfo(ctx, raw)
	if err != nil {
		return interop.Caller{}, err
	}
	c := interop.Caller{}
	if sub, _ := claims["sub"].(string); sub != "" {
		c.ID = sub
	}
	if name, _ := claims["preferred_username"].(string); name != "" {
		c.ID = name
	}
	details, _ := claims["authorization_details"].([]auth.AuthorizationDetail)
	for _, d := range details {
		if d.Service == interopService && (d.Role == interop.RoleOperator || d.Role == interop.RoleAuditor) &&
			!slices.Contains(c.Roles, d.Role) {
			c.Roles = append(c.Roles, d.Role)
		}
	}
	return c, nil
}

// requireInteropRole lets through to next only callers of the operators'
// API (interopCaller) with role, or operators; the rest are refused with
// 401 or 403 as problem+json.
func (a *app) requireInteropRole(cfg appConfig, role string, next http.Handler) http.Handler {
	who := a.interopCaller(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := who(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="interop"`)
			problem.Write(w, r, problem.New(problem.TypeUnauthorized, http.StatusUnauthorized,
				"the exchange log's entries are read with an auditor's access token"))
			return
		}
		if !c.Has(role) && !c.Has(interop.RoleOperator) {
			problem.Write(w, r, problem.New(problem.TypeForbidden, http.StatusForbidden,
				"the exchange log's entries are for auditors and operators"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CheckProof proves, for the citizen's access log, that the exchange a use
// names is in the exchange log: the portal reads the entry and its
// inclusion proof in the latest checkpoint, and verifies both against
// the checkpoint's signature by the log's published key, as an offline
// verifier would. An entry appended after the latest checkpoint is not
// verified until the next one (about a second).
func (l *interopLayer) CheckProof(ctx context.Context, exchangeID string) (consent.Proof, error) {
	if l.log == nil {
		return consent.Proof{}, errors.New("the exchange log is not open")
	}
	rec, err := l.log.EntryByExchangeID(ctx, exchangeID)
	if err != nil {
		return consent.Proof{}, err
	}
	latest, err := l.log.Checkpoint(ctx)
	if err != nil {
		return consent.Proof{}, err
	}
	cp, err := verify.OpenCheckpoint(latest.Note, l.log.VerifierKey())
	if err != nil {
		return consent.Proof{}, err
	}
	p := consent.Proof{URL: interopLog + "/proof/inclusion?index=" + strconv.FormatInt(rec.Index, 10)}
	if rec.Index >= cp.Size {
		return p, nil
	}
	proof, err := l.log.InclusionProof(ctx, rec.Index, cp.Size)
	if err != nil {
		return consent.Proof{}, err
	}
	e, err := cp.Entry(rec.Index, rec.Leaf, proof)
	if err != nil {
		return consent.Proof{}, err
	}
	if e.ExchangeID != exchangeID {
		return consent.Proof{}, fmt.Errorf("the entry at %d names another exchange", rec.Index)
	}
	p.URL += "&size=" + strconv.FormatInt(cp.Size, 10)
	p.Verified = true
	return p, nil
}

// The demonstration's exchange: the benefits office of a demo agency (the
// demo requester of consents) fetches the family status of a citizen from
// the citizens' registry, with the citizen's consent.
var (
	demoConsumer = interop.ClientID{Instance: "GR", Class: "GOV", Member: "DEMO-AGENCY", Subsystem: "BENEFITS"}
	demoRegistry = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "DEMO-REGISTRY", Subsystem: "CITIZENS", Service: "family-status"}
)

// demoProviderPath is where the demonstration registry's service answers,
// behind the provider middleware: the gateway forwards to it.
const demoProviderPath = "/demo/registry"

// seedInteropDemo registers the demonstration registry's service (its
// upstream is this portal, at /demo/registry/), lets the demo requester
// call it as GR/GOV/DEMO-AGENCY/BENEFITS, and serves the service behind
// the provider middleware, which checks the gateway's signatures.
func (a *app) seedInteropDemo(ctx context.Context, mux *http.ServeMux, cfg appConfig, store interop.Store,
	pub ed25519.PublicKey, keyID string) error {
	a.interop.consumers[demoRequesterID] = demoConsumer
	a.interop.sources[demoRegistry.String()] = demoSource
	svc := interop.Service{ID: demoRegistry, Title: interop.Text{El: "Οικογενειακή κατάσταση", En: "Family status"},
		Upstream: cfg.BaseURL + demoProviderPath, ConsentRequired: true, UpdatedBy: "demonstration data",
		Items: []interop.DataItem{
			{Code: "marital_status", Type: interop.ItemCode, Label: interop.Text{El: "Οικογενειακή κατάσταση", En: "Marital status"}},
			{Code: "children", Type: interop.ItemNumber, Label: interop.Text{El: "Αριθμός τέκνων", En: "Number of children"}},
		}}
	old, err := store.Service(ctx, demoRegistry)
	switch {
	case errors.Is(err, interop.ErrNotFound):
		if _, err := store.CreateService(ctx, svc); err != nil && !errors.Is(err, interop.ErrExists) {
			return fmt.Errorf("demo registry service: %w", err)
		}
	case err != nil:
		return fmt.Errorf("demo registry service: %w", err)
	case old.Upstream != svc.Upstream: // the portal listens elsewhere than last time
		old.Upstream = svc.Upstream
		if _, err := store.UpdateService(ctx, old); err != nil {
			return fmt.Errorf("demo registry service: %w", err)
		}
	}
	_, err = store.GrantRight(ctx, interop.Right{Consumer: demoConsumer, Service: demoRegistry, Method: http.MethodGet,
		Path: "/certificate", GrantedBy: "demonstration data"})
	if err != nil && !errors.Is(err, interop.ErrExists) {
		return fmt.Errorf("demo right: %w", err)
	}
	prov, err := newDemoProvider(ctx, pub, keyID, demoRecords(cfg.DemoCitizens))
	if err != nil {
		return err
	}
	// Not stripped: the gateway signed the path as it forwarded it.
	mux.Handle(demoProviderPath+"/", prov)
	if cfg.Journey != nil {
		return a.seedJourney(ctx, cfg, store)
	}
	return nil
}

// demoCertificate answers the demonstration registry's one service:
// the family status of a demo citizen or a generated one (records by tax
// number), to a call the gateway signed.
func demoCertificate(w http.ResponseWriter, r *http.Request, records map[string]registry.Citizen, userID string) {
	p, ok := records[strings.TrimPrefix(userID, "GR")]
	if !ok {
		problem.Write(w, r, problem.New(problem.TypeNotFound, http.StatusNotFound, "the registry holds no such citizen"))
		return
	}
	writeJSON(w, map[string]any{"marital_status": p.MaritalStatus, "children": len(p.Children),
		"issued_by": "Δοκιμαστικό μητρώο πολιτών", "demonstration": true})
}

// demoProviderURL is the demonstration service's URL through the
// gateway, for the README's walkthrough and the tests.
func demoProviderURL(base string) string {
	return base + gatewayPath + "/" + demoRegistry.String() + "/certificate"
}

// newDemoProvider is the demonstration registry: its service behind the
// provider middleware, which accepts only calls the gateway signed with
// its key.
func newDemoProvider(ctx context.Context, pub ed25519.PublicKey, keyID string, people []registry.Citizen) (http.Handler, error) {
	records := make(map[string]registry.Citizen, len(people))
	for _, p := range people {
		records[p.TaxNumber] = p
	}
	p, err := provider.New(ctx, provider.Config{Keys: map[string]crypto.PublicKey{keyID: pub}})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+demoProviderPath+"/certificate", func(w http.ResponseWriter, r *http.Request) {
		c, _ := provider.FromContext(r.Context())
		demoCertificate(w, r, records, c.UserID)
	})
	return p.Middleware(mux), nil
}
