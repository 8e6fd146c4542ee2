package declaration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// APIConfig configures the JSON API.
type APIConfig struct {
	Service *Service
	// Declarant identifies the signed-in person, for example from a
	// citizen's access token; an error means nobody is signed in. Nil
	// leaves only the public endpoints.
	Declarant func(r *http.Request) (Person, error)
	// ClientAddr gives the address verification is limited by; nil means
	// the connection's address.
	ClientAddr func(r *http.Request) string
	Logger     *zap.Logger
}

// APIHandler serves the service as JSON (mount it below a prefix with
// http.StripPrefix):
//
//	GET  /verify?code=…                   check a code (public, limited per address)
//	GET  /jwks.json                       the keys documents are signed with (public)
//	GET  /templates                       the agency's templates (public)
//	GET  /statuslist                      revocations of the SD-JWT VCs (Token Status List, public)
//	GET  /documents                       the declarant's documents
//	POST /documents                       write a draft
//	GET  /documents/{id}                  one of them
//	GET  /documents/{id}/pdf              the issued document as PDF
//	POST /documents/{id}/code             send the one-time code to the registered mobile
//	POST /documents/{id}/confirm          {"code": "123456"}: issue the draft
//	POST /documents/{id}/revoke/code      send the one-time code that confirms a revocation
//	POST /documents/{id}/revoke           {"code": "123456", "reason": "…"}: revoke an issued document
//	GET  /granted                         authorizations that name the caller as grantee
//	GET  /granted/{id}/pdf                one of them as PDF, to show where the grantee acts
//
// Errors are RFC 9457 problems; an invalid draft is a 422 listing each
// field by JSON Pointer. A refused request stores nothing.
func APIHandler(cfg APIConfig) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("declaration: the API needs a Service")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = httpx.RemoteHost
	}
	a := &api{cfg: cfg, s: cfg.Service}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /verify", a.verify)
	mux.Handle("GET /jwks.json", a.s.cfg.Keys.JWKSHandler())
	mux.HandleFunc("GET /templates", a.templates)
	mux.HandleFunc("GET /statuslist", a.statusList)
	mux.HandleFunc("GET /documents", a.signedIn(a.list))
	mux.HandleFunc("POST /documents", a.signedIn(a.create))
	mux.HandleFunc("GET /documents/{id}", a.signedIn(a.get))
	mux.HandleFunc("GET /documents/{id}/pdf", a.signedIn(a.pdf))
	mux.HandleFunc("POST /documents/{id}/code", a.signedIn(a.code))
	mux.HandleFunc("POST /documents/{id}/confirm", a.signedIn(a.confirm))
	mux.HandleFunc("POST /documents/{id}/revoke/code", a.signedIn(a.revokeCode))
	mux.HandleFunc("POST /documents/{id}/revoke", a.signedIn(a.revoke))
	mux.HandleFunc("GET /granted", a.signedIn(a.granted))
	mux.HandleFunc("GET /granted/{id}/pdf", a.signedIn(a.grantedPDF))
	return httpx.Fallbacks(mux, nil), nil
}

type api struct {
	cfg APIConfig
	s   *Service
}

// statusClientClosed is what access logs record for a request whose
// client went away before the answer (nginx's 499): the client hears
// nothing, and it is no error of the server's.
const statusClientClosed = 499

// clientGone reports, and logs at info, a request that failed once its
// client had disconnected: whatever the error (context.Canceled, or
// sql.ErrTxDone from a transaction the cancellation rolled back), it
// follows from the client's leaving, and the caller answers no more.
func clientGone(w http.ResponseWriter, r *http.Request, log *zap.Logger, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	log.Info("client went away before the answer", zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("request_id", httpx.RequestIDFromContext(r.Context())), zap.Error(err))
	w.WriteHeader(statusClientClosed)
	return true
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(w, r, a.cfg.Logger, err) {
		return
	}
	var rl *RateLimitError
	var de *Error
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
	case errors.As(err, &de) && de.RetryAfter > 0:
		w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds())+1))
	}
	httpx.WriteError(w, r, a.cfg.Logger, err)
}

