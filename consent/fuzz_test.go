package consent_test

import (
	"errors"
	"testing"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/testclock"
)

// FuzzCheck: whatever a gateway sends, Check answers a decision or a
// typed error of kind Invalid, never panics, and allows nothing that no
// consent covers.
func FuzzCheck(f *testing.F) {
	f.Add("efka", "efka-portal", maria, "civil-registry", "family-status", "marital_status", "child-benefit", "x-1")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("efka", "efka-portal", "EL 090000045", "civil-registry", "family-status", "marital_status\x00", "child-benefit", "x")
	f.Add("\xff", "c", "123456783", "r", "s", "i", "p", "x")
	clock := testclock.New()
	svc, err := consent.New(f.Context(), consent.Config{Store: consent.NewMemoryStore(), SubjectKey: key, Clock: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	d := draft(clock)
	d.TaxNumber = ""
	d.MaxUses = consent.Unlimited
	if _, err := svc.Give(f.Context(), citizen, agency, d, notice); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, org, client, afm, registry, service, item, purpose, exchange string) {
		q := consent.CheckRequest{Requester: consent.Requester{Organisation: org, Client: client}, TaxNumber: afm,
			Source: consent.Source{Registry: registry, Service: service}, Items: []string{item}, Purpose: purpose, ExchangeID: exchange}
		dec, err := svc.Check(t.Context(), q)
		if err != nil {
			var ie *consent.InvalidError
			if !errors.Is(err, errkind.Invalid) || !errors.As(err, &ie) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		covered := org == agency.Organisation && client == agency.Client && registry == source.Registry &&
			service == source.Service && purpose == d.Purpose.Code && (item == "marital_status" || item == "children")
		if dec.Allowed && !covered {
			t.Fatalf("allowed without a consent: %+v", q)
		}
	})
}
