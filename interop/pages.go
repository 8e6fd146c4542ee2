package interop

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/fold"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed templates messages
var pageAssets embed.FS

// PagesConfig configures the operators' pages.
type PagesConfig struct {
	Store Store
	// Caller identifies who is signed in and gives their roles, as for
	// the API: [RoleOperator] changes the registry, [RoleAuditor] reads
	// it. An error, or a caller without an identifier, means nobody is
	// signed in; an error that means a database is down is answered with
	// the "temporarily unavailable" page.
	Caller func(r *http.Request) (Caller, error)
	// SignInURL is where people who are not signed in go, with
	// ?return=<the page>; empty shows a page asking them to sign in.
	SignInURL string
	// SignOutURL is where the sign-out button posts; empty shows none.
	SignOutURL string
	// Prefix is the path the pages are mounted at, such as
	// "/interop/registry"; links are made from it.
	Prefix string
	// StaticPrefix is the directory the pages link their stylesheet from;
	// empty means Prefix + "/static/", which PagesHandler serves itself.
	// HomeURL is where the brand link leads; empty means "/".
	StaticPrefix, HomeURL string
	// Location is where dates are shown and where a day typed in a form
	// begins and ends; nil means Europe/Athens.
	Location *time.Location
	// Now tells whether a right is in force; nil is time.Now.
	Now    func() time.Time
	Logger *zap.Logger
}

type pages struct {
	cfg PagesConfig
	r   *web.Renderer
	loc *time.Location
}

// PagesHandler serves the registry's pages to the centre's operators and
// auditors, in Greek and English, without JavaScript (mount it at Prefix
// with http.StripPrefix):
//
//	GET  /                                     services: search by identifier, owner or title; filter by state
//	GET  /services/new                         the form of a new service; POST registers it
//	GET  /services/{i}/{c}/{m}/{s}/{svc}       a service: what it offers, under which terms, and its rights
//	GET  /services/{i}/{c}/{m}/{s}/{svc}/edit  the form of a change; POST saves it
//	GET  …/disable, …/enable                   the confirmation; POST switches the service off or on
//	GET  …/grant                               the form of a right to the service; POST grants it
//	GET  …/openapi                             the service's OpenAPI document
//	GET  /rights?consumer=…                    rights, of every consumer or of one
//	GET  /rights/{id}/revoke                   the confirmation; POST revokes the right
//
// Auditors see every page and change nothing; operators change. Every
// change records who made it (a service its last change, a right its
// grant); revocations are logged. A change that starts from a revision
// someone else changed meanwhile is refused and shown again with the
// values typed. Form posts from other sites are refused. It serves the
// stylesheet at Prefix + "/static/".
func PagesHandler(cfg PagesConfig) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("interop: the pages need a Store")
	}
	if cfg.Caller == nil {
		return nil, errors.New("interop: the pages need a Caller")
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r, err := web.NewRenderer(pageAssets, "templates/*.html",
		web.WithMessages(pageAssets, "messages/*.json"),
		web.WithServiceName("interop.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(cfg.Logger),
		web.WithLocation(cfg.Location),
	)
	if err != nil {
		return nil, err
	}
	p := &pages{cfg: cfg, r: r, loc: r.Location()}
	const svc = "/services/{i}/{c}/{m}/{s}/{svc}"
	mux := http.NewServeMux()
	mux.Handle("GET "+web.StaticDir, web.Static())
	mux.HandleFunc("GET /{$}", p.with(RoleAuditor, p.list))
	mux.HandleFunc("GET /services/new", p.with(RoleOperator, p.newForm))
	mux.HandleFunc("POST /services/new", p.with(RoleOperator, p.create))
	mux.HandleFunc("GET "+svc, p.with(RoleAuditor, p.service))
	mux.HandleFunc("GET "+svc+"/edit", p.with(RoleOperator, p.editForm))
	mux.HandleFunc("POST "+svc+"/edit", p.with(RoleOperator, p.update))
	mux.HandleFunc("GET "+svc+"/disable", p.with(RoleOperator, p.confirmSwitch(true)))
	mux.HandleFunc("POST "+svc+"/disable", p.with(RoleOperator, p.switcher(true)))
	mux.HandleFunc("GET "+svc+"/enable", p.with(RoleOperator, p.confirmSwitch(false)))
	mux.HandleFunc("POST "+svc+"/enable", p.with(RoleOperator, p.switcher(false)))
	mux.HandleFunc("GET "+svc+"/openapi", p.with(RoleAuditor, p.openAPI))
	mux.HandleFunc("GET "+svc+"/grant", p.with(RoleOperator, p.grantForm))
	mux.HandleFunc("POST "+svc+"/grant", p.with(RoleOperator, p.grant))
	mux.HandleFunc("GET /rights", p.with(RoleAuditor, p.rights))
	mux.HandleFunc("GET /rights/{id}/revoke", p.with(RoleOperator, p.confirmRevoke))
	mux.HandleFunc("POST /rights/{id}/revoke", p.with(RoleOperator, p.revoke))
	return httpx.Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		p.r.RenderError(w, r, status, "")
	}), nil
}

func (p *pages) text(r *http.Request, key string, args ...any) string {
	return p.r.Text(web.Lang(r), key, args...)
}

