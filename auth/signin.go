package auth

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/web"
)

// Paths of the sign-in endpoints, below the issuer.
const (
	PathAuthorize = "/authorize"
	PathPAR       = "/par"
	PathLogin     = "/login"
	PathLogout    = "/logout"
)

// Sign-in timing.
const (
	// SigninLifetime is how long a person has to finish signing in.
	SigninLifetime = 15 * time.Minute
	// PushedRequestLifetime is how long a request_uri from the PAR
	// endpoint stays usable (RFC 9126).
	PushedRequestLifetime = 60 * time.Second
	// DefaultSessionLifetime is how long a single sign-on session lasts
	// when ProviderConfig.SessionLifetime is zero.
	DefaultSessionLifetime = 8 * time.Hour
)

// Failed sign-ins are counted per account (the user name typed, whether an
// account has it or not, so that locks reveal nothing) and per client
// address. Past the limit the key is locked, and each further failure
// doubles the lock.
var (
	accountThrottle = throttleRule{Limit: 5, Window: time.Hour, Lock: time.Minute, Max: time.Hour}
	addressThrottle = throttleRule{Limit: 100, Window: 15 * time.Minute, Lock: time.Minute, Max: 15 * time.Minute}
)

// passwordBusyRetry is the Retry-After of a sign-in refused because every
// password-hashing slot stayed taken.
const passwordBusyRetry = 5 * time.Second

// RFC 8176 authentication method references.
const (
	amrPassword = "pwd"
	amrSMS      = "sms"
	amrOTP      = "otp"
	amrMFA      = "mfa"
)

//go:embed templates/*.html messages/*.json
var signinAssets embed.FS

// signinEnabled reports whether the provider has what the authorization
// endpoint needs: accounts to check passwords against and a code store.
func (p *Provider) signinEnabled() bool { return p.cfg.Accounts != nil && p.cfg.Codes != nil }

// canReach reports whether a sign-in here can reach the level acr.
func (p *Provider) canReach(acr string) bool {
	switch acr {
	case LoALow:
		return true
	case LoASubstantial:
		return (p.cfg.OneTimeCodes != nil && p.cfg.Contacts != nil) || p.cfg.Authenticators != nil
	}
	return false
}

func (p *Provider) setupSignin(ctx context.Context) error {
	u, err := url.Parse(p.cfg.Issuer)
	if err != nil {
		return err
	}
	p.base = strings.TrimSuffix(u.Path, "/")
	p.secure = u.Scheme == "https"
	pages, err := web.NewRenderer(signinAssets, "templates/*.html",
		web.WithMessages(signinAssets, "messages/*.json"),
		web.WithServiceName("auth.service."+p.realmKey()),
		web.WithStaticPrefix(web.StaticPrefixAt(p.base)),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(p.log),
	)
	if err != nil {
		return err
	}
	p.pages = pages
	if p.store, err = newSigninStore(ctx, p.cfg.Clients.db, p.cfg.Realm, p.cfg.Now); err != nil {
		return err
	}
	if p.cfg.HTTPClient == nil {
		p.cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if p.cfg.SessionLifetime == 0 {
		p.cfg.SessionLifetime = DefaultSessionLifetime
	}
	if p.cfg.ClientIP == nil {
		p.cfg.ClientIP = httpx.RemoteHost
	}
	return nil
}

func (p *Provider) realmKey() string {
	if p.cfg.Servants {
		return "servant"
	}
	return "citizen"
}

func (p *Provider) mountSignin(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathAuthorize, p.authorize)
	mux.HandleFunc("POST "+PathAuthorize, p.authorize)
	mux.HandleFunc("POST "+PathPAR, p.par)
	mux.HandleFunc("GET "+PathLogin, p.loginPage)
	mux.HandleFunc("POST "+PathLogin, p.loginPassword)
	mux.HandleFunc("POST "+PathLogin+"/code", p.loginCode)
	mux.HandleFunc("POST "+PathLogin+"/resend", p.loginResend)
	mux.HandleFunc("POST "+PathLogin+"/cancel", p.loginCancel)
	if len(p.cfg.Upstreams) > 0 {
		mux.HandleFunc("POST "+PathLogin+"/upstream", p.loginUpstream)
		mux.HandleFunc("GET "+PathLogin+"/upstream/callback", p.upstreamCallback)
	}
	mux.HandleFunc("GET "+PathLogout, p.logout)
	mux.HandleFunc("POST "+PathLogout, p.logout)
	mux.Handle("GET "+web.StaticDir, web.Static())
}

