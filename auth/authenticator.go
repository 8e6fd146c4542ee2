package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"rsc.io/qr"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/web"
)

// AuthenticatorHolder is the signed-in person the authenticator pages act
// for: Subject is the account identifier sign-in knows them by (the one
// [TOTPStore] is keyed by, a Citizen's or Servant's ID), Account the name
// their app shows beside the codes (a user name, never a tax number).
type AuthenticatorHolder struct {
	Subject, Account string
}

// AuthenticatorPagesConfig configures [AuthenticatorPages].
type AuthenticatorPagesConfig struct {
	Store *TOTPStore
	// Holder names the signed-in person; an error means nobody is signed
	// in, and the person is sent to SignInURL.
	Holder func(r *http.Request) (AuthenticatorHolder, error)
	// Prefix is the path the pages are mounted at, such as "/account";
	// links and form actions are made from it.
	Prefix string
	// SignInURL is where people who are not signed in go, with
	// ?return=<the page>; empty shows a page asking them to sign in.
	// SignOutURL is where a sign-out button posts; empty shows none.
	SignInURL, SignOutURL string
	// StaticPrefix is the directory the pages link their stylesheet from;
	// empty means Prefix + "/static/", which the handler serves itself.
	// HomeURL is where the brand link leads; empty means "/".
	StaticPrefix, HomeURL string
	Logger                *zap.Logger
}

