package interop

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// Roles of the operators' API.
const (
	// RoleOperator registers and changes services and grants and revokes
	// rights (and reads everything).
	RoleOperator = "operator"
	// RoleAuditor reads services and rights.
	RoleAuditor = "auditor"
)

// Caller is who calls the operators' API: an identifier recorded with
// every change, and roles.
type Caller struct {
	ID    string
	Roles []string
}

// Has reports whether the caller has role.
func (c Caller) Has(role string) bool { return slices.Contains(c.Roles, role) }

// APIConfig configures the operators' JSON API.
type APIConfig struct {
	Store Store
	// Caller identifies who calls, for example from a civil servant's
	// access token, and gives their roles. An error, or a caller without
	// an identifier, is answered 401; a caller without the role an
	// endpoint needs, 403; an error that means a database is down, 503.
	// Nil makes every endpoint refuse everyone.
	Caller func(r *http.Request) (Caller, error)
	Logger *zap.Logger
}

// APIHandler serves the registry to its operators as JSON (mount it below
// a prefix with http.StripPrefix). A service is addressed by the five
// parts of its identifier, as in the REST path:
//
//	GET    /services                                  every service (auditors, operators)
//	POST   /services                                  register a service (operators)
//	GET    /services/{i}/{c}/{m}/{s}/{svc}            one service, with its OpenAPI document
//	PUT    /services/{i}/{c}/{m}/{s}/{svc}            replace it; the body names the revision it started from
//	POST   /services/{i}/{c}/{m}/{s}/{svc}/disable    switch it off (calls refused, rights kept)
//	POST   /services/{i}/{c}/{m}/{s}/{svc}/enable     switch it on again
//	GET    /services/{i}/{c}/{m}/{s}/{svc}/openapi    its OpenAPI document
//	GET    /rights?service=…&consumer=…               rights, filtered
//	POST   /rights                                    grant a right (operators)
//	DELETE /rights/{id}                               revoke a right (operators)
//
// Every refusal is problem+json: 400 for a body that is not JSON, 401,
// 403, 404, 409 for an identifier taken or a stale revision, 422 for a
// registration or a right that is not valid (every field listed), 503
// when the database is down. Changes take effect on every gateway at its
// next poll of the registry's generation.
func APIHandler(cfg APIConfig) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("interop: the API needs a Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &api{cfg: cfg}
	const svc = "/services/{i}/{c}/{m}/{s}/{svc}"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services", a.with(RoleAuditor, a.list))
	mux.HandleFunc("POST /services", a.with(RoleOperator, a.create))
	mux.HandleFunc("GET "+svc, a.with(RoleAuditor, a.get))
	mux.HandleFunc("PUT "+svc, a.with(RoleOperator, a.update))
	mux.HandleFunc("POST "+svc+"/disable", a.with(RoleOperator, a.switcher(true)))
	mux.HandleFunc("POST "+svc+"/enable", a.with(RoleOperator, a.switcher(false)))
	mux.HandleFunc("GET "+svc+"/openapi", a.with(RoleAuditor, a.openAPI))
	mux.HandleFunc("GET /rights", a.with(RoleAuditor, a.rights))
	mux.HandleFunc("POST /rights", a.with(RoleOperator, a.grant))
	mux.HandleFunc("DELETE /rights/{id}", a.with(RoleOperator, a.revoke))
	return httpx.Fallbacks(mux, nil), nil
}

type api struct{ cfg APIConfig }

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(w, r, a.cfg.Logger, err)
}