// Cookie names carry the realm so that two realms on one host keep their
// sessions apart.
func (p *Provider) sessionCookie() string { return "egovkit_session_" + p.cfg.Realm }
func (p *Provider) bindCookie() string    { return "egovkit_bind_" + p.cfg.Realm }

func (p *Provider) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: p.base + "/", MaxAge: maxAge,
		Secure: p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// browserBinding returns the browser's binding secret, setting one when
// the browser has none.
func (p *Provider) browserBinding(w http.ResponseWriter, r *http.Request) (string, error) {
	if v := cookieValue(r, p.bindCookie()); len(v) >= 43 && len(v) <= 64 {
		return v, nil
	}
	v, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	p.setCookie(w, p.bindCookie(), v, 0)
	return v, nil
}

func (p *Provider) currentSession(r *http.Request) (session, bool, error) {
	return p.store.session(r.Context(), cookieValue(r, p.sessionCookie()))
}

// authorize is the authorization endpoint (OpenID Connect, code flow with
// PKCE). A person with a session good enough for the request goes straight
// back to the client with a code; anyone else is sent to the sign-in pages.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
		if err := r.ParseForm(); err != nil {
			p.pages.RenderError(w, r, http.StatusBadRequest, "")
			return
		}
		q = r.PostForm
	}
	requirePAR := true
	if q.Has("request_uri") {
		params, err := p.store.takeRequest(ctx, q.Get("request_uri"), q.Get("client_id"))
		if errors.Is(err, errNoPushedRequest) {
			p.pages.RenderError(w, r, http.StatusBadRequest, p.text(r, "auth.error.request_uri"))
			return
		}
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		if q, err = url.ParseQuery(params); err != nil {
			p.internalError(w, r, err)
			return
		}
		requirePAR = false
	}
	req, err := ParseAuthorizeRequest(ctx, q, p.cfg.Clients.Get, requirePAR)
	if err != nil {
		p.authorizeFailed(w, r, err)
		return
	}
	need := req.RequiredACR()
	if !p.canReach(need) {
		p.record(r, req.Client.ID, "", need, "unmet_requirements")
		p.redirectError(w, r, req, "unmet_authentication_requirements", "this provider cannot sign people in at the level the client requires")
		return
	}
	sess, ok, err := p.currentSession(r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	fresh := ok && !slices.Contains(req.Prompt, "login") &&
		(req.MaxAge < 0 || p.cfg.Now().Sub(sess.AuthTime) <= time.Duration(req.MaxAge)*time.Second)
	if fresh && loaRank[sess.ACR] >= loaRank[need] {
		p.record(r, req.Client.ID, sess.Subject, sess.ACR, "session")
		p.redirectWithCode(w, r, req, sess)
		return
	}
	if slices.Contains(req.Prompt, "none") {
		code := "login_required"
		if fresh {
			code = "interaction_required"
		}
		p.record(r, req.Client.ID, "", need, code)
		p.redirectError(w, r, req, code, "the person must sign in")
		return
	}
	st := signinState{Params: q.Encode(), Required: need, Step: stepPassword}
	if fresh {
		// Step-up: the person is known and keeps what they proved; only the
		// one-time code is missing.
		st.Subject, st.AMR, st.AuthTime, st.SessionID = sess.Subject, sess.AMR, sess.AuthTime, sess.SID
	}
	bind, err := p.browserBinding(w, r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	id, err := p.store.createSignin(ctx, bind, st, SigninLifetime)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	if fresh {
		if !p.startCode(w, r, id, &st, req, false) {
			return
		}
	}
	target := p.base + PathLogin + "?tx=" + url.QueryEscape(id)
	for _, l := range req.UILocales {
		if l == "el" || l == "en" || strings.HasPrefix(l, "el-") || strings.HasPrefix(l, "en-") {
			target += "&lang=" + l[:2]
			break
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// authorizeFailed answers a refused authorization request: back to the
// client when the client and redirect URI are trusted, on a page otherwise.
func (p *Provider) authorizeFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ae *AuthorizeError
	if !errors.As(err, &ae) {
		p.internalError(w, r, err)
		return
	}
	p.log.Info("authorization request refused", zap.String("realm", p.cfg.Realm), zap.String("error", ae.Code),
		zap.String("description", ae.Description), zap.Bool("redirected", ae.Redirect))
	if u := ae.ErrorURI(p.cfg.Issuer); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Description": ae.Description})
}

func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, code, desc string) {
	e := &AuthorizeError{Code: code, Description: desc, Redirect: true, RedirectURI: req.RedirectURI, State: req.State}
	http.Redirect(w, r, e.ErrorURI(p.cfg.Issuer), http.StatusSeeOther)
}

// redirectWithCode sends the person back to the client with a code for
// the session's sign-in.
func (p *Provider) redirectWithCode(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, sess session) {
	ctx := r.Context()
	code, err := p.cfg.Codes.Create(ctx, Grant{
		ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Subject: sess.Subject, Scopes: req.Scopes,
		Nonce: req.Nonce, ACR: sess.ACR, AMR: sess.AMR, AuthTime: sess.AuthTime, CodeChallenge: req.CodeChallenge,
		SessionID: sess.SID,
	})
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	sub, err := p.subjectFor(ctx, req.Client, sess.Subject)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	if err := p.store.addSessionClient(ctx, sess.SID, req.Client.ID, sub); err != nil {
		p.internalError(w, r, err)
		return
	}
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	v := u.Query()
	v.Set("code", code)
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", p.cfg.Issuer)
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// signinData is what the sign-in pages show.
type signinData struct {
	Action    string // the base path of the sign-in endpoints
	Tx        string
	Client    string // the client's name
	Realm     string
	Username  string
	Mobile    string // masked
	Error     string // catalogue key
	ErrorArgs []any
	ErrorText string // Error translated
	Field     string // the field the error is about
	Expires   int    // minutes a code lives
	TOTP      bool   // the code comes from an authenticator app
	Outbox    string // ProviderConfig.DemoOutboxURL
	Upstreams []upstreamChoice
}

type upstreamChoice struct{ ID, Name string }

func (p *Provider) text(r *http.Request, key string, args ...any) string {
	return p.pages.Text(web.Lang(r), key, args...)
}

// loadSignin reads the sign-in named by the tx form or query field, bound
// to this browser, and its authorization request.
func (p *Provider) loadSignin(w http.ResponseWriter, r *http.Request, id string) (signinState, *AuthorizeRequest, bool) {
	st, err := p.store.signin(r.Context(), id, cookieValue(r, p.bindCookie()))
	if errors.Is(err, errNoSignin) {
		p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Expired": true})
		return st, nil, false
	}
	if err != nil {
		p.internalError(w, r, err)
		return st, nil, false
	}
	q, err := url.ParseQuery(st.Params)
	if err == nil {
		var req *AuthorizeRequest
		// The client may have been disabled or changed since: check again.
		if req, err = ParseAuthorizeRequest(r.Context(), q, p.cfg.Clients.Get, false); err == nil {
			return st, req, true
		}
	}
	p.authorizeFailed(w, r, err)
	return st, nil, false
}

func (p *Provider) renderSignin(w http.ResponseWriter, r *http.Request, status int, id string, st signinState, req *AuthorizeRequest, d signinData) {
	d.Action, d.Tx, d.Client, d.Realm, d.Mobile = p.base+PathLogin, id, req.Client.NameIn(web.Lang(r)), p.realmKey(), st.Mobile
	for _, u := range p.cfg.Upstreams {
		d.Upstreams = append(d.Upstreams, upstreamChoice{ID: u.ID(), Name: u.Name()})
	}
	d.Expires = int(otp.DefaultLifetime / time.Minute)
	d.TOTP = st.Method == methodTOTP
	d.Outbox = p.cfg.DemoOutboxURL
	if d.Error != "" {
		d.ErrorText = p.text(r, d.Error, d.ErrorArgs...)
	}
	page := "signin.html"
	if st.Step == stepCode {
		page = "signin_code.html"
	}
	if r.Method != http.MethodGet {
		// The language links lead to this step's page, not to the form's
		// target.
		r = r.Clone(r.Context())
		r.RequestURI = p.base + PathLogin + "?tx=" + url.QueryEscape(id)
		r.URL.RawQuery = "tx=" + url.QueryEscape(id)
	}
	p.pages.Render(w, r, status, page, d)
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("tx")
	st, req, ok := p.loadSignin(w, r, id)
	if !ok {
		return
	}
	p.renderSignin(w, r, http.StatusOK, id, st, req, signinData{Username: req.LoginHint})
}

// postedSignin reads a sign-in form post and the sign-in it names. A
// sign-in at another step than step ("" for any) is sent to its page.
// When ok is false the answer has been written.
func (p *Provider) postedSignin(w http.ResponseWriter, r *http.Request, step string) (id string, st signinState, req *AuthorizeRequest, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.pages.RenderError(w, r, http.StatusBadRequest, "")
		return "", st, nil, false
	}
	id = r.PostForm.Get("tx")
	if st, req, ok = p.loadSignin(w, r, id); !ok {
		return "", st, nil, false
	}
	if step != "" && st.Step != step {
		http.Redirect(w, r, p.base+PathLogin+"?tx="+url.QueryEscape(id), http.StatusSeeOther)
		return "", st, nil, false
	}
	return id, st, req, true
}

func (p *Provider) loginPassword(w http.ResponseWriter, r *http.Request) {
	id, st, req, ok := p.postedSignin(w, r, stepPassword)
	if !ok {
		return
	}
	ctx := r.Context()
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	password := r.PostForm.Get("password")
	if username == "" || password == "" || len(username) > 200 || len(password) > 1024 {
		p.renderSignin(w, r, http.StatusUnprocessableEntity, id, st, req, signinData{Username: username, Error: "auth.error.missing", Field: "username"})
		return
	}
	// The attempt is counted before the password is checked, so that
	// parallel guesses cannot all pass a check made before any of them
	// failed: at most the limit reach the password.
	type counted struct {
		key  string
		rule throttleRule
	}
	var taken []counted
	giveBack := func() {
		for _, c := range taken {
			if err := p.store.refund(ctx, c.key, c.rule); err != nil {
				p.log.Warn("sign-in attempt not given back", zap.String("realm", p.cfg.Realm), zap.Error(err))
			}
		}
	}
	accountKey, addressKey := "account:"+username, "address:"+p.cfg.ClientIP(r)
	for _, c := range []counted{{addressKey, addressThrottle}, {accountKey, accountThrottle}} {
		wait, err := p.store.attempt(ctx, c.key, c.rule)
		if err != nil {
			giveBack()
			p.internalError(w, r, err)
			return
		}
		if wait > 0 {
			giveBack()
			// The same page whether the account exists or not.
			p.record(r, req.Client.ID, "", "", "throttled")
			w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
			p.renderSignin(w, r, http.StatusTooManyRequests, id, st, req, signinData{Username: username,
				Error: "auth.error.throttled", ErrorArgs: []any{"minutes", minutesCeil(wait)}, Field: "username"})
			return
		}
		taken = append(taken, c)
	}
	subject, err := p.checkPassword(ctx, username, password)
	if errors.Is(err, ErrBadCredentials) {
		p.log.Info("sign-in refused", zap.String("realm", p.cfg.Realm), zap.String("client_id", req.Client.ID),
			zap.String("username", httpx.MaskName(username)), zap.String("client", httpx.MaskIP(r.RemoteAddr)))
		p.renderSignin(w, r, http.StatusUnauthorized, id, st, req, signinData{Username: username, Error: "auth.error.credentials", Field: "password"})
		return
	}
	if err != nil {
		// The password was not checked: the attempt does not count.
		giveBack()
		if errors.Is(err, ErrPasswordBusy) {
			p.record(r, req.Client.ID, "", "", "busy")
			w.Header().Set("Retry-After", fmt.Sprint(int(passwordBusyRetry.Seconds())))
			p.renderSignin(w, r, http.StatusServiceUnavailable, id, st, req, signinData{Username: username, Error: "auth.error.busy", Field: "password"})
			return
		}
		p.internalError(w, r, err)
		return
	}
	if err := p.store.forget(ctx, accountKey); err != nil {
		p.internalError(w, r, err)
		return
	}
	if err := p.store.refund(ctx, addressKey, addressThrottle); err != nil {
		p.internalError(w, r, err)
		return
	}
	st.Subject, st.AMR, st.AuthTime, st.SessionID = subject, []string{amrPassword}, p.cfg.Now(), ""
	if loaRank[st.Required] <= loaRank[LoALow] {
		p.complete(w, r, id, st, req, LoALow)
		return
	}
	if !p.startCode(w, r, id, &st, req, false) {
		return
	}
	http.Redirect(w, r, p.base+PathLogin+"?tx="+url.QueryEscape(id), http.StatusSeeOther)
}

func minutesCeil(d time.Duration) int { return int((d + time.Minute - 1) / time.Minute) }

// checkPassword checks the realm's credentials and returns the subject.
func (p *Provider) checkPassword(ctx context.Context, username, password string) (string, error) {
	if p.cfg.Servants {
		s, err := p.cfg.Accounts.CheckServantPassword(ctx, username, password)
		return s.ID, err
	}
	c, err := p.cfg.Accounts.CheckCitizenPassword(ctx, username, password)
	return c.ID, err
}

func (p *Provider) signinPurpose() string { return "sign-in:" + p.cfg.Realm }

// startCode sends a one-time code to the subject's registered mobile and
// moves the sign-in to the code step. When it cannot, it answers and
// returns false. resend says the person asked for another code: during
// the cool-down that is refused with the wait, while a code sent moments
// ago (from this tab or another) stays the one to type.
func (p *Provider) startCode(w http.ResponseWriter, r *http.Request, id string, st *signinState, req *AuthorizeRequest, resend bool) bool {
	ctx := r.Context()
	if p.cfg.Authenticators != nil && st.Method != methodSMS {
		has, err := p.cfg.Authenticators.Has(ctx, st.Subject)
		if err != nil {
			p.internalError(w, r, err)
			return false
		}
		if has {
			// The app needs nothing sent; SMS stays on offer.
			st.Step, st.Method = stepCode, methodTOTP
			st.Mobile = ""
			if p.cfg.Contacts != nil {
				if c, err := p.cfg.Contacts.Get(ctx, st.Subject); err == nil && c.Mobile != "" {
					st.Mobile = httpx.MaskPhone(c.Mobile)
				}
			}
			if err := p.store.updateSignin(ctx, id, *st); err != nil {
				p.internalError(w, r, err)
				return false
			}
			return true
		}
	}
	if p.cfg.OneTimeCodes == nil {
		p.record(r, req.Client.ID, st.Subject, st.Required, "no_second_factor")
		p.pages.Render(w, r, http.StatusConflict, "signin_error.html", map[string]any{"NoMobile": true, "Client": req.Client.NameIn(web.Lang(r))})
		return false
	}
	st.Method = methodSMS
	contact, err := p.cfg.Contacts.Get(ctx, st.Subject)
	if errors.Is(err, ErrContactNotFound) || (err == nil && contact.Mobile == "") {
		p.record(r, req.Client.ID, st.Subject, st.Required, "no_mobile")
		p.pages.Render(w, r, http.StatusConflict, "signin_error.html", map[string]any{"NoMobile": true, "Client": req.Client.NameIn(web.Lang(r))})
		return false
	}
	if err != nil {
		p.internalError(w, r, err)
		return false
	}
	ch, err := p.cfg.OneTimeCodes.svc.Issue(ctx, otp.Request{
		Subject: st.Subject, Purpose: p.signinPurpose(), Destination: contact.Mobile,
		Description: p.pages.Text("el", "auth.sms.purpose", "client", req.Client.NameIn("el")),
	})
	var oe *otp.Error
	switch {
	case err == nil:
		st.Challenge = ch.ID
	case errors.As(err, &oe) && errors.Is(err, otp.ErrTooSoon):
		// A code went to this phone moments ago, for this sign-in or for
		// another the person started in a second tab. While it is still
		// usable it is the code to type, here as there.
		pending, ok, perr := p.cfg.OneTimeCodes.svc.Pending(ctx, st.Subject, p.signinPurpose())
		if perr != nil {
			p.internalError(w, r, perr)
			return false
		}
		if ok {
			st.Challenge = pending.ID
		}
		st.Step, st.Mobile = stepCode, httpx.MaskPhone(contact.Mobile)
		if err := p.store.updateSignin(ctx, id, *st); err != nil {
			p.internalError(w, r, err)
			return false
		}
		if ok && !resend {
			return true
		}
		d := signinData{Error: "auth.error.code_wait", ErrorArgs: []any{"minutes", minutesCeil(oe.RetryAfter)}}
		if ok {
			d.Error = "auth.error.code_still_good"
		}
		w.Header().Set("Retry-After", fmt.Sprint(int(oe.RetryAfter.Seconds())+1))
		p.renderSignin(w, r, http.StatusTooManyRequests, id, *st, req, d)
		return false
	case errors.As(err, &oe) && errors.Is(err, otp.ErrLockedOut):
		st.Step, st.Mobile = stepCode, httpx.MaskPhone(contact.Mobile)
		if err := p.store.updateSignin(ctx, id, *st); err != nil {
			p.internalError(w, r, err)
			return false
		}
		w.Header().Set("Retry-After", fmt.Sprint(int(oe.RetryAfter.Seconds())+1))
		p.renderSignin(w, r, http.StatusTooManyRequests, id, *st, req, signinData{
			Error: "auth.error.code_wait", ErrorArgs: []any{"minutes", minutesCeil(oe.RetryAfter)}})
		return false
	case errors.Is(err, otp.ErrSendFailed):
		p.renderSignin(w, r, http.StatusServiceUnavailable, id, *st, req, signinData{Error: "auth.error.send_failed"})
		return false
	default:
		p.internalError(w, r, err)
		return false
	}
	st.Step, st.Mobile = stepCode, httpx.MaskPhone(contact.Mobile)
	if err := p.store.updateSignin(ctx, id, *st); err != nil {
		p.internalError(w, r, err)
		return false
	}
	return true
}

func (p *Provider) loginCode(w http.ResponseWriter, r *http.Request) {
	id, st, req, ok := p.postedSignin(w, r, stepCode)
	if !ok {
		return
	}
	ctx := r.Context()
	code, valid := otp.NormalizeCode(r.PostForm.Get("code"))
	if !valid {
		p.renderSignin(w, r, http.StatusUnprocessableEntity, id, st, req, signinData{Error: "auth.error.code_format", Field: "code"})
		return
	}
	if st.Method == methodTOTP {
		p.checkAuthenticator(w, r, id, st, req, code)
		return
	}
	// The code to check is the newest one sent to the person for signing
	// in: a second tab or a resend may have replaced the one this page
	// asked for, and the person types what the phone shows last.
	pending, ok, err := p.cfg.OneTimeCodes.svc.Pending(ctx, st.Subject, p.signinPurpose())
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	replaced := ok && st.Challenge != "" && pending.ID != st.Challenge
	if ok && pending.ID != st.Challenge {
		st.Challenge = pending.ID
		if err := p.store.updateSignin(ctx, id, st); err != nil {
			p.internalError(w, r, err)
			return
		}
	}
	if st.Challenge == "" {
		// No code was ever sent for this sign-in and none is usable now.
		p.renderSignin(w, r, http.StatusUnauthorized, id, st, req, signinData{Error: "auth.error.code_dead", Field: "code"})
		return
	}
	err = p.cfg.OneTimeCodes.svc.Verify(ctx, st.Challenge, st.Subject, p.signinPurpose(), code)
	if err != nil {
		var oe *otp.Error
		d := signinData{Field: "code"}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, otp.ErrInvalidCode) && replaced:
			d.Error = "auth.error.code_replaced"
		case errors.Is(err, otp.ErrInvalidCode):
			d.Error = "auth.error.code_wrong"
		case errors.Is(err, otp.ErrExpired), errors.Is(err, otp.ErrUsed), errors.Is(err, otp.ErrTooManyAttempts):
			d.Error = "auth.error.code_dead"
		case errors.As(err, &oe) && errors.Is(err, otp.ErrLockedOut):
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", fmt.Sprint(int(oe.RetryAfter.Seconds())+1))
			d.Error, d.ErrorArgs = "auth.error.code_wait", []any{"minutes", minutesCeil(oe.RetryAfter)}
		default:
			p.internalError(w, r, err)
			return
		}
		p.log.Info("sign-in code refused", zap.String("realm", p.cfg.Realm), zap.String("client_id", req.Client.ID),
			zap.String("sub", st.Subject), zap.Error(err))
		p.renderSignin(w, r, status, id, st, req, d)
		return
	}
	st.AMR = appendUnique(st.AMR, amrSMS, amrMFA)
	p.complete(w, r, id, st, req, LoASubstantial)
}