// with resolves the caller, sends those not signed in to sign in, refuses
// a caller without the role (an operator may do what an auditor may) and
// form posts from other sites.
func (p *pages) with(role string, h func(http.ResponseWriter, *http.Request, Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := p.cfg.Caller(r)
		if httpx.UnavailableProblem(err) != nil {
			p.fail(w, r, err) // the identity could not be looked up: not a failed sign-in
			return
		}
		if err != nil || c.ID == "" {
			if p.cfg.SignInURL != "" && r.Method == http.MethodGet {
				http.Redirect(w, r, p.cfg.SignInURL+"?return="+url.QueryEscape(p.cfg.Prefix+r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.r.RenderError(w, r, http.StatusUnauthorized, p.text(r, "interop.sign_in"))
			return
		}
		if !c.Has(RoleOperator) && !c.Has(role) {
			key := "interop.error.no_role"
			if c.Has(RoleAuditor) {
				key = "interop.error.read_only"
			}
			p.r.RenderError(w, r, http.StatusForbidden, p.text(r, key))
			return
		}
		if r.Method == http.MethodPost && !httpx.SameOrigin(r) {
			p.r.RenderError(w, r, http.StatusForbidden, p.text(r, "interop.cross_site"))
			return
		}
		h(w, r, c)
	}
}

// fail answers an error as a page: what the operator can act on says so;
// anything else is logged.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		p.cfg.Logger.Info("client went away before the answer", zap.String("path", r.URL.Path), zap.Error(err))
		w.WriteHeader(499)
		return
	}
	switch {
	case errors.Is(err, ErrNotFound):
		p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "interop.error.not_found"))
	default:
		status := httpx.ServerErrorStatus(err) // 503 when the database is unavailable
		if status == http.StatusServiceUnavailable {
			p.cfg.Logger.Warn("interop page: database unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		} else {
			p.cfg.Logger.Error("interop page failed", zap.String("path", r.URL.Path), zap.Int("status", status),
				zap.String("request_id", httpx.RequestIDFromContext(r.Context())), zap.Error(err))
		}
		p.r.RenderError(w, r, status, "")
	}
}

// readForm reads a form post bounded in size; false when it was answered.
func (p *pages) readForm(w http.ResponseWriter, r *http.Request, max int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p.r.RenderError(w, r, http.StatusRequestEntityTooLarge, p.text(r, "interop.form.too_large"))
			return false
		}
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return false
	}
	return true
}

// serviceURL is the page of the service.
func (p *pages) serviceURL(id ServiceID) string { return p.cfg.Prefix + "/services/" + id.String() }

// serviceParam reads the service's identifier from the path, answering
// 404 when it is not one.
func (p *pages) serviceParam(w http.ResponseWriter, r *http.Request) (ServiceID, bool) {
	id := ServiceID{Instance: r.PathValue("i"), Class: r.PathValue("c"), Member: r.PathValue("m"),
		Subsystem: r.PathValue("s"), Service: r.PathValue("svc")}
	if ValidateServiceID(id) != nil {
		p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "interop.error.not_found"))
		return ServiceID{}, false
	}
	return id, true
}

// loadService reads the service the path names; false when answered.
func (p *pages) loadService(w http.ResponseWriter, r *http.Request) (Service, bool) {
	id, ok := p.serviceParam(w, r)
	if !ok {
		return Service{}, false
	}
	s, err := p.cfg.Store.Service(r.Context(), id)
	if err != nil {
		p.fail(w, r, err)
		return Service{}, false
	}
	return s, true
}

// done is the message of ?done= after a change, or "".
func (p *pages) done(r *http.Request) string {
	switch d := r.URL.Query().Get("done"); d {
	case "created", "saved", "disabled", "enabled", "granted", "revoked":
		return p.text(r, "interop.done."+d)
	}
	return ""
}

// option is a choice of a select box.
type option struct {
	Value, Label string
	Selected     bool
}

type serviceRow struct {
	URL, ID, Title, Owner string
	Disabled              bool
	Rights                int
}

type listPage struct {
	Base, Q, State, Done, SignOut string
	States                        []option
	Rows                          []serviceRow
	Total                         int
	Operator, Filtered            bool
}

// maxQuery bounds a search's words.
const maxQuery = 200

func (p *pages) list(w http.ResponseWriter, r *http.Request, c Caller) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	state := r.URL.Query().Get("state")
	if len(q) > maxQuery || (state != "" && state != "enabled" && state != "disabled") {
		p.r.RenderError(w, r, http.StatusBadRequest, p.text(r, "interop.list.bad_query"))
		return
	}
	snap, err := p.cfg.Store.Snapshot(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	lang := web.Lang(r)
	lp := listPage{Base: p.cfg.Prefix, Q: q, State: state, Done: p.done(r), SignOut: p.cfg.SignOutURL,
		Operator: c.Has(RoleOperator), Total: len(snap.Services), Filtered: q != "" || state != ""}
	for _, v := range []string{"", "enabled", "disabled"} {
		lp.States = append(lp.States, option{Value: v, Label: p.r.Text(lang, "interop.list.state_"+stateKey(v)), Selected: v == state})
	}
	rights := map[ServiceID]int{}
	for _, rt := range snap.Rights {
		rights[rt.Service]++
	}
	words := strings.Fields(fold.String(q))
	for _, s := range snap.Services {
		if state == "enabled" && s.Disabled || state == "disabled" && !s.Disabled {
			continue
		}
		hay := fold.String(s.ID.String() + " " + s.Owner.String() + " " + s.Title.El + " " + s.Title.En)
		if slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(hay, w) }) {
			continue
		}
		lp.Rows = append(lp.Rows, serviceRow{URL: p.serviceURL(s.ID), ID: s.ID.String(), Title: s.Title.in(lang),
			Owner: s.Owner.String(), Disabled: s.Disabled, Rights: rights[s.ID]})
	}
	p.r.Render(w, r, http.StatusOK, "list.html", lp)
}

func stateKey(v string) string {
	if v == "" {
		return "all"
	}
	return v
}

// in is the text in lang, or in the other language when it has none.
func (t Text) in(lang string) string {
	if lang == web.English && t.En != "" || t.El == "" {
		return t.En
	}
	return t.El
}
