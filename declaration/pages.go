package declaration

import (
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed templates messages
var pageAssets embed.FS

// PagesConfig configures the citizen's pages and the public verification
// page.
type PagesConfig struct {
	Service *Service
	// Declarant identifies the signed-in person; an error means nobody is
	// signed in, and the person is sent to SignInURL.
	Declarant func(r *http.Request) (Person, error)
	// SignInURL is where people who are not signed in go, with
	// ?return=<the page>; empty shows a page asking them to sign in.
	SignInURL string
	// SignOutURL is where the sign-out button of the citizen's pages
	// posts; empty shows none.
	SignOutURL string
	// Prefix is the path the citizen's pages are mounted at, such as
	// "/declarations"; links are made from it.
	Prefix string
	// StaticPrefix is the directory the pages link their stylesheet from.
	// Empty means each handler's own: PagesHandler serves it at
	// Prefix + "/static/", VerifyHandler below the verification path
	// (see VerifyHandler), so the pages need nothing else mounted. A site
	// that serves one shared stylesheet for all its pages names its
	// directory here, such as "/static/". HomeURL is where the brand link
	// leads; empty means "/".
	StaticPrefix, HomeURL string
	// ClientAddr gives the address verification is limited by; nil means
	// the connection's address.
	ClientAddr func(r *http.Request) string
	Logger     *zap.Logger
}

// defaultLocation is where dates are shown when Config.Location is nil:
// the location of every egovkit page, Europe/Athens.
var defaultLocation = web.DefaultLocation

type pages struct {
	cfg PagesConfig
	s   *Service
	r   *web.Renderer
}

// newPages builds the pages of a handler mounted at mount, below which it
// serves the stylesheet unless cfg.StaticPrefix names another place.
func newPages(cfg PagesConfig, mount func(PagesConfig) string) (*pages, error) {
	if cfg.Service == nil {
		return nil, errors.New("declaration: the pages need a Service")
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.StaticPrefix == "" {
		cfg.StaticPrefix = web.StaticPrefixAt(mount(cfg))
	}
	if cfg.HomeURL == "" {
		cfg.HomeURL = "/"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = httpx.RemoteHost
	}
	r, err := web.NewRenderer(pageAssets, "templates/*.html",
		web.WithMessages(pageAssets, "messages/*.json"),
		web.WithServiceName("declaration.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(cfg.Logger),
		web.WithLocation(cfg.Service.cfg.Location),
	)
	if err != nil {
		return nil, err
	}
	return &pages{cfg: cfg, s: cfg.Service, r: r}, nil
}

// PagesHandler serves the citizen's pages in Greek and English, without
// JavaScript (mount it at Prefix with http.StripPrefix): their documents
// and the authorizations given to them, forms for a new solemn
// declaration, authorization or template document, the preview with the
// one-time code, the PDF and revocation, confirmed with a code too. Form
// posts from other sites are refused. It serves the pages' stylesheet
// itself, to anyone, at Prefix + "/static/egovkit.<hash>.css" (text/css,
// cached for a year since its name changes with its content).
func PagesHandler(cfg PagesConfig) (http.Handler, error) {
	if cfg.Declarant == nil {
		return nil, errors.New("declaration: the citizen's pages need a Declarant")
	}
	p, err := newPages(cfg, func(c PagesConfig) string { return c.Prefix })
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+web.StaticDir, web.Static())
	mux.HandleFunc("GET /{$}", p.signedIn(p.home))
	mux.HandleFunc("GET /new/{kind}", p.signedIn(p.newForm))
	mux.HandleFunc("POST /new/{kind}", p.signedIn(p.create))
	mux.HandleFunc("GET /d/{id}", p.signedIn(p.view))
	mux.HandleFunc("GET /d/{id}/pdf", p.signedIn(p.pdf))
	mux.HandleFunc("POST /d/{id}/code", p.signedIn(p.sendCode))
	mux.HandleFunc("POST /d/{id}/confirm", p.signedIn(p.confirm))
	mux.HandleFunc("POST /d/{id}/revoke/code", p.signedIn(p.sendRevokeCode))
	mux.HandleFunc("POST /d/{id}/revoke", p.signedIn(p.revoke))
	mux.HandleFunc("GET /granted/{id}/pdf", p.signedIn(p.grantedPDF))
	return httpx.Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		p.r.RenderError(w, r, status, "")
	}), nil
}

