package interop_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	store, _ := interop.NewMemoryStore()

	// A provider's service, registered by the centre's operators.
	svc, err := store.CreateService(ctx, interop.Service{
		ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"},
		Title:    interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"},
		Upstream: "https://registry.aade.example/api",
		Items: []interop.DataItem{{Code: "residence_address", Type: interop.ItemText,
			Label: interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"}}},
		ConsentRequired: true,
	})
	if err != nil {
		panic(err)
	}
	// One consumer may read one kind of path.
	consumer, _ := interop.ParseClientID("GR/GOV/DYPA/APP")
	_, err = store.GrantRight(ctx, interop.Right{Consumer: consumer, Service: svc.ID, Method: "GET", Path: "/persons/*/address"})
	if err != nil {
		panic(err)
	}

	authz, err := interop.New(ctx, interop.Config{Store: store})
	if err != nil {
		panic(err)
	}
	defer authz.Close()

	id, rest, _ := interop.ParsePath("/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/123/address")
	d, err := authz.Authorize(ctx, consumer, id, "GET", rest)
	fmt.Println(d.Upstream, d.ConsentRequired, d.Items, err)

	_, err = authz.Authorize(ctx, consumer, id, "DELETE", rest)
	var refusal *interop.Refusal
	fmt.Println(errors.As(err, &refusal), errors.Is(err, interop.ErrForbidden), refusal.XRoadError())
	// Output:
	// https://registry.aade.example/api true [residence_address] <nil>
	// true true Server.ServerProxy.AccessDenied
}

// tokenTable is a TokenVerifier of opaque tokens issued out of band; a
// deployment uses interop.NewJWTVerifier with its issuer's JWK set.
type tokenTable map[string]interop.ClientID

func (tt tokenTable) VerifyToken(_ context.Context, token string) (interop.ClientID, error) {
	c, ok := tt[token]
	if !ok {
		return interop.ClientID{}, interop.ErrToken
	}
	return c, nil
}

// consentFunc is a ConsentChecker; the portal's is package consent.
type consentFunc func(interop.ConsentQuery) interop.ConsentDecision

func (f consentFunc) CheckConsent(_ context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	return f(q), nil
}

// A consumer calls a provider's service through the gateway with an
// X-Road REST request; the provider receives it signed by the gateway,
// and the exchange is in the log.
func ExampleGateway() {
	ctx := context.Background()
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("provider:", r.Method, r.URL.Path, r.Header.Get("X-Road-Client"), r.Header.Get("Egovkit-Consent-Id"),
			r.Header.Get("Signature-Input") != "")
		io.WriteString(w, `{"address":"Οδός Πανεπιστημίου 1"}`)
	}))
	defer provider.Close()

	store, _ := interop.NewMemoryStore()
	svc, _ := store.CreateService(ctx, interop.Service{
		ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"},
		Title:    interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"},
		Upstream: provider.URL + "/api", ConsentRequired: true,
		Items: []interop.DataItem{{Code: "residence_address", Type: interop.ItemText,
			Label: interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"}}},
	})
	consumer, _ := interop.ParseClientID("GR/GOV/DYPA/APP")
	store.GrantRight(ctx, interop.Right{Consumer: consumer, Service: svc.ID, Method: "GET", Path: "/persons/*/address"})
	authz, _ := interop.New(ctx, interop.Config{Store: store})
	defer authz.Close()

	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	logKey, _ := exchangelog.NewSigningKey(ctx, db, []byte("an example key-encryption key 32"), "gateway.example.gov/log")
	xlog, _ := exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: logKey})
	defer xlog.Close()

	_, gatewayKey, _ := ed25519.GenerateKey(rand.Reader)
	gw, err := interop.NewGateway(interop.GatewayConfig{
		Authorizer: authz, Log: xlog, Key: gatewayKey, KeyID: "gateway-1", WaitForLog: true,
		Tokens: tokenTable{"token-of-dypa": consumer},
		Consent: consentFunc(func(q interop.ConsentQuery) interop.ConsentDecision {
			if q.ConsentID == "c-42" && q.Subject == "GR090000045" {
				return interop.ConsentDecision{Allowed: true, ConsentID: q.ConsentID}
			}
			return interop.ConsentDecision{Reason: interop.ConsentUnknown}
		}),
	})
	if err != nil {
		panic(err)
	}
	server := httptest.NewServer(gw)
	defer server.Close()
	defer gw.Close()

	call := func(consentID string) {
		req, _ := http.NewRequest("GET", server.URL+"/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/123/address", nil)
		req.Header.Set("Authorization", "Bearer token-of-dypa")
		req.Header.Set("X-Road-Client", "GR/GOV/DYPA/APP")
		req.Header.Set("X-Road-UserId", "GR090000045")
		req.Header.Set("Egovkit-Consent-Id", consentID)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, res.Header.Get("X-Road-Error"), strings.TrimSpace(string(body))[:12])
	}
	call("c-42")
	call("c-41")

	server.Close() // answers every call; then Close waits for the log
	gw.Close()
	size, _ := xlog.Size(ctx)
	fmt.Println("exchanges logged:", size)
	// Output:
	// provider: GET /api/persons/123/address GR/GOV/DYPA/APP c-42 true
	// 200  {"address":"
	// 403 Server.ServerProxy.ConsentRefused {"consent_re
	// exchanges logged: 2
}
