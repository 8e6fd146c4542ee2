package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/sms"
)

// Demo accounts, created on first run in demo mode and printed at start.
const (
	demoCitizen         = "demo"
	demoCitizenPassword = "demo-password"
	demoServant         = "clerk"
	demoServantPassword = "clerk-password"
	demoApprover        = "chief"
	demoApproverPass    = "chief-password"
	demoCitizenAFM      = "123456783"
	demoMobile          = "+306912345678"
	// The second citizen, so that an authorization the first gives can be
	// seen from both sides.
	demoCitizen2         = "demo2"
	demoCitizen2Password = "demo2-password"
	demoCitizen2AFM      = "987654324"
	demoMobile2          = "+306912345679"
	demoServantMobile    = "+306900000001"
	demoApproverMobile   = "+306900000002"
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
// and the demo approver of procedures (an operator of the exchange
// layer too), and serves the
// development outbox at /dev/outbox, where the codes that would go by SMS
// can be read. Nothing here runs unless demo mode is on.
func (a *app) seedDemo(ctx context.Context, mux *http.ServeMux) error {
	accounts := a.accounts
	for _, c := range []struct {
		citizen          auth.Citizen
		password, mobile string
	}{
		{auth.Citizen{Username: demoCitizen, AFM: demoCitizenAFM, AMKA: "15038501233",
			GivenName: "Μαρία", FamilyName: "Δοκιμαστική", FatherName: "Γεώργιος", MotherName: "Ελένη", BirthDate: "1985-03-15"},
			demoCitizenPassword, demoMobile},
		{auth.Citizen{Username: demoCitizen2, AFM: demoCitizen2AFM, AMKA: "07079012345",
			GivenName: "Γιάννης", FamilyName: "Παράδειγμα", FatherName: "Κωνσταντίνος", MotherName: "Σοφία", BirthDate: "1990-07-07"},
			demoCitizen2Password, demoMobile2},
	} {
		citizen, err := accounts.CreateCitizen(ctx, c.citizen, c.password)
		switch {
		case errors.Is(err, auth.ErrAccountExists):
		case err != nil:
			return fmt.Errorf("demo citizen %s: %w", c.citizen.Username, err)
		default:
			if a.contacts != nil {
				if _, err := a.contacts.ImportMobile(ctx, citizen.ID, c.mobile, "demonstration data"); err != nil {
					return fmt.Errorf("demo citizen %s: %w", c.citizen.Username, err)
				}
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
		if err := a.grantDemo(ctx, approver.ID, interopService, interop.RoleOperator, procedures.RoleApprover); err != nil {
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
	mux.HandleFunc("GET /dev/outbox", a.devOutbox)
	return nil
}

// devOutbox shows the messages that would have gone by SMS, newest
// first: a page for browsers, JSON for anything that does not ask for
// HTML.
func (a *app) devOutbox(w http.ResponseWriter, r *http.Request) {
	msgs := append([]sms.Message{}, a.outbox.All()...)
	slices.Reverse(msgs)
	w.Header().Set("Cache-Control", "no-store")
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeJSON(w, map[string]any{"messages": msgs})
		return
	}
	a.pages.Render(w, r, http.StatusOK, "outbox.html", map[string]any{"Messages": msgs})
}

// demoPeople are the demonstration accounts the home page tells visitors
// how to sign in as, in demo mode.
type demoPerson struct {
	Key, Username, Password, Realm string
}

var demoPeople = []demoPerson{
	{"citizen", demoCitizen, demoCitizenPassword, "citizen"},
	{"citizen2", demoCitizen2, demoCitizen2Password, "citizen"},
	{"clerk", demoServant, demoServantPassword, "servant"},
	{"chief", demoApprover, demoApproverPass, "servant"},
}

// warnDemoData logs, on every start, which demonstration accounts and
// clients with published credentials the database holds, in demo mode or
// not: a database that once ran in demo mode keeps them.
func (a *app) warnDemoData(ctx context.Context, demo bool) error {
	var found []string
	check := func(what, user, password string, c func(context.Context, string, string) error) error {
		err := c(ctx, user, password)
		switch {
		case err == nil:
			found = append(found, what+" "+user+" / "+password)
		case !errors.Is(err, auth.ErrBadCredentials):
			return fmt.Errorf("looking for demonstration data: %w", err)
		}
		return nil
	}
	citizen := func(ctx context.Context, u, p string) error {
		_, err := a.accounts.CheckCitizenPassword(ctx, u, p)
		return err
	}
	servant := func(ctx context.Context, u, p string) error {
		_, err := a.accounts.CheckServantPassword(ctx, u, p)
		return err
	}
	if err := check("citizen", demoCitizen, demoCitizenPassword, citizen); err != nil {
		return err
	}
	if err := check("citizen", demoCitizen2, demoCitizen2Password, citizen); err != nil {
		return err
	}
	// The generated citizens share one password: the first stands for
	// them all.
	if err := check("generated citizens (-demo-citizens)", populationUsername(1)+" …", populationPassword, func(ctx context.Context, _, p string) error {
		return citizen(ctx, populationUsername(1), p)
	}); err != nil {
		return err
	}
	if err := check("procedures editor", demoServant, demoServantPassword, servant); err != nil {
		return err
	}
	if err := check("procedures approver", demoApprover, demoApproverPass, servant); err != nil {
		return err
	}
	for _, realm := range realms {
		clients := a.citizenClients
		if realm == "servant" {
			clients = a.servantClients
		}
		for id, secret := range map[string]string{demoClientID: demoClientSecret, demoRequesterID: demoRequesterSecret, journeyAgencyClient: journeyAgencySecret} {
			_, err := clients.Get(ctx, id)
			switch {
			case err == nil:
				found = append(found, "client "+id+" / "+secret+" in realm "+realm)
			case !errors.Is(err, auth.ErrClientNotFound):
				return fmt.Errorf("looking for demonstration data: %w", err)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	fields := []zap.Field{zap.Strings("published_credentials", found), zap.Bool("demo_mode", demo)}
	if a.outbox != nil {
		fields = append(fields, zap.String("outbox", "/dev/outbox"))
	}
	a.log.Warn("this database holds demonstration accounts with published passwords: never let real people use it", fields...)
	return nil
}
