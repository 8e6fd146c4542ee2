package procedures

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// APIConfig configures the JSON API.
type APIConfig struct {
	Registry *Registry
	// Index answers searches, such as the full-text index of
	// procedures/search; nil leaves /search out (a client lists the
	// published procedures with GET /procedures).
	Index Searcher
	// Caller identifies who calls the editors' and approvers' endpoints
	// (for example from a civil servant's access token); an error or a
	// caller without the role is refused. Nil makes those endpoints refuse
	// everyone.
	Caller func(r *http.Request) (Caller, error)
	// ClientAddr gives the address suggestions are rate-limited by; nil
	// means the connection's address.
	ClientAddr func(r *http.Request) string
	// BaseURL is the absolute URL the CPSV-AP export makes identifiers
	// from, such as "https://procedures.example.gr"; empty means the
	// request's own scheme and host.
	BaseURL string
	Logger  *zap.Logger
}

// APIHandler serves the registry as JSON (mount it below a prefix with
// http.StripPrefix):
//
//	GET  /procedures                       the published procedures (summaries)
//	GET  /procedures/{id}                  the published version (ETag, If-None-Match)
//	GET  /procedures/{id}/versions/{v}     any version (editors and approvers)
//	GET  /procedures/{id}/history          the history (editors and approvers)
//	POST /procedures                       create a draft (editors)
//	PUT  /procedures/{id}/versions/{v}     replace a draft (editors; If-Match)
//	POST /procedures/{id}/revisions        start a new draft from the latest (editors)
//	POST /procedures/{id}/versions/{v}/{action}   submit, reject, approve, publish, withdraw
//	POST /procedures/{id}/suggestions      send a suggestion (anyone, rate-limited)
//	GET  /suggestions                      open suggestions (editors and approvers)
//	GET  /search?q=…&category=…            search the published procedures
//	GET  /burden?n=20                      the procedures most worth simplifying
//	GET  /counts                           versions per state
//	GET  /schema                           the JSON Schema of a procedure
//	GET  /procedures/{id}/cpsv-ap          one procedure as CPSV-AP 3.2.0 JSON-LD
//	GET  /export/cpsv-ap                   the whole catalogue as CPSV-AP 3.2.0 JSON-LD
//
// Errors are RFC 9457 problems; a document that fails the schema is a 422
// listing every violation by JSON Pointer in English and Greek. A refused
// request stores nothing.
func APIHandler(cfg APIConfig) (http.Handler, error) {
	if cfg.Registry == nil {
		return nil, errors.New("procedures: the API needs a Registry")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = httpx.RemoteHost
	}
	a := &api{cfg: cfg, reg: cfg.Registry}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /procedures", a.list)
	mux.HandleFunc("POST /procedures", a.staff(a.create))
	mux.HandleFunc("GET /procedures/{id}", a.published)
	mux.HandleFunc("GET /procedures/{id}/history", a.staff(a.history))
	mux.HandleFunc("GET /procedures/{id}/versions/{v}", a.staff(a.version))
	mux.HandleFunc("PUT /procedures/{id}/versions/{v}", a.staff(a.update))
	mux.HandleFunc("POST /procedures/{id}/revisions", a.staff(a.revise))
	mux.HandleFunc("POST /procedures/{id}/versions/{v}/{action}", a.staff(a.transition))
	mux.HandleFunc("POST /procedures/{id}/suggestions", a.suggest)
	mux.HandleFunc("GET /suggestions", a.staff(a.suggestions))
	mux.HandleFunc("POST /suggestions/{sid}/close", a.staff(a.closeSuggestion))
	mux.HandleFunc("GET /procedures/{id}/cpsv-ap", a.exportOne)
	mux.HandleFunc("GET /export/cpsv-ap", a.exportAll)
	mux.HandleFunc("GET /burden", a.burden)
	mux.HandleFunc("GET /counts", a.counts)
	mux.HandleFunc("GET /schema", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(schemaJSON)
	})
	if cfg.Index != nil {
		mux.HandleFunc("GET /search", a.search)
	}
	return httpx.Fallbacks(mux, nil), nil
}

