package auth

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// ClientAdminConfig configures the administrators' API for a realm's
// clients.
type ClientAdminConfig struct {
	Clients *ClientRegistry
	// Authorize identifies the administrator making a request, for the
	// audit log, or refuses with an error (answered 401). It is called for
	// every request; the API has no other access control.
	Authorize func(r *http.Request) (admin string, err error)
	Logger    *zap.Logger
}

// NewClientAdmin returns the JSON API administrators use to register and
// manage a realm's clients; mount it below a prefix with http.StripPrefix:
//
//	GET  /clients               list
//	POST /clients               register (the secret is in the answer, once)
//	GET  /clients/{id}          read
//	PUT  /clients/{id}          replace the registration
//	POST /clients/{id}/secret   rotate the secret (the new one is in the answer, once)
//	POST /clients/{id}/disable  stop the client at once, on every instance
//	POST /clients/{id}/enable
//
// Errors are RFC 9457 problem details; an invalid registration is a 422
// naming the field. Every change is logged with the administrator's name.
func NewClientAdmin(cfg ClientAdminConfig) (http.Handler, error) {
	if cfg.Clients == nil || cfg.Authorize == nil {
		return nil, errors.New("auth: the client admin API needs Clients and Authorize")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &clientAdmin{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /clients", a.guard(a.list))
	mux.HandleFunc("POST /clients", a.guard(a.create))
	mux.HandleFunc("GET /clients/{id}", a.guard(a.get))
	mux.HandleFunc("PUT /clients/{id}", a.guard(a.update))
	mux.HandleFunc("POST /clients/{id}/secret", a.guard(a.rotate))
	mux.HandleFunc("POST /clients/{id}/disable", a.guard(a.disable(true)))
	mux.HandleFunc("POST /clients/{id}/enable", a.guard(a.disable(false)))
	return httpx.Fallbacks(mux, nil), nil
}

type clientAdmin struct{ cfg ClientAdminConfig }

type adminHandler func(w http.ResponseWriter, r *http.Request, admin string)

func (a *clientAdmin) guard(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		admin, err := a.cfg.Authorize(r)
		if err != nil || admin == "" {
			a.cfg.Logger.Warn("client admin refused", zap.String("client", httpx.MaskIP(r.RemoteAddr)), zap.Error(err))
			w.Header().Set("WWW-Authenticate", `Bearer realm="client administration"`)
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "administrator credentials are required"))
			return
		}
		h(w, r, admin)
	}
}

// fail answers a registry error as a problem.
func (a *clientAdmin) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *InvalidClientError
	switch {
	case errors.As(err, &ie):
		httpx.WriteProblem(w, r, httpx.Validation("the client registration is not valid",
			httpx.FieldError{Pointer: "/" + ie.Field, Detail: ie.Reason}))
	case errors.Is(err, ErrClientNotFound):
		httpx.WriteProblem(w, r, httpx.NotFound("no such client"))
	case errors.Is(err, ErrClientExists):
		httpx.WriteProblem(w, r, httpx.Conflict("a client with this id exists"))
	default:
		httpx.WriteError(w, r, a.cfg.Logger, err)
	}
}

func (a *clientAdmin) audit(r *http.Request, admin, action, clientID string) {
	a.cfg.Logger.Info("client administration", zap.String("realm", a.cfg.Clients.realm), zap.String("admin", admin),
		zap.String("action", action), zap.String("client_id", clientID), zap.String("request_id", httpx.RequestIDFromContext(r.Context())))
}

// ClientWithSecret is a registration with the secret it was just given.
type ClientWithSecret struct {
	Client
	Secret string `json:"client_secret,omitempty"`
}

func (a *clientAdmin) list(w http.ResponseWriter, r *http.Request, _ string) {
	cs, err := a.cfg.Clients.List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []Client{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"clients": cs})
}

func (a *clientAdmin) create(w http.ResponseWriter, r *http.Request, admin string) {
	var c Client
	if err := httpx.Decode(w, r, &c); err != nil {
		httpx.WriteError(w, r, a.cfg.Logger, err)
		return
	}
	c.Disabled = false
	created, secret, err := a.cfg.Clients.Create(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.audit(r, admin, "create", created.ID)
	w.Header().Set("Location", "clients/"+created.ID)
	httpx.WriteJSON(w, http.StatusCreated, ClientWithSecret{Client: created, Secret: secret})
}

func (a *clientAdmin) get(w http.ResponseWriter, r *http.Request, _ string) {
	c, err := a.cfg.Clients.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}

func (a *clientAdmin) update(w http.ResponseWriter, r *http.Request, admin string) {
	var c Client
	if err := httpx.Decode(w, r, &c); err != nil {
		httpx.WriteError(w, r, a.cfg.Logger, err)
		return
	}
	if c.ID != r.PathValue("id") {
		httpx.WriteProblem(w, r, httpx.Validation("the client_id in the body must be the one in the path",
			httpx.FieldError{Pointer: "/client_id", Detail: "does not match the path"}))
		return
	}
	old, err := a.cfg.Clients.Get(r.Context(), c.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c.Disabled = old.Disabled // changed through disable and enable only
	updated, err := a.cfg.Clients.Update(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.audit(r, admin, "update", c.ID)
	httpx.WriteJSON(w, http.StatusOK, updated)
}

func (a *clientAdmin) rotate(w http.ResponseWriter, r *http.Request, admin string) {
	id := r.PathValue("id")
	secret, err := a.cfg.Clients.RotateSecret(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.audit(r, admin, "rotate_secret", id)
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"client_id": id, "client_secret": secret})
}

func (a *clientAdmin) disable(disabled bool) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, admin string) {
		id := r.PathValue("id")
		if err := a.cfg.Clients.SetDisabled(r.Context(), id, disabled); err != nil {
			a.fail(w, r, err)
			return
		}
		action := "enable"
		if disabled {
			action = "disable"
		}
		a.audit(r, admin, action, id)
		c, err := a.cfg.Clients.Get(r.Context(), id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, c)
	}
}
