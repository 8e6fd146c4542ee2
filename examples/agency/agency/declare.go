package agency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/page"
)

// The last step of an application: the citizen declares, under Law
// 1599/1986 article 8, that what the application says is true. The
// agency issues the solemn declaration itself, with package
// declaration over its own database: a draft with the agency as
// recipient, a one-time code sent to the mobile number the provider has
// verified, and on confirmation a protocol number of the agency's, a
// verification code and a PDF with a QR code that leads to /verify.

// declarationDraft is what the citizen declares for app, in lang.
type declarationDraft struct{ Recipient, Text string }

func (a *agency) declarationText(lang string, app *application) declarationDraft {
	return declarationDraft{Recipient: a.pages.Text(lang, "agency.service"),
		Text: a.pages.Text(lang, "agency.decl.text", "id", app.ID)}
}

// declarable returns the application if the citizen may declare for it
// now: it may be signed for (signable) and no declaration was issued
// yet. Otherwise it answers the request.
func (a *agency) declarable(w http.ResponseWriter, r *http.Request) (*application, declaration.Person, bool) {
	app, person, ok := a.signable(w, r)
	if ok && app.DeclarationNumber != "" { // issued meanwhile, by another tab
		http.Redirect(w, r, "/applications/"+app.ID+"#declaration", http.StatusSeeOther)
		return nil, declaration.Person{}, false
	}
	return app, person, ok
}

// signable returns the signed-in citizen's application and the citizen
// as the provider knows her, if she may sign documents for it now: its
// certificate is in, fetched or uploaded. Otherwise it answers the
// request.
func (a *agency) signable(w http.ResponseWriter, r *http.Request) (*application, declaration.Person, bool) {
	app, ok := a.owned(w, r, r.PathValue("id"))
	if !ok {
		return nil, declaration.Person{}, false
	}
	if app.State != stateComplete && app.State != stateUploaded {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return nil, declaration.Person{}, false
	}
	s, _ := rp.SessionFromContext(r.Context())
	person, err := a.provider.person(r.Context(), s.AccessToken)
	if err != nil {
		a.log.Warn("userinfo failed", zap.Error(err))
		a.pages.RenderError(w, r, http.StatusBadGateway, a.pages.Text(page.Lang(r), "agency.no_tax_number"))
		return nil, declaration.Person{}, false
	}
	if person.AFM != app.TaxNumber {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return nil, declaration.Person{}, false
	}
	return app, person, true
}

// declare writes the declaration's draft, once, and sends the code that
// signs it; posted again, it sends a new code.
func (a *agency) declare(w http.ResponseWriter, r *http.Request) {
	app, person, ok := a.declarable(w, r)
	if !ok {
		return
	}
	if person.Mobile == "" {
		a.renderApp(w, r, app, http.StatusUnprocessableEntity, "agency.decl.no_mobile")
		return
	}
	ctx := r.Context()
	if app.DeclarationID != "" {
		_, err := a.decl.RequestCode(ctx, person, app.DeclarationID)
		if err == nil || !(errors.Is(err, declaration.ErrExpired) || errors.Is(err, declaration.ErrNotFound)) {
			a.codeSent(w, r, app, err)
			return
		}
		// The draft expired, or was purged: write it again.
	}
	d := a.declarationText(page.Lang(r), app)
	doc, err := a.decl.Create(ctx, person, declaration.Draft{Kind: declaration.KindSolemn, Lang: page.Lang(r),
		Recipient: d.Recipient, Text: d.Text})
	if err != nil {
		a.declarationFailed(w, r, app, err)
		return
	}
	app.DeclarationID = doc.ID
	if taken, err := a.apps.update(ctx, app, app.State); err != nil || !taken {
		if err == nil {
			err = errors.New("the application changed meanwhile")
		}
		a.declarationFailed(w, r, app, err)
		return
	}
	_, err = a.decl.RequestCode(ctx, person, doc.ID)
	a.codeSent(w, r, app, err)
}

// codeSent answers a request for a code: back to the application, which
// now asks for it, or the reason none was sent.
func (a *agency) codeSent(w http.ResponseWriter, r *http.Request, app *application, err error) {
	var de *declaration.Error
	switch {
	case err == nil:
		http.Redirect(w, r, "/applications/"+app.ID+"#declaration", http.StatusSeeOther)
	case errors.As(err, &de) && de.RetryAfter > 0:
		w.Header().Set("Retry-After", retryAfter(de.RetryAfter))
		a.renderApp(w, r, app, http.StatusTooManyRequests, "agency.decl.too_soon")
	default:
		a.declarationFailed(w, r, app, err)
	}
}

