package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/procedures"
)

// Demo accounts, created on first run in demo mode and printed at start.
const (
	demoCitizen         = "demo"
	demoCitizenPassword = "demo-password"
	demoServant         = "clerk"
	demoServantPassword = "clerk-password"
	demoApprover        = "chief"
	demoApproverPass    = "chief-password"
	demoMobile          = "+306912345678"
	demoServantMobile   = "+306900000001"
	demoApproverMobile  = "+306900000002"
)

// otpSecret derives the one-time-code secret from the key-encryption key,
// so that the data directory holds one secret, not two.
func otpSecret(kek []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, kek, nil, "egovkit one-time codes v1", 32)
}

// grantDemo gives a demo servant a role in the registry of procedures
// and, when service is set, one more authorization, for a year.
func (a *app) grantDemo(ctx context.Context, servantID, service, role, proceduresRole string) error {
	until := time.Now().AddDate(1, 0, 0)
	if service != "" {
		if _, err := a.accounts.Grant(ctx, auth.Authorization{ServantID: servantID, Agency: "Demo municipality",
			Service: service, Role: role, GrantedBy: "demonstration data", ValidUntil: until}); err != nil {
			return err
		}
	}
	_, err := a.accounts.Grant(ctx, auth.Authorization{ServantID: servantID, Agency: "Demo ministry",
		Service: proceduresService, Role: proceduresRole, GrantedBy: "demonstration data", ValidUntil: until})
	return err
}

// seedDemo creates the demo citizen (with a mobile number in the contact
// registry), the demo servant (a registrar, and an editor of procedures)
// and the demo approver of procedures, and serves the
// development outbox at /dev/outbox, where the codes that would go by SMS
// can be read. Nothing here runs unless demo mode is on.
func (a *app) seedDemo(ctx context.Context, mux *http.ServeMux) error {
	accounts := a.accounts
	citizen, err := accounts.CreateCitizen(ctx, auth.Citizen{
		Username: demoCitizen, AFM: "123456783", AMKA: "15038501233",
		GivenName: "Μαρία", FamilyName: "Δοκιμαστική", FatherName: "Γεώργιος", MotherName: "Ελένη", BirthDate: "1985-03-15",
	}, demoCitizenPassword)
	switch {
	case errors.Is(err, auth.ErrAccountExists):
	case err != nil:
		return fmt.Errorf("demo citizen: %w", err)
	default:
		if a.contacts != nil {
			if _, err := a.contacts.ImportMobile(ctx, citizen.ID, demoMobile, "demonstration data"); err != nil {
				return fmt.Errorf("demo citizen: %w", err)
			}
		}
	}
	servant, err := accounts.CreateServant(ctx, auth.Servant{Username: demoServant, GivenName: "Νίκος", FamilyName: "Υπάλληλος"}, demoServantPassword)
	switch {
	case errors.Is(err, auth.ErrAccountExists):
	case err != nil:
		return fmt.Errorf("demo servant: %w", err)
	default:
		if err := a.grantDemo(ctx, servant.ID, "protocol", "registrar", procedures.RoleEditor); err != nil {
			return fmt.Errorf("demo servant: %w", err)
		}
		if a.contacts != nil {
			if _, err := a.contacts.ImportMobile(ctx, servant.ID, demoServantMobile, "demonstration data"); err != nil {
				return fmt.Errorf("demo servant: %w", err)
			}
		}
	}
	approver, err := accounts.CreateServant(ctx, auth.Servant{Username: demoApprover, GivenName: "Ελένη", FamilyName: "Προϊσταμένη"}, demoApproverPass)
	switch {
	case errors.Is(err, auth.ErrAccountExists):
	case err != nil:
		return fmt.Errorf("demo approver: %w", err)
	default:
		if err := a.grantDemo(ctx, approver.ID, "", "", procedures.RoleApprover); err != nil {
			return fmt.Errorf("demo approver: %w", err)
		}
		if a.contacts != nil {
			if _, err := a.contacts.ImportMobile(ctx, approver.ID, demoApproverMobile, "demonstration data"); err != nil {
				return fmt.Errorf("demo approver: %w", err)
			}
		}
	}
	if a.outbox == nil {
		return nil
	}
	mux.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		msgs := append([]auth.SMS{}, a.outbox.All()...)
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i] // newest first
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"messages": msgs})
	})
	a.log.Warn("demo mode: demonstration accounts with published passwords exist; start with -demo=false on a real server",
		zap.String("citizen", demoCitizen+" / "+demoCitizenPassword),
		zap.String("servant", demoServant+" / "+demoServantPassword),
		zap.String("procedures_editor", demoServant), zap.String("procedures_approver", demoApprover+" / "+demoApproverPass),
		zap.String("outbox", "/dev/outbox"))
	return nil
}