// VerifyHandler serves the public verification page: a form for the code
// and, with ?code=, what the document says and whether it is valid. Mount
// it where Config.BaseURL + "/verify" leads, since QR codes point there.
// Unless PagesConfig.StaticPrefix says otherwise, the page links its
// stylesheet below that path, which the handler serves too: mount it at
// the path and at the path with a slash,
//
//	mux.Handle("/verify", verify)
//	mux.Handle("/verify/", verify)
func VerifyHandler(cfg PagesConfig) (http.Handler, error) {
	p, err := newPages(cfg, func(c PagesConfig) string { return c.Service.verifyPath() })
	if err != nil {
		return nil, err
	}
	static := web.Static()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && web.IsStatic(r.URL.Path) {
			static.ServeHTTP(w, r)
			return
		}
		p.verify(w, r)
	}), nil
}

// verifyPath is the path of the verification page, the path of
// Config.BaseURL + "/verify", where QR codes lead and VerifyHandler is
// mounted.
func (s *Service) verifyPath() string {
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil {
		return "/verify"
	}
	return strings.TrimSuffix(u.Path, "/") + "/verify"
}

func (p *pages) text(r *http.Request, key string, args ...any) string {
	return p.r.Text(web.Lang(r), key, args...)
}

func (p *pages) signedIn(h func(http.ResponseWriter, *http.Request, Person)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		person, err := p.cfg.Declarant(r)
		if httpx.UnavailableProblem(err) != nil {
			// The identity could not be looked up: not a failed sign-in.
			p.fail(w, r, err)
			return
		}
		if err != nil || person.AFM == "" {
			if p.cfg.SignInURL != "" && r.Method == http.MethodGet {
				http.Redirect(w, r, p.cfg.SignInURL+"?return="+url.QueryEscape(p.cfg.Prefix+r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.r.RenderError(w, r, http.StatusUnauthorized, p.text(r, "declaration.sign_in"))
			return
		}
		if r.Method == http.MethodPost && !httpx.SameOrigin(r) {
			p.r.RenderError(w, r, http.StatusForbidden, p.text(r, "declaration.cross_site"))
			return
		}
		h(w, r, person)
	}
}

// fail answers an error: a refusal the person can act on as a page saying
// so, anything else as an error page (logged).
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(w, r, p.cfg.Logger, err) {
		return
	}
	var de *Error
	switch {
	case errors.As(err, &de):
		status := http.StatusConflict
		switch de.Kind {
		case ErrNotFound:
			status = http.StatusNotFound
		case ErrForbidden:
			status = http.StatusForbidden
		}
		p.r.RenderError(w, r, status, p.text(r, "declaration.error."+errKey(de.Kind)))
	default:
		status := httpx.ServerErrorStatus(err) // 503 when the database is unavailable
		p.cfg.Logger.Error("declaration page failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.Error(err))
		p.r.RenderError(w, r, status, "")
	}
}

func errKey(kind error) string {
	switch kind {
	case ErrNotFound:
		return "not_found"
	case ErrExpired:
		return "expired"
	case ErrState:
		return "state"
	}
	return "other"
}

type docRow struct {
	URL, Title, State, Protocol, Date, Other, PDF string
}

func (p *pages) title(r *http.Request, d *Document) string {
	switch d.Draft.Kind {
	case KindSolemn:
		return p.text(r, "declaration.kind.solemn_declaration")
	case KindAuthorization:
		return p.text(r, "declaration.kind.authorization")
	}
	if t, ok := p.s.templates[d.Draft.Template]; ok {
		return t.Title.In(web.Lang(r))
	}
	return d.Draft.Template
}

func (p *pages) row(r *http.Request, d *Document, link bool) docRow {
	row := docRow{Title: p.title(r, d), State: p.text(r, "declaration.state."+d.State), Protocol: d.Protocol,
		Date: web.FormatDateTime(d.CreatedAt, p.s.cfg.Location)}
	if link {
		row.URL = p.cfg.Prefix + "/d/" + d.ID
	}
	if !d.IssuedAt.IsZero() {
		row.Date = web.FormatDateTime(d.IssuedAt, p.s.cfg.Location)
	}
	return row
}

type kindLink struct{ URL, Title string }

func (p *pages) home(w http.ResponseWriter, r *http.Request, person Person) {
	mine, err := p.s.List(r.Context(), person)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	granted, err := p.s.GrantedTo(r.Context(), person)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data := map[string]any{"Name": person.GivenName + " " + person.FamilyName, "SignOut": p.cfg.SignOutURL}
	kinds := []kindLink{
		{p.cfg.Prefix + "/new/" + KindSolemn, p.text(r, "declaration.kind.solemn_declaration")},
		{p.cfg.Prefix + "/new/" + KindAuthorization, p.text(r, "declaration.kind.authorization")},
	}
	for _, t := range p.s.Templates() {
		kinds = append(kinds, kindLink{p.cfg.Prefix + "/new/" + KindTemplate + "?template=" + url.QueryEscape(t.Name), t.Title.In(web.Lang(r))})
	}
	data["Kinds"] = kinds
	var rows, given []docRow
	for _, d := range mine {
		rows = append(rows, p.row(r, d, true))
	}
	for _, d := range granted {
		row := p.row(r, d, false)
		row.Other = d.Declarant.GivenName + " " + d.Declarant.FamilyName
		row.URL = p.s.VerifyURL(d.Code)
		row.PDF = p.cfg.Prefix + "/granted/" + d.ID + "/pdf"
		given = append(given, row)
	}
	data["Documents"], data["Granted"] = rows, given
	p.r.Render(w, r, http.StatusOK, "home.html", data)
}

// formField is one input of the new-document form.
type formField struct {
	Name, Label, Hint, Value, Type, Error string
	Required, Long                        bool
	Max                                   int
}

type formPage struct {
	Action, Title, Lead, Statutory string
	Fields                         []formField
	Errors                         []formField
	Lang                           string
}

// fieldsFor lists the inputs of a kind of document, with the values given.
func (p *pages) fieldsFor(r *http.Request, kind string, t *template, values url.Values) []formField {
	f := func(name, key string, required, long bool, max int, typ string) formField {
		return formField{Name: name, Label: p.text(r, "declaration.field."+key), Hint: p.label(r, "declaration.hint."+key),
			Value: values.Get(name), Required: required, Long: long, Max: max, Type: typ}
	}
	switch kind {
	case KindSolemn:
		return []formField{f("recipient", "recipient", true, false, MaxRecipient, "text"), f("text", "text", true, true, MaxText, "")}
	case KindAuthorization:
		return []formField{f("grantee_afm", "grantee_afm", true, false, 20, "text"), f("grantee_name", "grantee_name", true, false, MaxName, "text"),
			f("text", "powers", true, true, MaxText, ""), f("valid_until", "valid_until", true, false, 10, "date"),
			f("recipient", "recipient_optional", false, false, MaxRecipient, "text")}
	}
	var out []formField
	for _, prop := range schemaProperties(t.Schema) {
		out = append(out, formField{Name: "field." + prop.name, Label: prop.title, Value: values.Get("field." + prop.name),
			Required: prop.required, Max: 2000, Type: "text"})
	}
	if t.Authorization {
		out = append(out, f("grantee_afm", "grantee_afm", true, false, 20, "text"), f("grantee_name", "grantee_name", true, false, MaxName, "text"))
	}
	return out
}

// label translates key, or gives "" when the catalogue has none.
func (p *pages) label(r *http.Request, key string) string {
	if t := p.text(r, key); t != key {
		return t
	}
	return ""
}

type schemaProp struct {
	name, title string
	required    bool
}

// schemaProperties lists the top-level string properties of a template's
// schema, in name order, with their titles.
func schemaProperties(schema []byte) []schemaProp {
	var s struct {
		Properties map[string]struct {
			Title string `json:"title"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return nil
	}
	var out []schemaProp
	for name, prop := range s.Properties {
		title := prop.Title
		if title == "" {
			title = name
		}
		out = append(out, schemaProp{name: name, title: title, required: slices.Contains(s.Required, name)})
	}
	slices.SortFunc(out, func(a, b schemaProp) int { return strings.Compare(a.name, b.name) })
	return out
}

func (p *pages) kindOf(r *http.Request) (string, *template, bool) {
	kind := r.PathValue("kind")
	switch kind {
	case KindSolemn, KindAuthorization:
		return kind, nil, true
	case KindTemplate:
		t, ok := p.s.templates[r.URL.Query().Get("template")]
		return kind, &t, ok
	}
	return "", nil, false
}

func (p *pages) form(r *http.Request, kind string, t *template, values url.Values) formPage {
	fp := formPage{Action: p.cfg.Prefix + r.URL.RequestURI(), Fields: p.fieldsFor(r, kind, t, values), Lang: values.Get("lang")}
	switch kind {
	case KindSolemn:
		fp.Title, fp.Lead = p.text(r, "declaration.new.solemn_declaration"), p.text(r, "declaration.new.solemn_lead")
		fp.Statutory = StatutoryWording.In(web.Lang(r))
	case KindAuthorization:
		fp.Title, fp.Lead = p.text(r, "declaration.new.authorization"), p.text(r, "declaration.new.authorization_lead")
	default:
		fp.Title = t.Title.In(web.Lang(r))
	}
	if fp.Lang == "" {
		fp.Lang = web.Lang(r)
	}
	return fp
}

func (p *pages) newForm(w http.ResponseWriter, r *http.Request, _ Person) {
	kind, t, ok := p.kindOf(r)
	if !ok {
		p.r.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	p.r.Render(w, r, http.StatusOK, "new.html", p.form(r, kind, t, url.Values{}))
}

func (p *pages) create(w http.ResponseWriter, r *http.Request, person Person) {
	kind, t, ok := p.kindOf(r)
	if !ok {
		p.r.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4*MaxText+MaxFields)
	if err := r.ParseForm(); err != nil {
		p.r.RenderError(w, r, http.StatusRequestEntityTooLarge, "")
		return
	}
	v := r.PostForm
	d := Draft{Kind: kind, Lang: v.Get("lang"), Recipient: v.Get("recipient"), Text: v.Get("text")}
	if kind == KindAuthorization || t != nil && t.Authorization {
		d.Grantee = &Party{AFM: v.Get("grantee_afm"), Name: v.Get("grantee_name")}
	}
	var dateErr bool
	if s := v.Get("valid_until"); s != "" {
		end, err := web.ParseUntil(s, p.s.cfg.Location) // to the end of that day
		if err != nil {
			dateErr = true
		} else {
			d.ValidUntil = end
		}
	}
	if t != nil {
		d.Template = r.URL.Query().Get("template")
		fields := map[string]string{}
		for _, prop := range schemaProperties(t.Schema) {
			if s := strings.TrimSpace(v.Get("field." + prop.name)); s != "" {
				fields[prop.name] = s
			}
		}
		d.Fields, _ = json.Marshal(fields)
	}
	doc, err := p.s.Create(r.Context(), person, d)
	var inv *InvalidError
	if dateErr || errors.As(err, &inv) {
		fp := p.form(r, kind, t, v)
		p.markErrors(r, &fp, inv, dateErr)
		p.r.Render(w, r, http.StatusUnprocessableEntity, "new.html", fp)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/d/"+doc.ID+"?saved=1", http.StatusSeeOther)
}

// inputOf names the form input a draft's JSON Pointer belongs to.
func inputOf(ptr string) string {
	switch {
	case ptr == "/grantee/afm", ptr == "/grantee":
		return "grantee_afm"
	case ptr == "/grantee/name":
		return "grantee_name"
	case strings.HasPrefix(ptr, "/fields/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(ptr, "/fields/"), "/")
		return "field." + name
	}
	return strings.TrimPrefix(ptr, "/")
}

// details maps the validation messages of drafts to catalogue keys, so
// pages say them in the person's language.
var details = []struct{ prefix, key string }{
	{"is required", "required"},
	{"must be at most", "too_long"},
	{"is not a valid tax number: its check digit", "afm_check"},
	{"is not a valid tax number", "afm"},
	{"must not be the declarant's own", "own_afm"},
	{"must be in the future", "future"},
	{"an authorization needs an end date", "end_date"},
	{"has characters a document cannot print", "unprintable"},
	{"must not contain control characters", "invalid_text"},
	{"is not valid text", "invalid_text"},
}

func (p *pages) detail(r *http.Request, d string) string {
	for _, m := range details {
		if strings.HasPrefix(d, m.prefix) {
			return p.text(r, "declaration.detail."+m.key)
		}
	}
	return d
}

func (p *pages) markErrors(r *http.Request, fp *formPage, inv *InvalidError, dateErr bool) {
	msgs := map[string]string{}
	if dateErr {
		msgs["valid_until"] = p.text(r, "declaration.invalid.date")
	}
	if inv != nil {
		for _, f := range inv.Fields {
			name := inputOf(f.Pointer)
			if _, seen := msgs[name]; !seen {
				msgs[name] = p.detail(r, f.Detail)
			}
		}
	}
	for i := range fp.Fields {
		if m, ok := msgs[fp.Fields[i].Name]; ok {
			fp.Fields[i].Error = m
			fp.Errors = append(fp.Errors, fp.Fields[i])
			delete(msgs, fp.Fields[i].Name)
		}
	}
	for name, m := range msgs { // an error with no input of its own (declarant, language)
		fp.Errors = append(fp.Errors, formField{Name: name, Label: name, Error: m})
	}
}

type viewPage struct {
	Doc                           *Document
	Title, State, Statutory, Base string
	Rows                          [][2]string
	Sent, NoMobile                bool
	Mobile, Message, VerifyURL    string
	CodeError                     string
	// RevokeSent shows the form that revokes with the code sent;
	// RevokeError says why the last try was refused, and ReasonError or
	// ConfirmError whether the reason or the missing confirmation, rather
	// than the code, was at fault. Saved says a draft was just saved.
	RevokeSent, ReasonError, ConfirmError, Saved bool
	RevokeError, Reason                          string
	Paragraphs                                   []string
}

// paragraphs splits what a person wrote at its line breaks.
func paragraphs(text string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (p *pages) view(w http.ResponseWriter, r *http.Request, person Person) {
	p.renderView(w, r, person, http.StatusOK, viewErrors{})
}

// viewErrors say why a request about a document was refused: code, a
// code for issuing it; revoke, a revocation, for its reason when reason.
type viewErrors struct {
	code, revoke    string
	reason, confirm bool
}

// renderView shows a document, with what errs says was refused.
func (p *pages) renderView(w http.ResponseWriter, r *http.Request, person Person, status int, errs viewErrors) {
	d, err := p.s.Get(r.Context(), person, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	vp := viewPage{Doc: d, Title: p.title(r, d), State: p.text(r, "declaration.state."+d.State), Base: p.cfg.Prefix + "/d/" + d.ID,
		Sent: r.URL.Query().Get("sent") == "1" || errs.code != "", Mobile: httpx.MaskPhone(person.Mobile), NoMobile: person.Mobile == "",
		CodeError: errs.code, Paragraphs: paragraphs(d.Draft.Text),
		RevokeSent: r.URL.Query().Get("revoke") == "1" || errs.revoke != "", RevokeError: errs.revoke, Reason: r.PostForm.Get("reason"),
		ReasonError: errs.reason, ConfirmError: errs.confirm, Saved: r.URL.Query().Get("saved") == "1"}
	if d.Draft.Kind == KindSolemn {
		vp.Statutory = StatutoryWording.In(d.Draft.Lang)
	}
	if d.Code != "" {
		vp.VerifyURL = p.s.VerifyURL(d.Code)
	}
	vp.Rows = p.rows(r, d)
	if d.State == StateDraft && !p.s.now().Before(d.ExpiresAt) {
		vp.Message = p.text(r, "declaration.error.expired")
	}
	p.r.Render(w, r, status, "view.html", vp)
}

// rows lists what a document says, label and value, for the pages.
func (p *pages) rows(r *http.Request, d *Document) [][2]string {
	var out [][2]string
	add := func(key, v string) {
		if v != "" {
			out = append(out, [2]string{p.text(r, "declaration.field."+key), v})
		}
	}
	if d.Draft.Kind == KindSolemn {
		add("recipient", d.Draft.Recipient)
	} else {
		add("recipient_optional", d.Draft.Recipient)
	}
	add("declarant", d.Declarant.GivenName+" "+d.Declarant.FamilyName)
	add("father", d.Declarant.FatherName)
	add("mother", d.Declarant.MotherName)
	add("afm", d.Declarant.AFM)
	if g := d.Draft.Grantee; g != nil {
		add("grantee_name", g.Name)
		add("grantee_afm", g.AFM)
	}
	add("valid_until", web.FormatUntil(d.Draft.ValidUntil, p.s.cfg.Location))
	for _, kv := range flatFields(d.Draft.Fields) {
		out = append(out, kv)
	}
	add("protocol", d.Protocol)
	if !d.IssuedAt.IsZero() {
		add("issued", web.FormatDateTime(d.IssuedAt, p.s.cfg.Location))
	}
	add("code", d.Code)
	return out
}

func (p *pages) pdf(w http.ResponseWriter, r *http.Request, person Person) {
	servePDF(w, r, p.s, person, p.s.Get, p.fail)
}

func (p *pages) grantedPDF(w http.ResponseWriter, r *http.Request, person Person) {
	servePDF(w, r, p.s, person, p.s.Granted, p.fail)
}

func (p *pages) sendCode(w http.ResponseWriter, r *http.Request, person Person) {
	id := r.PathValue("id")
	if _, err := p.s.RequestCode(r.Context(), person, id); err != nil {
		var de *Error
		if errors.As(err, &de) && de.Kind == ErrCode {
			p.renderView(w, r, person, http.StatusTooManyRequests, viewErrors{code: p.text(r, "declaration.code.wait")})
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/d/"+id+"?sent=1", http.StatusSeeOther)
}

func (p *pages) sendRevokeCode(w http.ResponseWriter, r *http.Request, person Person) {
	id := r.PathValue("id")
	if _, err := p.s.RequestRevokeCode(r.Context(), person, id); err != nil {
		var de *Error
		if errors.As(err, &de) && de.Kind == ErrCode {
			p.renderView(w, r, person, http.StatusTooManyRequests, viewErrors{revoke: p.text(r, "declaration.code.wait")})
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/d/"+id+"?revoke=1#revoke", http.StatusSeeOther)
}

func (p *pages) confirm(w http.ResponseWriter, r *http.Request, person Person) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	if _, err := p.s.Confirm(r.Context(), person, id, strings.TrimSpace(r.PostForm.Get("code"))); err != nil {
		var de *Error
		if errors.As(err, &de) && de.Kind == ErrCode {
			status := http.StatusUnprocessableEntity
			if de.RetryAfter > 0 {
				status = http.StatusTooManyRequests
			}
			p.renderView(w, r, person, status, viewErrors{code: p.codeMessage(r, de)})
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/d/"+id, http.StatusSeeOther)
}

func (p *pages) codeMessage(r *http.Request, e *Error) string {
	switch {
	case e.RetryAfter > 0:
		return p.text(r, "declaration.code.wait")
	case strings.Contains(e.Detail, "expired"):
		return p.text(r, "declaration.code.expired")
	case strings.Contains(e.Detail, "ask for a code first"):
		return p.text(r, "declaration.code.first")
	case strings.Contains(e.Detail, "three"), strings.Contains(e.Detail, "used"):
		return p.text(r, "declaration.code.again")
	}
	return p.text(r, "declaration.code.wrong")
}

func (p *pages) revoke(w http.ResponseWriter, r *http.Request, person Person) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 8192)
	if err := r.ParseForm(); err != nil {
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		// Revoking cannot be undone: the person says they know it.
		p.renderView(w, r, person, http.StatusUnprocessableEntity, viewErrors{confirm: true,
			revoke: p.text(r, "declaration.view.revoke_unconfirmed")})
		return
	}
	if _, err := p.s.Revoke(r.Context(), person, id, strings.TrimSpace(r.PostForm.Get("code")), r.PostForm.Get("reason")); err != nil {
		var inv *InvalidError
		var de *Error
		switch {
		case errors.As(err, &inv):
			p.renderView(w, r, person, http.StatusUnprocessableEntity, viewErrors{reason: true,
				revoke: p.text(r, "declaration.view.reason") + ": " + p.detail(r, inv.Fields[0].Detail)})
		case errors.As(err, &de) && de.Kind == ErrCode:
			status := http.StatusUnprocessableEntity
			if de.RetryAfter > 0 {
				status = http.StatusTooManyRequests
			}
			p.renderView(w, r, person, status, viewErrors{revoke: p.codeMessage(r, de)})
		default:
			p.fail(w, r, err)
		}
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/d/"+id, http.StatusSeeOther)
}

type verifyPage struct {
	Code, Status, StatusText, Title string
	Checked, Limited, Malformed     bool
	Rows                            [][2]string
	Paragraphs                      []string
	Statutory                       string
}

func (p *pages) verify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.r.RenderError(w, r, http.StatusMethodNotAllowed, "")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the code is in the URL
	vp := verifyPage{Code: r.URL.Query().Get("code")}
	if len(vp.Code) > 100 {
		vp.Code = vp.Code[:100]
	}
	status := http.StatusOK
	if _, ok := NormalizeCode(vp.Code); vp.Code != "" && !ok {
		// Not a code at all: say what one looks like, and spend
		// nothing of the person's allowance of lookups on it.
		vp.Malformed, status = true, http.StatusUnprocessableEntity
	} else if vp.Code != "" {
		v, err := p.s.VerifyFrom(r.Context(), vp.Code, p.cfg.ClientAddr(r))
		var rl *RateLimitError
		switch {
		case errors.As(err, &rl):
			vp.Limited, status = true, http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		case err != nil:
			p.fail(w, r, err)
			return
		default:
			vp.Checked, vp.Status = true, v.Status
			vp.StatusText = p.text(r, "declaration.verify."+v.Status)
			if v.Status != StatusUnknown {
				d := &Document{Issuer: v.Issuer, Protocol: v.Protocol, IssuedAt: v.IssuedAt, Declarant: *v.Declarant, Draft: *v.Content}
				vp.Title = p.title(r, d)
				vp.Rows = p.rows(r, d)
				vp.Rows = append([][2]string{{p.text(r, "declaration.field.issuer"), v.Issuer}}, vp.Rows...)
				vp.Paragraphs, vp.Statutory = paragraphs(v.Content.Text), v.Statutory
				if v.Status == StatusRevoked {
					vp.Rows = append(vp.Rows, [2]string{p.text(r, "declaration.field.revoked"), web.FormatDateTime(v.RevokedAt, p.s.cfg.Location)})
				}
			}
		}
	}
	p.r.Render(w, r, status, "verify.html", vp)
}
