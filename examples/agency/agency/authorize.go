package agency

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/page"
)

// Beside the solemn declaration, an application may carry an
// authorization: the citizen empowers another person, by tax number and
// name, to follow the application at the City and receive its decision
// for her, until a date she chooses. The agency issues it with package
// declaration like the declaration, signed with a code sent to her
// mobile, with its own protocol number, verification code and PDF.

// authorization is an application's authorization: a draft waiting for
// its code, or an issued document.
type authorization struct {
	DocumentID  string
	GranteeAFM  string
	GranteeName string
	ValidUntil  time.Time
	// Number and Code are the protocol number and verification code,
	// once issued.
	Number, Code string
}

// Until is the last day of the authorization, as people read a day.
func (z *authorization) Until() string { return z.ValidUntil.Format("02/01/2006") }

// maxAuthorization is how far ahead an authorization may end.
const maxAuthorization = 366 * 24 * time.Hour

// authzForm is what the citizen typed, and what is wrong with it by
// field (message keys).
type authzForm struct {
	AFM, Name, Until string
	Errors           map[string]string
}

// authorizationText is what the grantee may do, in lang.
func (a *agency) authorizationText(lang string, app *application, afm, name string) string {
	return a.pages.Text(lang, "agency.authz.text", "name", name, "afm", afm, "id", app.ID)
}