// signedIn resolves the declarant; everything below it is private.
func (a *api) signedIn(h func(http.ResponseWriter, *http.Request, Person)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if a.cfg.Declarant == nil {
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "this service signs no one in"))
			return
		}
		p, err := a.cfg.Declarant(r)
		if httpx.UnavailableProblem(err) != nil {
			// The identity could not be looked up: not a failed sign-in.
			a.fail(w, r, err)
			return
		}
		if err != nil || p.AFM == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="declarations"`)
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "sign in to write and read your documents"))
			return
		}
		h(w, r, p)
	}
}

func (a *api) verify(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	code := r.URL.Query().Get("code")
	if code == "" {
		httpx.WriteProblem(w, r, httpx.Validation("give the verification code", httpx.FieldError{Field: "code", Detail: "is required"}))
		return
	}
	v, err := a.s.VerifyFrom(r.Context(), code, a.cfg.ClientAddr(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

// TemplateInfo describes one of the agency's templates.
type TemplateInfo struct {
	Name          string          `json:"name"`
	Title         Text            `json:"title"`
	Authorization bool            `json:"authorization"`
	Schema        json.RawMessage `json:"schema"`
}

// Templates lists the agency's templates by name.
func (s *Service) Templates() []TemplateInfo {
	out := make([]TemplateInfo, 0, len(s.templates))
	for name, t := range s.templates {
		out = append(out, TemplateInfo{Name: name, Title: t.Title, Authorization: t.Authorization, Schema: t.Schema})
	}
	slices.SortFunc(out, func(a, b TemplateInfo) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out
}

func (a *api) templates(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"templates": a.s.Templates()})
}

func (a *api) statusList(w http.ResponseWriter, r *http.Request) {
	tok, err := a.s.StatusList(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/statuslist+jwt")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(StatusListTTL.Seconds())))
	w.Write([]byte(tok))
}

func (a *api) list(w http.ResponseWriter, r *http.Request, p Person) {
	docs, err := a.s.List(r.Context(), p)
	a.writeList(w, r, docs, err)
}

func (a *api) granted(w http.ResponseWriter, r *http.Request, p Person) {
	docs, err := a.s.GrantedTo(r.Context(), p)
	a.writeList(w, r, docs, err)
}

func (a *api) writeList(w http.ResponseWriter, r *http.Request, docs []*Document, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if docs == nil {
		docs = []*Document{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"documents": docs})
}

func (a *api) create(w http.ResponseWriter, r *http.Request, p Person) {
	var d Draft
	if err := httpx.Decode(w, r, &d, httpx.MaxBytes(MaxFields+4*MaxText+16<<10)); err != nil {
		a.fail(w, r, err)
		return
	}
	doc, err := a.s.Create(r.Context(), p, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "documents/"+doc.ID)
	httpx.WriteJSON(w, http.StatusCreated, doc)
}

func (a *api) get(w http.ResponseWriter, r *http.Request, p Person) {
	doc, err := a.s.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, doc)
}

func (a *api) code(w http.ResponseWriter, r *http.Request, p Person) {
	a.sendCode(w, r, p, a.s.RequestCode)
}

func (a *api) revokeCode(w http.ResponseWriter, r *http.Request, p Person) {
	a.sendCode(w, r, p, a.s.RequestRevokeCode)
}

func (a *api) sendCode(w http.ResponseWriter, r *http.Request, p Person, send func(context.Context, Person, string) (time.Time, error)) {
	expires, err := send(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"expires_at": expires.UTC().Format(time.RFC3339)})
}

func (a *api) confirm(w http.ResponseWriter, r *http.Request, p Person) {
	var body struct {
		Code string `json:"code"`
	}
	if err := httpx.Decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	doc, err := a.s.Confirm(r.Context(), p, r.PathValue("id"), body.Code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, doc)
}

func (a *api) revoke(w http.ResponseWriter, r *http.Request, p Person) {
	var body struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	}
	if err := httpx.Decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	doc, err := a.s.Revoke(r.Context(), p, r.PathValue("id"), body.Code, body.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, doc)
}

func (a *api) grantedPDF(w http.ResponseWriter, r *http.Request, p Person) {
	servePDF(w, r, a.s, p, a.s.Granted, a.fail)
}

func (a *api) pdf(w http.ResponseWriter, r *http.Request, p Person) {
	servePDF(w, r, a.s, p, a.s.Get, a.fail)
}