type api struct {
	cfg APIConfig
	reg *Registry
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(w, r, a.cfg.Logger, err)
}

// staff resolves the caller for the editors' and approvers' endpoints;
// the registry checks the role each action needs.
func (a *api) staff(h func(http.ResponseWriter, *http.Request, Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if a.cfg.Caller == nil {
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "this registry has no editors' access"))
			return
		}
		c, err := a.cfg.Caller(r)
		if httpx.UnavailableProblem(err) != nil {
			// The identity could not be looked up: not a failed sign-in.
			a.fail(w, r, err)
			return
		}
		if err != nil || c.ID == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="procedures"`)
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeUnauthorized, http.StatusUnauthorized, "sign in as an editor or approver"))
			return
		}
		h(w, r, c)
	}
}

func versionParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	v, err := strconv.Atoi(r.PathValue("v"))
	if err != nil || v < 1 {
		httpx.WriteProblem(w, r, httpx.Validation("the version is a positive number", httpx.FieldError{Field: "v", Detail: "a positive number"}))
		return 0, false
	}
	return v, true
}

// readDocument reads a procedure document from the body.
func readDocument(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDocument))
	if err != nil {
		httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypePayloadTooLarge, http.StatusRequestEntityTooLarge, "a procedure document is at most 512 KB"))
		return nil, false
	}
	return body, true
}

// summary is a procedure in a list.
type summary struct {
	ID        string `json:"id"`
	Version   int    `json:"version"`
	Title     Text   `json:"title"`
	Authority Text   `json:"authority"`
	Type      string `json:"type"`
	ETag      string `json:"etag"`
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	vs, err := a.reg.ListPublished(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]summary, 0, len(vs))
	for _, v := range vs {
		out = append(out, summary{ID: v.Procedure.ID, Version: v.Version, Title: v.Procedure.Title, Authority: v.Procedure.Authority.Name, Type: v.Procedure.Type, ETag: v.ETag()})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"procedures": out})
}

// writeVersion sends a version's document with its ETag, or 304 when the
// client has it.
func writeVersion(w http.ResponseWriter, r *http.Request, v *Version, status int) {
	w.Header().Set("ETag", v.ETag())
	w.Header().Set("X-Procedure-State", v.State)
	if status == http.StatusOK && ifNoneMatch(r, v.ETag()) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(v.raw)
}

func ifNoneMatch(r *http.Request, etag string) bool {
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		t = strings.TrimSpace(t)
		if t == etag || t == "*" || t == "W/"+etag {
			return true
		}
	}
	return false
}

func (a *api) published(w http.ResponseWriter, r *http.Request) {
	v, err := a.reg.Published(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeVersion(w, r, v, http.StatusOK)
}

func (a *api) version(w http.ResponseWriter, r *http.Request, c Caller) {
	if !c.Has(RoleEditor) && !c.Has(RoleApprover) {
		a.fail(w, r, fail(ErrForbidden, "only editors and approvers read unpublished versions"))
		return
	}
	n, ok := versionParam(w, r)
	if !ok {
		return
	}
	v, err := a.reg.Get(r.Context(), r.PathValue("id"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeVersion(w, r, v, http.StatusOK)
}

func (a *api) history(w http.ResponseWriter, r *http.Request, c Caller) {
	if !c.Has(RoleEditor) && !c.Has(RoleApprover) {
		a.fail(w, r, fail(ErrForbidden, "only editors and approvers read the history"))
		return
	}
	h, err := a.reg.History(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": h})
}

func (a *api) create(w http.ResponseWriter, r *http.Request, c Caller) {
	doc, ok := readDocument(w, r)
	if !ok {
		return
	}
	v, err := a.reg.Create(r.Context(), c, doc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "procedures/"+v.Procedure.ID+"/versions/1")
	writeVersion(w, r, v, http.StatusCreated)
}

func (a *api) update(w http.ResponseWriter, r *http.Request, c Caller) {
	n, ok := versionParam(w, r)
	if !ok {
		return
	}
	doc, ok := readDocument(w, r)
	if !ok {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" {
		cur, err := a.reg.Get(r.Context(), r.PathValue("id"), n)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if m != cur.ETag() {
			httpx.WriteProblem(w, r, httpx.NewProblem(httpx.TypeBase+"precondition-failed", http.StatusPreconditionFailed,
				"the draft has changed since it was read; read it again"))
			return
		}
	}
	v, err := a.reg.Update(r.Context(), c, r.PathValue("id"), n, doc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeVersion(w, r, v, http.StatusOK)
}

func (a *api) revise(w http.ResponseWriter, r *http.Request, c Caller) {
	v, err := a.reg.Revise(r.Context(), c, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeVersion(w, r, v, http.StatusCreated)
}

func (a *api) transition(w http.ResponseWriter, r *http.Request, c Caller) {
	n, ok := versionParam(w, r)
	if !ok {
		return
	}
	var body struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &body); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	v, err := a.reg.Transition(r.Context(), c, r.PathValue("id"), n, r.PathValue("action"), body.Note)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeVersion(w, r, v, http.StatusOK)
}

func (a *api) suggest(w http.ResponseWriter, r *http.Request) {
	var s Suggestion
	if err := httpx.Decode(w, r, &s); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.reg.Suggest(r.Context(), r.PathValue("id"), Suggestion{Kind: s.Kind, Text: s.Text, Contact: s.Contact}, a.cfg.ClientAddr(r))
	var rl *RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"id": out.ID, "procedure_id": out.ProcedureID, "created_at": out.CreatedAt})
}

func (a *api) suggestions(w http.ResponseWriter, r *http.Request, c Caller) {
	list, err := a.reg.Suggestions(r.Context(), c, r.URL.Query().Get("procedure"), r.URL.Query().Get("all") == "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Suggestion{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"suggestions": list})
}

func (a *api) closeSuggestion(w http.ResponseWriter, r *http.Request, c Caller) {
	var body struct {
		Resolution string `json:"resolution"`
	}
	if err := httpx.Decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.reg.CloseSuggestion(r.Context(), c, r.PathValue("sid"), body.Resolution); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := Query{Text: q.Get("q"), Category: q.Get("category"), LifeEvent: q.Get("life_event"), Authority: q.Get("authority"), Channel: q.Get("channel")}
	for name, dst := range map[string]*int{"limit": &query.Limit, "offset": &query.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				httpx.WriteProblem(w, r, httpx.Validation("not a number", httpx.FieldError{Field: name, Detail: "a whole number"}))
				return
			}
			*dst = n
		}
	}
	res, err := a.cfg.Index.Search(r.Context(), query)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=30")
	httpx.WriteJSON(w, http.StatusOK, res)
}

func (a *api) burden(w http.ResponseWriter, r *http.Request) {
	n := 20
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10000 {
			httpx.WriteProblem(w, r, httpx.Validation("n is 1 to 10000", httpx.FieldError{Field: "n", Detail: "1 to 10000"}))
			return
		}
	}
	report, err := a.reg.BurdenReport(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"procedures": report})
}

func (a *api) counts(w http.ResponseWriter, r *http.Request) {
	c, err := a.reg.Counts(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}

func (a *api) base(r *http.Request) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSONLD(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "application/ld+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(doc)
}

func (a *api) exportOne(w http.ResponseWriter, r *http.Request) {
	v, err := a.reg.Published(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	doc, err := ExportCPSVAP(a.base(r), v.Procedure)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSONLD(w, doc)
}

func (a *api) exportAll(w http.ResponseWriter, r *http.Request) {
	doc, err := a.reg.ExportCatalogue(r.Context(), a.base(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSONLD(w, doc)
}