// confirmDeclaration issues the declaration with the code the citizen
// received.
func (a *agency) confirmDeclaration(w http.ResponseWriter, r *http.Request) {
	app, person, ok := a.declarable(w, r)
	if !ok {
		return
	}
	if app.DeclarationID == "" {
		http.Redirect(w, r, "/applications/"+app.ID+"#declaration", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	doc, ref, err := a.confirmCode(ctx, person, app.DeclarationID, r.PostFormValue("code"))
	switch {
	case err != nil:
		a.declarationFailed(w, r, app, err)
		return
	case ref != nil && ref.expired:
		app.DeclarationID = ""
		if _, err := a.apps.update(ctx, app, app.State); err != nil {
			a.unavailable(w, r, err)
			return
		}
		a.renderApp(w, r, app, ref.status, "agency.decl.expired")
		return
	case ref != nil:
		ref.header(w)
		a.renderApp(w, r, app, ref.status, ref.key)
		return
	}
	app.DeclarationNumber, app.DeclarationCode = doc.Protocol, doc.Code
	if _, err := a.apps.update(ctx, app, app.State); err != nil {
		a.unavailable(w, r, err)
		return
	}
	http.Redirect(w, r, "/applications/"+app.ID+"#declaration", http.StatusSeeOther)
}

// refusal is a code the confirmation did not take: the answer's status,
// the message that says why, and the wait it asks for; expired says the
// draft is gone and must be written again.
type refusal struct {
	status  int
	key     string
	wait    time.Duration
	expired bool
}

// header sets Retry-After when the refusal asks for a wait.
func (f *refusal) header(w http.ResponseWriter) {
	if f.wait > 0 {
		w.Header().Set("Retry-After", retryAfter(f.wait))
	}
}

// confirmCode issues the draft id with the code the citizen typed. It
// returns the issued document, or the refusal to show her; err is a
// failure of the service.
func (a *agency) confirmCode(ctx context.Context, person declaration.Person, id, code string) (*declaration.Document, *refusal, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, &refusal{status: http.StatusUnprocessableEntity, key: "agency.decl.no_code"}, nil
	}
	doc, err := a.decl.Confirm(ctx, person, id, code)
	if errors.Is(err, declaration.ErrState) {
		// Issued already, by a confirmation whose answer was lost.
		if d, gerr := a.decl.Get(ctx, person, id); gerr == nil && d.State == declaration.StateIssued {
			doc, err = d, nil
		}
	}
	var de *declaration.Error
	switch {
	case err == nil:
		return doc, nil, nil
	case errors.As(err, &de) && de.RetryAfter > 0:
		return nil, &refusal{status: http.StatusTooManyRequests, key: "agency.decl.too_many", wait: de.RetryAfter}, nil
	case errors.Is(err, declaration.ErrCode):
		return nil, &refusal{status: http.StatusUnprocessableEntity, key: "agency.decl.bad_code"}, nil
	case errors.Is(err, declaration.ErrExpired) || errors.Is(err, declaration.ErrNotFound):
		return nil, &refusal{status: http.StatusUnprocessableEntity, expired: true}, nil
	default:
		return nil, nil, err
	}
}

// declarationPDF serves the issued declaration as a PDF with its QR
// code, drawn on the first download and the same bytes after.
func (a *agency) declarationPDF(w http.ResponseWriter, r *http.Request) {
	app, ok := a.owned(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if app.DeclarationNumber == "" {
		a.pages.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	a.servePDF(w, r, app, app.DeclarationID, "declaration")
}

// servePDF serves the application's issued document id as a PDF named
// after its kind and protocol number. The application's owner is the
// declarant: the document is hers.
func (a *agency) servePDF(w http.ResponseWriter, r *http.Request, app *application, id, name string) {
	doc, err := a.decl.Get(r.Context(), declaration.Person{AFM: app.TaxNumber}, id)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	b, err := a.decl.PDF(r.Context(), doc)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	sum := sha256.Sum256(b)
	w.Header().Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:])+`"`)
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-`+strings.ReplaceAll(doc.Protocol, "/", "-")+`.pdf"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// declarationFailed answers a declaration that could not be written or
// sent: the database or the SMS gateway did not answer.
func (a *agency) declarationFailed(w http.ResponseWriter, r *http.Request, app *application, err error) {
	a.log.Warn("declaration failed", zap.String("application", app.ID), zap.Error(err))
	w.Header().Set("Retry-After", "30")
	a.renderApp(w, r, app, http.StatusServiceUnavailable, "agency.decl.failed")
}

func retryAfter(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
