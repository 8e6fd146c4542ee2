package consent

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// APIConfig configures the JSON API.
type APIConfig struct {
	Service *Service
	// Requester identifies the calling requester, for example from a
	// client-credentials access token; an error means the caller is no
	// requester. Nil leaves the requester's endpoints answering 401.
	Requester func(r *http.Request) (Requester, error)
	// Citizen identifies the signed-in citizen, for example from their
	// access token; an error means nobody is signed in. Nil leaves the
	// citizen's endpoints answering 401.
	Citizen func(r *http.Request) (Citizen, error)
	// ReturnURLAllowed reports whether a requester registered the URL a
	// request sends the citizen back to (an error, such as an unavailable
	// database, fails the request); nil allows none, so that requests
	// carry no return URL. The citizen is only ever sent to a URL it
	// allowed: the API is no open redirector.
	ReturnURLAllowed func(ctx context.Context, req Requester, returnURL string) (bool, error)
	// PagesURL is the absolute URL PagesHandler is mounted at, such as
	// "https://portal.example.gr/consent"; the citizen's URL of a request
	// is PagesURL + "/r/" + id.
	PagesURL string
	Logger   *zap.Logger
}

// APIHandler serves the JSON API (mount it below a prefix with
// http.StripPrefix):
//
//	POST /requests                   a requester asks a citizen's consent: 201 with the id and the citizen's URL
//	GET  /requests/{id}              the requester reads its request's state
//	GET  /consents                   the citizen's consents and requests, newest first
//	GET  /consents/{id}              one of them, with its events
//	POST /consents/{id}/withdraw     the citizen withdraws an authorised consent
//	GET  /usage?offset=&limit=&requester=   the citizen's access log, newest first
//	GET  /jwks.json                  the keys receipts are signed with (public)
//
// The access log answers in the shape of Estonia's Data Tracker usage
// query: offset and limit in, entries of time, action, receiver and the
// data used out. Every refusal is an RFC 9457 problem (400 for a body
// that is not JSON, 401 without a caller, 403 below LoA substantial, 404
// for another's record, 409 for a state that does not allow the change,
// 422 for invalid input, naming the field), and stores nothing.
func APIHandler(cfg APIConfig) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("consent: the API needs a Service")
	}
	if cfg.Requester != nil {
		u, err := url.Parse(cfg.PagesURL)
		if err != nil || !u.IsAbs() || u.Host == "" {
			return nil, errors.New("consent: the requester's API needs APIConfig.PagesURL, an absolute URL")
		}
	}
	cfg.PagesURL = strings.TrimSuffix(cfg.PagesURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &api{cfg: cfg, s: cfg.Service}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /requests", a.requester(a.create))
	mux.HandleFunc("GET /requests/{id}", a.requester(a.status))
	mux.HandleFunc("GET /consents", a.citizen(a.list))
	mux.HandleFunc("GET /consents/{id}", a.citizen(a.get))
	mux.HandleFunc("POST /consents/{id}/withdraw", a.citizen(a.withdraw))
	mux.HandleFunc("GET /usage", a.citizen(a.usage))
	if cfg.Service.cfg.Keys != nil {
		mux.Handle("GET /jwks.json", cfg.Service.JWKSHandler())
	}
	return httpx.Fallbacks(mux, nil), nil
}

type api struct {
	cfg APIConfig
	s   *Service
}

// fail answers err as a problem: the package's refusals with their
// status, an unavailable database 503, anything else 500 (logged).
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		a.cfg.Logger.Info("client went away before the answer", zap.String("path", r.URL.Path), zap.Error(err))
		w.WriteHeader(499)
		return
	}
	var se *StateError
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.WriteProblem(w, r, httpx.NotFound("no such consent, or not yours"))
	case errors.Is(err, ErrAssurance):
		httpx.WriteProblem(w, r, httpx.Forbidden("a consent is given or withdrawn at LoA substantial or high"))
	case errors.As(err, &se) && se.State == StateExpired:
		httpx.WriteProblem(w, r, httpx.Conflict(se.Error()))
	default:
		httpx.WriteError(w, r, a.cfg.Logger, err)
	}
}

func unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="consent"`)
	httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, detail))
}

func (a *api) requester(h func(http.ResponseWriter, *http.Request, Requester)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if a.cfg.Requester == nil {
			unauthorized(w, r, "this service takes no requests")
			return
		}
		req, err := a.cfg.Requester(r)
		if httpx.UnavailableProblem(err) != nil {
			a.fail(w, r, err)
			return
		}
		if err != nil || req.Organisation == "" || req.Client == "" {
			unauthorized(w, r, "authenticate as a requester")
			return
		}
		h(w, r, req)
	}
}

func (a *api) citizen(h func(http.ResponseWriter, *http.Request, Citizen)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if a.cfg.Citizen == nil {
			unauthorized(w, r, "this service signs no citizen in")
			return
		}
		c, err := a.cfg.Citizen(r)
		if httpx.UnavailableProblem(err) != nil {
			a.fail(w, r, err)
			return
		}
		if err != nil || c.TaxNumber == "" {
			unauthorized(w, r, "sign in to see your consents")
			return
		}
		h(w, r, c)
	}
}

// requestBody is what a requester sends to ask for a consent.
type requestBody struct {
	TaxNumber   string    `json:"tax_number"`
	Source      Source    `json:"source"`
	Items       []Item    `json:"items"`
	Purpose     Purpose   `json:"purpose"`
	LegalBasis  string    `json:"legal_basis"`
	ValidFrom   time.Time `json:"valid_from,omitzero"`
	ValidUntil  time.Time `json:"valid_until"`
	MaxUses     int       `json:"max_uses,omitempty"`
	Recipients  []string  `json:"recipients,omitempty"`
	ReturnURL   string    `json:"return_url,omitempty"`
	ReturnState string    `json:"state,omitempty"`
}

// RequestView is a request or consent as its requester reads it: no
// identifier of the citizen, the state at the time of reading.
type RequestView struct {
	ID             string    `json:"id"`
	State          State     `json:"state"`
	URL            string    `json:"url,omitempty"`
	Requester      Requester `json:"requester"`
	Source         Source    `json:"source"`
	Items          []Item    `json:"items"`
	Purpose        Purpose   `json:"purpose"`
	LegalBasis     string    `json:"legal_basis"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	RequestExpires time.Time `json:"request_expires"`
	ValidFrom      time.Time `json:"valid_from"`
	ValidUntil     time.Time `json:"valid_until"`
	MaxUses        int       `json:"max_uses"`
	Uses           int       `json:"uses"`
	ReturnURL      string    `json:"return_url,omitempty"`
}

// ConsentView is a consent as its citizen reads it through the API.
type ConsentView struct {
	RequestView
	Recipients []string `json:"recipients,omitempty"`
	Withdrawal string   `json:"withdrawal,omitempty"`
	Events     []Event  `json:"events,omitempty"`
}

func (a *api) view(r *Record) RequestView {
	v := RequestView{ID: r.ID, State: r.StateAt(a.s.now()), Requester: r.Requester, Source: r.Source, Items: r.Items,
		Purpose: r.Purpose, LegalBasis: r.LegalBasis, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		RequestExpires: r.RequestExpires, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil, MaxUses: r.MaxUses, Uses: r.Uses,
		ReturnURL: r.ReturnURL}
	if v.State == StateAwaitingAuthorisation && a.cfg.PagesURL != "" {
		v.URL = a.cfg.PagesURL + "/r/" + url.PathEscape(r.ID)
	}
	return v
}