// AuthenticatorPages serves a person's account page, where they bind an
// authenticator app (a QR code to scan, the key to type by hand, then a
// first code from the app to confirm it) and remove it (after a
// confirmation that asks for a code from the app). Mount it at Prefix
// with http.StripPrefix, behind the sign-in of the site it belongs to;
// the person should have signed in at LoA substantial. Form posts from
// other sites are refused. The pages are in Greek and English and need
// no JavaScript.
func AuthenticatorPages(cfg AuthenticatorPagesConfig) (http.Handler, error) {
	if cfg.Store == nil || cfg.Holder == nil {
		return nil, errors.New("auth: the authenticator pages need a Store and a Holder")
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.StaticPrefix == "" {
		cfg.StaticPrefix = web.StaticPrefixAt(cfg.Prefix)
	}
	if cfg.HomeURL == "" {
		cfg.HomeURL = "/"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	r, err := web.NewRenderer(signinAssets, "templates/*.html",
		web.WithMessages(signinAssets, "messages/*.json"),
		web.WithServiceName("auth.account.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(cfg.Logger),
	)
	if err != nil {
		return nil, err
	}
	a := &authenticatorPages{cfg: cfg, r: r}
	mux := http.NewServeMux()
	mux.Handle("GET "+web.StaticDir, web.Static())
	mux.HandleFunc("GET /{$}", a.signedIn(a.home))
	mux.HandleFunc("POST /authenticator/enrol", a.signedIn(a.enrol))
	mux.HandleFunc("GET /authenticator/confirm", a.signedIn(a.confirmForm))
	mux.HandleFunc("POST /authenticator/confirm", a.signedIn(a.confirm))
	mux.HandleFunc("GET /authenticator/remove", a.signedIn(a.removeForm))
	mux.HandleFunc("POST /authenticator/remove", a.signedIn(a.remove))
	return httpx.Fallbacks(mux, func(w http.ResponseWriter, req *http.Request, status int) {
		r.RenderError(w, req, status, "")
	}), nil
}

type authenticatorPages struct {
	cfg AuthenticatorPagesConfig
	r   *web.Renderer
}

// accountData is what account.html shows; Step is "home", "confirm" or
// "remove".
type accountData struct {
	Prefix, SignOutURL string
	Step               string
	Bound              bool
	Done               string // catalogue key of what has just been done
	QR                 template.URL
	Key                string // the secret, in groups of four, to type by hand
	Error              string // catalogue key
	ErrorArgs          []any
}

func (a *authenticatorPages) signedIn(h func(http.ResponseWriter, *http.Request, AuthenticatorHolder)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		who, err := a.cfg.Holder(r)
		if httpx.UnavailableProblem(err) != nil {
			a.fail(w, r, err)
			return
		}
		if err != nil || who.Subject == "" {
			if a.cfg.SignInURL != "" && r.Method == http.MethodGet {
				http.Redirect(w, r, a.cfg.SignInURL+"?return="+url.QueryEscape(a.cfg.Prefix+r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			a.r.RenderError(w, r, http.StatusUnauthorized, a.r.Text(web.Lang(r), "auth.account.sign_in"))
			return
		}
		if r.Method == http.MethodPost && !httpx.SameOrigin(r) {
			a.r.RenderError(w, r, http.StatusForbidden, a.r.Text(web.Lang(r), "auth.account.cross_site"))
			return
		}
		h(w, r, who)
	}
}

func (a *authenticatorPages) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.ServerErrorStatus(err)
	a.cfg.Logger.Error("account page failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.Error(err))
	a.r.RenderError(w, r, status, "")
}

func (a *authenticatorPages) data(step string) accountData {
	return accountData{Prefix: a.cfg.Prefix, SignOutURL: a.cfg.SignOutURL, Step: step}
}

func (a *authenticatorPages) home(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	bound, err := a.cfg.Store.Has(r.Context(), who.Subject)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := a.data("home")
	d.Bound = bound
	switch r.URL.Query().Get("done") {
	case "bound":
		d.Done = "auth.account.done_bound"
	case "removed":
		d.Done = "auth.account.done_removed"
	}
	a.r.Render(w, r, http.StatusOK, "account.html", d)
}

func (a *authenticatorPages) enrol(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	if _, err := a.cfg.Store.Enroll(r.Context(), who.Subject, who.Account); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.cfg.Prefix+"/authenticator/confirm", http.StatusSeeOther)
}

// showConfirm renders the QR code of the pending enrolment and the form
// for its first code, with errKey when the last code was refused.
func (a *authenticatorPages) showConfirm(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder, status int, errKey string) {
	uri, err := a.cfg.Store.Pending(r.Context(), who.Subject, who.Account)
	if errors.Is(err, ErrNoAuthenticator) {
		// Nothing pending (already confirmed, or never started).
		http.Redirect(w, r, a.cfg.Prefix+"/", http.StatusSeeOther)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	code, err := qr.Encode(uri, qr.M)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	code.Scale = 6
	d := a.data("confirm")
	d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG()))
	if u, err := url.Parse(uri); err == nil {
		d.Key = groupsOfFour(u.Query().Get("secret"))
	}
	d.Error = errKey
	a.r.Render(w, r, status, "account.html", d)
}

func (a *authenticatorPages) confirmForm(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	a.showConfirm(w, r, who, http.StatusOK, "")
}

func (a *authenticatorPages) confirm(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	code, ok := otp.NormalizeCode(r.PostFormValue("code"))
	if !ok {
		a.showConfirm(w, r, who, http.StatusUnprocessableEntity, "auth.error.code_format")
		return
	}
	err := a.cfg.Store.Confirm(r.Context(), who.Subject, code)
	switch {
	case errors.Is(err, ErrAuthenticatorCode):
		a.showConfirm(w, r, who, http.StatusUnprocessableEntity, "auth.account.code_wrong")
	case errors.Is(err, ErrNoAuthenticator):
		http.Redirect(w, r, a.cfg.Prefix+"/", http.StatusSeeOther)
	case err != nil:
		a.fail(w, r, err)
	default:
		http.Redirect(w, r, a.cfg.Prefix+"/?done=bound", http.StatusSeeOther)
	}
}

func (a *authenticatorPages) removeForm(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	bound, err := a.cfg.Store.Has(r.Context(), who.Subject)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !bound {
		http.Redirect(w, r, a.cfg.Prefix+"/", http.StatusSeeOther)
		return
	}
	a.r.Render(w, r, http.StatusOK, "account.html", a.data("remove"))
}

// remove unbinds the app once a code from it shows the person holds it:
// a session left open on a shared computer cannot take it away.
func (a *authenticatorPages) remove(w http.ResponseWriter, r *http.Request, who AuthenticatorHolder) {
	refuse := func(status int, key string, args ...any) {
		d := a.data("remove")
		d.Error, d.ErrorArgs = key, args
		a.r.Render(w, r, status, "account.html", d)
	}
	code, ok := otp.NormalizeCode(r.PostFormValue("code"))
	if !ok {
		refuse(http.StatusUnprocessableEntity, "auth.error.code_format")
		return
	}
	err := a.cfg.Store.Verify(r.Context(), who.Subject, code)
	var rl *RateLimitError
	switch {
	case errors.Is(err, ErrNoAuthenticator):
		http.Redirect(w, r, a.cfg.Prefix+"/", http.StatusSeeOther)
		return
	case errors.Is(err, ErrAuthenticatorCode):
		refuse(http.StatusUnprocessableEntity, "auth.account.code_wrong")
		return
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(rl.RetryAfter)))
		refuse(http.StatusTooManyRequests, "auth.account.locked")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	if err := a.cfg.Store.Remove(r.Context(), who.Subject); err != nil {
		a.fail(w, r, err)
		return
	}
	a.cfg.Logger.Info("authenticator app removed", zap.String("sub", who.Subject))
	http.Redirect(w, r, a.cfg.Prefix+"/?done=removed", http.StatusSeeOther)
}

// groupsOfFour writes a base32 key as people type it: "ABCD EFGH …".
func groupsOfFour(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