// with resolves the caller and checks the role; an operator may do what
// an auditor may.
func (a *api) with(role string, h func(http.ResponseWriter, *http.Request, Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if a.cfg.Caller == nil {
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "this registry has no operators' access"))
			return
		}
		c, err := a.cfg.Caller(r)
		if httpx.UnavailableProblem(err) != nil {
			a.fail(w, r, err)
			return
		}
		if err != nil || c.ID == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="interop"`)
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "sign in as an operator of the registry"))
			return
		}
		if !c.Has(role) && !c.Has(RoleOperator) {
			httpx.WriteProblem(w, r, httpx.Forbidden("the caller's role does not allow this"))
			return
		}
		h(w, r, c)
	}
}

func serviceParam(r *http.Request) (ServiceID, error) {
	id := ServiceID{Instance: r.PathValue("i"), Class: r.PathValue("c"), Member: r.PathValue("m"),
		Subsystem: r.PathValue("s"), Service: r.PathValue("svc")}
	if err := ValidateServiceID(id); err != nil {
		return ServiceID{}, err
	}
	return id, nil
}

// decode reads a JSON body; an identifier that does not parse is a 422.
func (a *api) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	err := httpx.Decode(w, r, dst, httpx.MaxBytes(MaxOpenAPIBytes+256<<10))
	if err == nil {
		return true
	}
	var ie *Error
	if errors.As(err, &ie) && ie.Kind == ErrInvalidID {
		httpx.WriteProblem(w, r, httpx.Validation(ie.Detail))
		return false
	}
	a.fail(w, r, err)
	return false
}

func (a *api) list(w http.ResponseWriter, r *http.Request, _ Caller) {
	out, err := a.cfg.Store.Services(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if out == nil {
		out = []Service{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
}

func (a *api) create(w http.ResponseWriter, r *http.Request, c Caller) {
	var s Service
	if !a.decode(w, r, &s) {
		return
	}
	s.UpdatedBy = c.ID
	s.Revision = 0
	out, err := a.cfg.Store.CreateService(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "services/"+out.ID.String())
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (a *api) get(w http.ResponseWriter, r *http.Request, _ Caller) {
	id, err := serviceParam(r)
	if err != nil {
		httpx.WriteProblem(w, r, httpx.NotFound("no such service"))
		return
	}
	s, err := a.cfg.Store.Service(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}

func (a *api) update(w http.ResponseWriter, r *http.Request, c Caller) {
	id, err := serviceParam(r)
	if err != nil {
		httpx.WriteProblem(w, r, httpx.NotFound("no such service"))
		return
	}
	var s Service
	if !a.decode(w, r, &s) {
		return
	}
	if s.ID.IsZero() {
		s.ID = id
	} else if s.ID != id {
		httpx.WriteProblem(w, r, httpx.Validation("the body's identifier is not the URL's", httpx.FieldError{Pointer: "/id", Detail: "the service's identifier cannot change"}))
		return
	}
	if s.Revision <= 0 {
		httpx.WriteProblem(w, r, httpx.Validation("name the revision the change started from", httpx.FieldError{Pointer: "/revision", Detail: "required"}))
		return
	}
	s.UpdatedBy = c.ID
	out, err := a.cfg.Store.UpdateService(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// switcher disables or enables a service at its current revision.
func (a *api) switcher(disable bool) func(http.ResponseWriter, *http.Request, Caller) {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		id, err := serviceParam(r)
		if err != nil {
			httpx.WriteProblem(w, r, httpx.NotFound("no such service"))
			return
		}
		s, err := a.cfg.Store.Service(r.Context(), id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if s.Disabled != disable {
			s.Disabled, s.UpdatedBy = disable, c.ID
			if s, err = a.cfg.Store.UpdateService(r.Context(), s); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		s.OpenAPI = nil
		httpx.WriteJSON(w, http.StatusOK, s)
	}
}

func (a *api) openAPI(w http.ResponseWriter, r *http.Request, _ Caller) {
	id, err := serviceParam(r)
	if err != nil {
		httpx.WriteProblem(w, r, httpx.NotFound("no such service"))
		return
	}
	s, err := a.cfg.Store.Service(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(s.OpenAPI) == 0 {
		httpx.WriteProblem(w, r, httpx.NotFound("the provider published no OpenAPI document for this service"))
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
	w.Write(s.OpenAPI)
}

func (a *api) rights(w http.ResponseWriter, r *http.Request, _ Caller) {
	var f RightFilter
	q := r.URL.Query()
	var bad []httpx.FieldError
	if v := q.Get("service"); v != "" {
		id, err := ParseServiceID(v)
		if err != nil {
			bad = append(bad, httpx.FieldError{Field: "service", Detail: err.(*Error).Detail})
		}
		f.Service = id
	}
	if v := q.Get("consumer"); v != "" {
		id, err := ParseClientID(v)
		if err != nil {
			bad = append(bad, httpx.FieldError{Field: "consumer", Detail: err.(*Error).Detail})
		}
		f.Consumer = id
	}
	if len(bad) > 0 {
		httpx.WriteProblem(w, r, httpx.Validation("the filter is not valid", bad...))
		return
	}
	out, err := a.cfg.Store.Rights(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rights": out})
}

func (a *api) grant(w http.ResponseWriter, r *http.Request, c Caller) {
	var in Right
	if !a.decode(w, r, &in) {
		return
	}
	in.ID, in.GrantedBy, in.GrantedAt = "", c.ID, time.Time{}
	out, err := a.cfg.Store.GrantRight(r.Context(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "rights/"+out.ID)
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (a *api) revoke(w http.ResponseWriter, r *http.Request, c Caller) {
	id := r.PathValue("id")
	if err := a.cfg.Store.RevokeRight(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	a.cfg.Logger.Info("right revoked", zap.String("right", id), zap.String("by", c.ID))
	w.WriteHeader(http.StatusNoContent)
}