func (a *api) create(w http.ResponseWriter, r *http.Request, req Requester) {
	var b requestBody
	if err := httpx.Decode(w, r, &b, httpx.MaxBytes(64<<10)); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.ReturnURL != "" {
		ok := false
		if a.cfg.ReturnURLAllowed != nil {
			var err error
			if ok, err = a.cfg.ReturnURLAllowed(r.Context(), req, b.ReturnURL); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		if !ok {
			a.fail(w, r, invalid("return URL", "not one registered for this requester"))
			return
		}
	}
	rec, err := a.s.Request(r.Context(), req, Draft{TaxNumber: b.TaxNumber, Source: b.Source, Items: b.Items, Purpose: b.Purpose,
		LegalBasis: b.LegalBasis, ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil, MaxUses: b.MaxUses, Recipients: b.Recipients,
		ReturnURL: b.ReturnURL, ReturnState: b.ReturnState})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := a.view(rec)
	w.Header().Set("Location", "requests/"+url.PathEscape(rec.ID))
	httpx.WriteJSON(w, http.StatusCreated, v)
}

func (a *api) status(w http.ResponseWriter, r *http.Request, req Requester) {
	rec, err := a.s.Status(r.Context(), req, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.view(rec))
}

func (a *api) consentView(r *Record) ConsentView {
	v := ConsentView{RequestView: a.view(r), Recipients: r.Recipients, Withdrawal: r.Withdrawal, Events: r.Events}
	v.ReturnURL = ""
	return v
}

func (a *api) list(w http.ResponseWriter, r *http.Request, c Citizen) {
	recs, err := a.s.List(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]ConsentView, 0, len(recs))
	for _, rec := range recs {
		v := a.consentView(rec)
		v.Events = nil
		out = append(out, v)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"consents": out})
}

func (a *api) get(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := a.s.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.consentView(rec))
}

func (a *api) withdraw(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := a.s.Withdraw(r.Context(), c, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.consentView(rec))
}

// UsageEntry is one entry of the access log as the API gives it, after
// the entries of Estonia's Data Tracker: when, what was done, who
// received the data, and which data.
type UsageEntry struct {
	LogTime    time.Time `json:"log_time"`
	Action     string    `json:"action"`
	Receiver   string    `json:"receiver"`
	Client     string    `json:"receiver_client"`
	Person     string    `json:"receiver_person,omitempty"`
	Source     Source    `json:"source"`
	UsedData   []string  `json:"used_data"`
	Purpose    string    `json:"purpose"`
	ConsentID  string    `json:"consent_id"`
	ExchangeID string    `json:"exchange_id"`
}

// UsagePage is a page of the access log: the query's offset and limit,
// the entries, and the offset of the next page (absent on the last).
type UsagePage struct {
	Offset     int          `json:"offset"`
	Limit      int          `json:"limit"`
	Entries    []UsageEntry `json:"entries"`
	NextOffset *int         `json:"next_offset,omitempty"`
}

// ActionFetched is the action of every access-log entry: the requester
// fetched the data from the source under a consent.
const ActionFetched = "fetched"

// MaxOffset bounds the offset of an access-log page.
const MaxOffset = 1_000_000

func (a *api) usage(w http.ResponseWriter, r *http.Request, c Citizen) {
	q, err := usageQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.s.AccessLog(r.Context(), c, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := UsagePage{Offset: q.Offset, Limit: q.Limit, Entries: make([]UsageEntry, 0, len(page.Entries))}
	if out.Limit == 0 {
		out.Limit = DefaultPage
	}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, UsageEntry{LogTime: e.At, Action: ActionFetched, Receiver: e.Requester.Organisation,
			Client: e.Requester.Client, Person: e.Requester.Person, Source: e.Source, UsedData: e.Items, Purpose: e.Purpose,
			ConsentID: e.ConsentID, ExchangeID: e.ExchangeID})
	}
	if page.Next > 0 {
		next := q.Offset + len(page.Entries)
		out.NextOffset = &next
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// usageQuery reads offset, limit and requester from a query string.
func usageQuery(v url.Values) (LogQuery, error) {
	var q LogQuery
	num := func(name string, max int) (int, error) {
		s := v.Get(name)
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > max {
			return 0, invalid(name, "a whole number from 0 to %d", max)
		}
		return n, nil
	}
	var err error
	if q.Offset, err = num("offset", MaxOffset); err != nil {
		return q, err
	}
	if q.Limit, err = num("limit", MaxPage); err != nil {
		return q, err
	}
	if v.Has("limit") && q.Limit == 0 {
		return q, invalid("limit", "from 1 to %d", MaxPage)
	}
	if org := v.Get("requester"); org != "" {
		if err := checkText("requester", org, 200); err != nil {
			return q, err
		}
		q.Organisation = org
	}
	return q, nil
}