func appendUnique(list []string, more ...string) []string {
	out := slices.Clone(list)
	for _, m := range more {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (p *Provider) loginResend(w http.ResponseWriter, r *http.Request) {
	id, st, req, ok := p.postedSignin(w, r, stepCode)
	if !ok {
		return
	}
	st.Method = methodSMS
	if !p.startCode(w, r, id, &st, req, true) {
		return
	}
	http.Redirect(w, r, p.base+PathLogin+"?tx="+url.QueryEscape(id)+"&sent=1", http.StatusSeeOther)
}

func (p *Provider) loginCancel(w http.ResponseWriter, r *http.Request) {
	id, _, req, ok := p.postedSignin(w, r, "")
	if !ok {
		return
	}
	if _, err := p.store.finishSignin(r.Context(), id); err != nil {
		p.internalError(w, r, err)
		return
	}
	p.record(r, req.Client.ID, "", "", "cancelled")
	p.redirectError(w, r, req, "access_denied", "the person cancelled the sign-in")
}

// complete ends a successful sign-in: a new session cookie (never the one
// the browser came with, against session fixation), a code, and back to
// the client.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, id string, st signinState, req *AuthorizeRequest, acr string) {
	ctx := r.Context()
	first, err := p.store.finishSignin(ctx, id)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	if !first {
		p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Expired": true})
		return
	}
	// A session of someone else in this browser ends; a stepped-up session
	// of the same person is replaced and its clients carried over.
	var carry []sessionClient
	var carryFrom string
	if old, ok, err := p.currentSession(r); err != nil {
		p.internalError(w, r, err)
		return
	} else if ok {
		if old.Subject != st.Subject {
			if err := p.endSessionTokens(ctx, old.SID); err != nil {
				p.internalError(w, r, err)
				return
			}
		}
		clients, err := p.store.endSession(ctx, old.SID)
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		if old.Subject == st.Subject {
			carry, carryFrom = clients, old.SID
		} else {
			p.backchannelLogout(ctx, old, clients)
		}
	}
	cookie, sess, err := p.store.createSession(ctx, st.Subject, acr, st.AMR, st.AuthTime, p.cfg.SessionLifetime)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	for _, c := range carry {
		if err := p.store.addSessionClient(ctx, sess.SID, c.ClientID, c.Subject); err != nil {
			p.internalError(w, r, err)
			return
		}
	}
	if carryFrom != "" {
		// The refresh tokens of the replaced session go on with it.
		if err := p.cfg.Codes.Refresh().moveSession(ctx, carryFrom, sess.SID); err != nil {
			p.internalError(w, r, err)
			return
		}
	}
	p.setCookie(w, p.sessionCookie(), cookie, 0)
	p.record(r, req.Client.ID, st.Subject, acr, "success")
	p.redirectWithCode(w, r, req, sess)
}

// record logs an authentication decision and counts a successful one (a
// new sign-in or an existing session that was enough). The subject is the
// account's random identifier; the client address is masked.
func (p *Provider) record(r *http.Request, clientID, subject, acr, outcome string) {
	p.log.Info("authentication", zap.String("realm", p.cfg.Realm), zap.String("client_id", clientID),
		zap.String("sub", subject), zap.String("acr", acr), zap.String("outcome", outcome),
		zap.String("client", httpx.MaskIP(r.RemoteAddr)), zap.String("request_id", httpx.RequestIDFromContext(r.Context())))
	if outcome == "success" || outcome == "session" {
		p.count(CountSignIn, p.cfg.Realm, clientID, acr, ChannelDigital)
	}
}

func (p *Provider) internalError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.ServerErrorStatus(err) // 503, "temporarily unavailable", when the database is
	p.log.Error("sign-in failed", zap.String("realm", p.cfg.Realm), zap.String("request_id", httpx.RequestIDFromContext(r.Context())),
		zap.Int("status", status), zap.Error(err))
	p.pages.RenderError(w, r, status, "")
}

