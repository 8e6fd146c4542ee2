package interop_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/interop"
)

// consentAdapter is how a program that wires both blocks (the portal)
// lets package consent answer the gateway: interop imports no consent
// store, and only this test, outside the package, joins them.
type consentAdapter struct{ svc *consent.Service }

func (a consentAdapter) CheckConsent(ctx context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	d, err := a.svc.Check(ctx, consent.CheckRequest{
		Requester:  consent.Requester{Organisation: q.Consumer.MemberID().String(), Client: q.Consumer.String()},
		TaxNumber:  strings.TrimPrefix(q.Subject, "GR"),
		Source:     consent.Source{Registry: q.Service.Provider().String(), Service: q.Service.Service},
		Items:      q.Items,
		Purpose:    q.Purpose,
		ExchangeID: q.ExchangeID,
	})
	if err != nil {
		return interop.ConsentDecision{}, err
	}
	return interop.ConsentDecision{Allowed: d.Allowed, ConsentID: d.ConsentID, Reason: interop.ConsentReason(d.Reason)}, nil
}

// TestGatewayWithConsentPackage: a citizen approves a consent in package
// consent, the gateway's call uses it and the citizen's access log names
// the exchange, whose inclusion in the exchange log is proved; after the
// citizen withdraws, the next call is refused.
func TestGatewayWithConsentPackage(t *testing.T) {
	ctx := context.Background()
	svc, err := consent.New(ctx, consent.Config{Store: consent.NewMemoryStore(), SubjectKey: []byte("32 random bytes, kept elsewhere!")})
	require.NoError(t, err)
	rg := newRigWith(t, nil, func(cfg *interop.GatewayConfig) {
		cfg.Consent = consentAdapter{svc}
		cfg.WaitForLog = true
	})

	maria := consent.Citizen{TaxNumber: "090000045", Session: "s-1", LoA: consent.LoASubstantial}
	address := rg.services["address"]
	r, err := svc.Request(ctx, consent.Requester{Organisation: dypa.MemberID().String(), Client: dypa.String()}, consent.Draft{
		TaxNumber:  maria.TaxNumber,
		Source:     consent.Source{Registry: address.Provider().String(), Service: address.Service},
		Items:      []consent.Item{{ID: "residence_address", Type: "string"}},
		Purpose:    consent.Purpose{Code: "unemployment-benefit", Text: consent.Text{EL: "Επίδομα ανεργίας", EN: "Unemployment benefit"}},
		LegalBasis: "GDPR art. 6(1)(a)", ValidUntil: time.Now().Add(24 * time.Hour), MaxUses: consent.Unlimited,
	})
	require.NoError(t, err)
	_, err = svc.Approve(ctx, maria, r.ID, consent.NoticeOf("Η ΔΥΠΑ ζητά τη διεύθυνσή σας", "el"))
	require.NoError(t, err)

	headers := []string{"X-Road-UserId", "GR090000045", "X-Road-Issue", "unemployment-benefit"}
	res := rg.call(t, "GET", addressPath, nil, headers...)
	require.Equal(t, http.StatusOK, res.StatusCode)
	id := res.Header.Get("X-Road-Request-Id")
	assert.Equal(t, r.ID, (<-rg.seen).ConsentID, "the provider is told the consent the checker found")

	page, err := svc.AccessLog(ctx, maria, consent.LogQuery{})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, id, page.Entries[0].ExchangeID)
	e := rg.proves(t, rg.logged(t, page.Entries[0].ExchangeID))
	assert.Equal(t, r.ID, e.ConsentID)

	_, err = svc.Withdraw(ctx, maria, r.ID)
	require.NoError(t, err)
	res = rg.call(t, "GET", addressPath, nil, headers...)
	p := checkProblem(t, res, http.StatusForbidden, interop.TypeConsentRefused, "Server.ServerProxy.ConsentRefused")
	assert.Equal(t, "withdrawn", p["consent_reason"])
}