// authorize writes the authorization's draft from the form, replacing a
// draft not yet signed, and sends the code that signs it.
func (a *agency) authorize(w http.ResponseWriter, r *http.Request) {
	app, person, ok := a.signable(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	current, err := a.apps.authorization(ctx, app.ID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if current != nil && current.Number != "" {
		http.Redirect(w, r, "/applications/"+app.ID+"#authorization", http.StatusSeeOther)
		return
	}
	f := authzForm{AFM: strings.TrimSpace(r.PostFormValue("grantee_afm")), Name: strings.TrimSpace(r.PostFormValue("grantee_name")),
		Until: strings.TrimSpace(r.PostFormValue("valid_until")), Errors: map[string]string{}}
	now := time.Now().UTC()
	until, err := time.Parse(time.DateOnly, f.Until)
	switch {
	case f.Until == "" || err != nil:
		f.Errors["valid_until"] = "agency.authz.bad_until"
	case !until.After(now) || until.Sub(now) > maxAuthorization:
		f.Errors["valid_until"] = "agency.authz.until_range"
	}
	switch {
	case f.AFM == "":
		f.Errors["grantee_afm"] = "agency.authz.no_afm"
	case f.AFM == person.AFM:
		f.Errors["grantee_afm"] = "agency.authz.own_afm"
	}
	if f.Name == "" {
		f.Errors["grantee_name"] = "agency.authz.no_name"
	}
	if person.Mobile == "" {
		a.renderAuthz(w, r, app, http.StatusUnprocessableEntity, f, "agency.decl.no_mobile")
		return
	}
	if len(f.Errors) > 0 {
		a.renderAuthz(w, r, app, http.StatusUnprocessableEntity, f, "")
		return
	}
	lang := page.Lang(r)
	// The last second of the chosen day.
	until = until.Add(24*time.Hour - time.Second)
	doc, err := a.decl.Create(ctx, person, declaration.Draft{Kind: declaration.KindAuthorization, Lang: lang,
		Recipient: a.pages.Text(lang, "agency.service"), Text: a.authorizationText(lang, app, f.AFM, f.Name),
		Grantee: &declaration.Party{AFM: f.AFM, Name: f.Name}, ValidUntil: until})
	var invalid *declaration.InvalidError
	if errors.As(err, &invalid) {
		for _, fe := range invalid.Fields {
			switch {
			case strings.HasPrefix(fe.Pointer, "/grantee/afm"):
				f.Errors["grantee_afm"] = "agency.authz.bad_afm"
			case strings.HasPrefix(fe.Pointer, "/grantee/name"):
				f.Errors["grantee_name"] = "agency.authz.bad_name"
			case strings.HasPrefix(fe.Pointer, "/valid_until"):
				f.Errors["valid_until"] = "agency.authz.until_range"
			default:
				a.log.Warn("authorization refused", zap.String("application", app.ID), zap.String("field", fe.Pointer))
				a.renderAuthz(w, r, app, http.StatusUnprocessableEntity, f, "agency.authz.failed")
				return
			}
		}
		a.renderAuthz(w, r, app, http.StatusUnprocessableEntity, f, "")
		return
	}
	if err != nil {
		a.authzFailed(w, r, app, f, err)
		return
	}
	z := &authorization{DocumentID: doc.ID, GranteeAFM: doc.Draft.Grantee.AFM, GranteeName: doc.Draft.Grantee.Name, ValidUntil: until}
	if err := a.apps.putAuthorization(ctx, app.ID, z); errors.Is(err, errAuthorizationIssued) {
		http.Redirect(w, r, "/applications/"+app.ID+"#authorization", http.StatusSeeOther)
		return
	} else if err != nil {
		a.authzFailed(w, r, app, f, err)
		return
	}
	_, err = a.decl.RequestCode(ctx, person, doc.ID)
	a.authzCodeSent(w, r, app, err)
}

// authorizationCode sends a new code for the draft waiting for one.
func (a *agency) authorizationCode(w http.ResponseWriter, r *http.Request) {
	app, person, z, ok := a.pendingAuthorization(w, r)
	if !ok {
		return
	}
	_, err := a.decl.RequestCode(r.Context(), person, z.DocumentID)
	if errors.Is(err, declaration.ErrExpired) || errors.Is(err, declaration.ErrNotFound) {
		a.renderAuthz(w, r, app, http.StatusUnprocessableEntity, a.formOf(z), "agency.authz.expired")
		return
	}
	a.authzCodeSent(w, r, app, err)
}

// confirmAuthorization issues the authorization with the code the
// citizen received.
func (a *agency) confirmAuthorization(w http.ResponseWriter, r *http.Request) {
	app, person, z, ok := a.pendingAuthorization(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	doc, ref, err := a.confirmCode(ctx, person, z.DocumentID, r.PostFormValue("code"))
	switch {
	case err != nil:
		a.authzFailed(w, r, app, authzForm{}, err)
		return
	case ref != nil && ref.expired:
		a.renderAuthz(w, r, app, ref.status, a.formOf(z), "agency.authz.expired")
		return
	case ref != nil:
		ref.header(w)
		a.renderAuthz(w, r, app, ref.status, authzForm{}, ref.key)
		return
	}
	z.Number, z.Code = doc.Protocol, doc.Code
	if err := a.apps.putAuthorization(ctx, app.ID, z); err != nil {
		a.unavailable(w, r, err)
		return
	}
	http.Redirect(w, r, "/applications/"+app.ID+"#authorization", http.StatusSeeOther)
}

// pendingAuthorization returns the application whose authorization waits
// for its code; otherwise it answers the request.
func (a *agency) pendingAuthorization(w http.ResponseWriter, r *http.Request) (*application, declaration.Person, *authorization, bool) {
	app, person, ok := a.signable(w, r)
	if !ok {
		return nil, person, nil, false
	}
	z, err := a.apps.authorization(r.Context(), app.ID)
	if err != nil {
		a.unavailable(w, r, err)
		return nil, person, nil, false
	}
	if z == nil || z.Number != "" {
		http.Redirect(w, r, "/applications/"+app.ID+"#authorization", http.StatusSeeOther)
		return nil, person, nil, false
	}
	return app, person, z, true
}

// formOf is the form filled in again from a draft, for a citizen whose
// draft expired: she sends it again as it was.
func (a *agency) formOf(z *authorization) authzForm {
	return authzForm{AFM: z.GranteeAFM, Name: z.GranteeName, Until: z.ValidUntil.Format(time.DateOnly)}
}

// authzCodeSent answers a request for a code: back to the application,
// which now asks for it, or the reason none was sent.
func (a *agency) authzCodeSent(w http.ResponseWriter, r *http.Request, app *application, err error) {
	var de *declaration.Error
	switch {
	case err == nil:
		http.Redirect(w, r, "/applications/"+app.ID+"#authorization", http.StatusSeeOther)
	case errors.As(err, &de) && de.RetryAfter > 0:
		w.Header().Set("Retry-After", retryAfter(de.RetryAfter))
		a.renderAuthz(w, r, app, http.StatusTooManyRequests, authzForm{}, "agency.decl.too_soon")
	default:
		a.authzFailed(w, r, app, authzForm{}, err)
	}
}

// authzFailed answers an authorization that could not be written or
// sent: the database or the SMS gateway did not answer.
func (a *agency) authzFailed(w http.ResponseWriter, r *http.Request, app *application, f authzForm, err error) {
	a.log.Warn("authorization failed", zap.String("application", app.ID), zap.Error(err))
	w.Header().Set("Retry-After", "30")
	a.renderAuthz(w, r, app, http.StatusServiceUnavailable, f, "agency.authz.failed")
}

// renderAuthz shows the application with the authorization's form as
// typed, its errors beside their fields, and problemKey above it.
func (a *agency) renderAuthz(w http.ResponseWriter, r *http.Request, app *application, status int, f authzForm, problemKey string) {
	a.renderAppWith(w, r, app, status, map[string]any{"AuthzForm": f, "AuthzError": problemKey})
}

// authorizationPDF serves the issued authorization as a PDF with its QR
// code.
func (a *agency) authorizationPDF(w http.ResponseWriter, r *http.Request) {
	app, ok := a.owned(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	z, err := a.apps.authorization(r.Context(), app.ID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if z == nil || z.Number == "" {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	a.servePDF(w, r, app, z.DocumentID, "authorization")
}