// announceSignin adds the sign-in endpoints and their capabilities to the
// discovery document.
func (p *Provider) announceSignin(doc map[string]any) {
	iss := p.cfg.Issuer
	doc["authorization_endpoint"] = iss + PathAuthorize
	doc["pushed_authorization_request_endpoint"] = iss + PathPAR
	doc["require_pushed_authorization_requests"] = false
	doc["end_session_endpoint"] = iss + PathLogout
	doc["backchannel_logout_supported"] = true
	doc["backchannel_logout_session_supported"] = true
	doc["response_types_supported"] = []string{"code"}
	doc["response_modes_supported"] = []string{"query"}
	doc["code_challenge_methods_supported"] = []string{"S256"}
	doc["authorization_response_iss_parameter_supported"] = true
	doc["subject_types_supported"] = []string{SubjectPublic}
	if len(p.cfg.PairwiseSecret) >= 32 {
		doc["subject_types_supported"] = []string{SubjectPublic, SubjectPairwise}
	}
	doc["prompt_values_supported"] = []string{"none", "login", "consent", "select_account"}
	doc["ui_locales_supported"] = []string{"el", "en"}
	doc["claims_parameter_supported"] = false
	doc["request_parameter_supported"] = false
	acr := []string{LoALow}
	if p.canReach(LoASubstantial) {
		acr = append(acr, LoASubstantial)
	}
	doc["acr_values_supported"] = acr
	claims := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
		"preferred_username", "given_name", "family_name"}
	scopes := []string{"openid", "profile"}
	if p.cfg.Servants {
		claims = append(claims, "authorization_details")
	} else {
		claims = append(claims, "father_name", "mother_name", "birthdate", "afm", "amka")
		scopes = append(scopes, ScopeGreekIdentity)
	}
	if p.cfg.Contacts != nil {
		claims = append(claims, "phone_number", "phone_number_verified")
		scopes = append(scopes, ScopePhone)
	}
	doc["claims_supported"] = claims
	doc["scopes_supported"] = scopes
	doc["id_token_signing_alg_values_supported"] = p.algs
}

// signingAlgs lists the algorithms of the keys published now.
func (p *Provider) signingAlgs(ctx context.Context) []string {
	algs := []string{}
	if set, err := p.cfg.Keys.PublicSet(ctx); err == nil {
		for i := range set.Len() {
			if k, ok := set.Key(i); ok && k.Algorithm().String() != "" && !slices.Contains(algs, k.Algorithm().String()) {
				algs = append(algs, k.Algorithm().String())
			}
		}
	}
	if len(algs) == 0 {
		algs = append(algs, "ES256")
	}
	return algs
}

// checkAuthenticator checks a code from the person's authenticator app.
func (p *Provider) checkAuthenticator(w http.ResponseWriter, r *http.Request, id string, st signinState, req *AuthorizeRequest, code string) {
	err := p.cfg.Authenticators.Verify(r.Context(), st.Subject, code)
	switch {
	case err == nil:
		st.AMR = appendUnique(st.AMR, amrOTP, amrMFA)
		p.complete(w, r, id, st, req, LoASubstantial)
		return
	case errors.Is(err, ErrAuthenticatorCode):
		p.renderSignin(w, r, http.StatusUnauthorized, id, st, req, signinData{Error: "auth.error.code_wrong", Field: "code"})
	case errors.Is(err, ErrAuthenticatorLocked):
		var rl *RateLimitError
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(rl.RetryAfter)))
		}
		p.renderSignin(w, r, http.StatusTooManyRequests, id, st, req, signinData{Error: "auth.error.app_locked", Field: "code"})
	default:
		p.internalError(w, r, err)
	}
}
