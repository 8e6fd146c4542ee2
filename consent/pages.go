package consent

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed templates messages
var pageAssets embed.FS

// PreviewFetcher shows the citizen, before they decide, the data a
// request would release, where the source offers a preview (the EU
// Once-Only Technical System's preview). The pages ask it for each
// request they show; an error shows the request without a preview.
type PreviewFetcher interface {
	// Preview returns the values the source holds about the citizen for
	// the items, or none when the source offers no preview of them.
	Preview(ctx context.Context, q PreviewQuery) ([]PreviewValue, error)
}

// PreviewQuery is what a preview is asked for: the citizen, the source
// and the items of the request.
type PreviewQuery struct {
	TaxNumber string
	Source    Source
	Items     []Item
}

// PreviewValue is one item's value as the source would release it.
type PreviewValue struct {
	Item  string
	Value string
}

// Offer is a standing consent the citizen may give from their account: a
// requester, the source, the items and the purpose, for Validity from
// the moment it is given, with MaxUses (as in Draft).
type Offer struct {
	// ID names the offer in the form; unique among the offers.
	ID         string
	Requester  Requester
	Source     Source
	Items      []Item
	Purpose    Purpose
	LegalBasis string
	Validity   time.Duration
	MaxUses    int
	Recipients []string
}

// PagesConfig configures the citizen's pages.
type PagesConfig struct {
	Service *Service
	// Citizen identifies the signed-in citizen; an error means nobody is
	// signed in, and they are sent to SignInURL. The pages need LoA
	// substantial or high and refuse a lower sign-in.
	Citizen func(r *http.Request) (Citizen, error)
	// SignInURL is where people who are not signed in go, with
	// ?return=<the page>; empty shows a page asking them to sign in.
	SignInURL string
	// SignOutURL is where the sign-out button posts; empty shows none.
	SignOutURL string
	// Prefix is the path the pages are mounted at, such as "/consent";
	// links are made from it.
	Prefix string
	// StaticPrefix is the directory the pages link their stylesheet from;
	// empty means Prefix + "/static/", which PagesHandler serves itself.
	// HomeURL is where the brand link leads; empty means "/".
	StaticPrefix, HomeURL string
	// Preview shows the data a request would release; nil shows none.
	Preview PreviewFetcher
	// Offers are the standing consents the citizen may give; none hides
	// the form.
	Offers []Offer
	// ItemNames are the words for data items, by item id; an item without
	// is shown by its id.
	ItemNames map[string]Text
	// Proofs, when set, shows beside each use of the access log the
	// exchange it was and whether the exchange log proves it; nil shows
	// the exchange id alone.
	Proofs ProofChecker
	Logger *zap.Logger
}

// ProofChecker finds the proof that an exchange named in the access log
// is in the gateway's exchange log (package consent knows no gateway: the
// importer supplies it).
type ProofChecker interface {
	// CheckProof answers the proof of the exchange; an error (no such
	// entry, a log that does not answer) shows the use as not verified.
	CheckProof(ctx context.Context, exchangeID string) (Proof, error)
}

// Proof is a ProofChecker's answer for one exchange.
type Proof struct {
	// Verified is true when the checker verified the exchange's entry and
	// its inclusion in the log's latest signed checkpoint; false while the
	// entry is newer than that checkpoint.
	Verified bool
	// URL is where anyone can fetch the inclusion proof to check it
	// themselves; empty shows no link.
	URL string
}

type pages struct {
	cfg PagesConfig
	s   *Service
	r   *web.Renderer
}

// PagesHandler serves the citizen's pages in Greek and English, without
// JavaScript (mount it at Prefix with http.StripPrefix):
//
//	GET  /                   my consents: requests waiting for an answer, active consents, past ones
//	GET  /r/{id}             a request: who asks for what, from whom, why, for how long; approve or refuse
//	POST /r/{id}/approve     approve it, and return to the requester with the consent id
//	POST /r/{id}/refuse      refuse it, and return to the requester with error=access_denied
//	GET  /c/{id}             a consent and its receipt, as a page
//	GET  /c/{id}/receipt     the signed receipt (JWS) to download
//	GET  /c/{id}/withdraw    the confirmation of a withdrawal; POST withdraws
//	GET  /log                who used my data: newest first, paged, by requester
//	GET  /give               a standing consent from the offers; POST gives it
//
// The citizen must be signed in at LoA substantial or high. The return to
// the requester goes only to the URL stored with the request, which the
// API accepted as registered to that requester, with consent_id or
// error=access_denied, and state, in its query. Form posts from other
// sites are refused. It serves the stylesheet at Prefix + "/static/".
func PagesHandler(cfg PagesConfig) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("consent: the pages need a Service")
	}
	if cfg.Citizen == nil {
		return nil, errors.New("consent: the pages need a Citizen")
	}
	for i, o := range cfg.Offers {
		if o.ID == "" || slices.ContainsFunc(cfg.Offers[:i], func(p Offer) bool { return p.ID == o.ID }) {
			return nil, errors.New("consent: every offer needs an id of its own")
		}
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
	r, err := web.NewRenderer(pageAssets, "templates/*.html",
		web.WithMessages(pageAssets, "messages/*.json"),
		web.WithServiceName("consent.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(cfg.Logger),
	)
	if err != nil {
		return nil, err
	}
	p := &pages{cfg: cfg, s: cfg.Service, r: r}
	mux := http.NewServeMux()
	mux.Handle("GET "+web.StaticDir, web.Static())
	mux.HandleFunc("GET /{$}", p.signedIn(p.home))
	mux.HandleFunc("GET /r/{id}", p.signedIn(p.request))
	mux.HandleFunc("POST /r/{id}/approve", p.signedIn(p.approve))
	mux.HandleFunc("POST /r/{id}/refuse", p.signedIn(p.refuse))
	mux.HandleFunc("GET /c/{id}", p.signedIn(p.consent))
	mux.HandleFunc("GET /c/{id}/receipt", p.signedIn(p.receipt))
	mux.HandleFunc("GET /c/{id}/withdraw", p.signedIn(p.confirmWithdraw))
	mux.HandleFunc("POST /c/{id}/withdraw", p.signedIn(p.withdraw))
	mux.HandleFunc("GET /log", p.signedIn(p.log))
	mux.HandleFunc("GET /give", p.signedIn(p.giveForm))
	mux.HandleFunc("POST /give", p.signedIn(p.give))
	return httpx.Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		p.r.RenderError(w, r, status, "")
	}), nil
}

func (p *pages) text(r *http.Request, key string, args ...any) string {
	return p.r.Text(web.Lang(r), key, args...)
}

func (p *pages) signedIn(h func(http.ResponseWriter, *http.Request, Citizen)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := p.cfg.Citizen(r)
		if httpx.UnavailableProblem(err) != nil {
			p.fail(w, r, err) // the identity could not be looked up: not a failed sign-in
			return
		}
		if err != nil || c.TaxNumber == "" {
			if p.cfg.SignInURL != "" && r.Method == http.MethodGet {
				http.Redirect(w, r, p.cfg.SignInURL+"?return="+url.QueryEscape(p.cfg.Prefix+r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.r.RenderError(w, r, http.StatusUnauthorized, p.text(r, "consent.sign_in"))
			return
		}
		if c.LoA != LoASubstantial && c.LoA != LoAHigh {
			p.r.RenderError(w, r, http.StatusForbidden, p.text(r, "consent.error.assurance"))
			return
		}
		if r.Method == http.MethodPost && !httpx.SameOrigin(r) {
			p.r.RenderError(w, r, http.StatusForbidden, p.text(r, "consent.cross_site"))
			return
		}
		h(w, r, c)
	}
}

// fail answers an error as a page: a refusal the citizen can act on says
// so; anything else is logged.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		p.cfg.Logger.Info("client went away before the answer", zap.String("path", r.URL.Path), zap.Error(err))
		w.WriteHeader(499)
		return
	}
	var se *StateError
	var ie *InvalidError
	switch {
	case errors.Is(err, ErrNotFound):
		p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "consent.error.not_found"))
	case errors.Is(err, ErrAssurance):
		p.r.RenderError(w, r, http.StatusForbidden, p.text(r, "consent.error.assurance"))
	case errors.As(err, &se):
		p.r.RenderError(w, r, http.StatusConflict, p.text(r, "consent.error.state", "state", p.stateText(r, se.State)))
	case errors.As(err, &ie):
		p.r.RenderError(w, r, http.StatusUnprocessableEntity, p.text(r, "consent.error.invalid"))
	default:
		status := httpx.ServerErrorStatus(err) // 503 when the database is unavailable
		p.cfg.Logger.Error("consent page failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.Error(err))
		p.r.RenderError(w, r, status, "")
	}
}

func (p *pages) stateText(r *http.Request, s State) string {
	return p.text(r, "consent.state."+string(s))
}

// itemName is the words for an item in lang.
func (p *pages) itemName(lang, id string) string {
	if t, ok := p.cfg.ItemNames[id]; ok {
		return t.In(lang)
	}
	return id
}

func (p *pages) itemList(lang string, ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = p.itemName(lang, id)
	}
	return strings.Join(names, ", ")
}

// usesText says a use limit in words.
func (p *pages) usesText(lang string, max int) string {
	switch max {
	case Unlimited:
		return p.r.Text(lang, "consent.uses.unlimited")
	case 1:
		return p.r.Text(lang, "consent.uses.one")
	}
	return p.r.Text(lang, "consent.uses.n", "n", max)
}

// Notice is the plain-language statement of a request in lang, as the
// request page shows it and as its hash is kept with the decision: who
// asks for what, from whom, why, until when, and how many times.
func (p *pages) notice(r *Record, lang string) string {
	return p.r.Text(lang, "consent.notice", "requester", r.Requester.Organisation,
		"registry", r.Source.Registry, "service", r.Source.Service, "items", p.itemList(lang, r.ItemIDs()),
		"purpose", r.Purpose.Text.In(lang), "until", web.FormatDateTime(r.ValidUntil, nil), "uses", p.usesText(lang, r.MaxUses))
}

// row is one consent in a list.
type row struct {
	URL, Requester, Purpose, State, Date, Until string
}

func (p *pages) row(r *http.Request, rec *Record, now time.Time) row {
	lang := web.Lang(r)
	out := row{Requester: rec.Requester.Organisation, Purpose: rec.Purpose.Text.In(lang),
		State: p.stateText(r, rec.StateAt(now)), Date: web.FormatDateTime(rec.CreatedAt, nil),
		Until: web.FormatDateTime(rec.ValidUntil, nil)}
	if rec.StateAt(now) == StateAwaitingAuthorisation {
		out.URL = p.cfg.Prefix + "/r/" + url.PathEscape(rec.ID)
	} else {
		out.URL = p.cfg.Prefix + "/c/" + url.PathEscape(rec.ID)
	}
	return out
}

// section is one table of the home page: its id, heading, rows, and what
// it says when empty ("" hides an empty section).
type section struct {
	ID, Title, Empty string
	Rows             []row
}

type homePage struct {
	Sections      []section
	SignOut, Base string
	Offers        bool
	Done          string
}

func (p *pages) home(w http.ResponseWriter, r *http.Request, c Citizen) {
	recs, err := p.s.List(r.Context(), c)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	now := p.s.now()
	hp := homePage{SignOut: p.cfg.SignOutURL, Base: p.cfg.Prefix, Offers: len(p.cfg.Offers) > 0}
	switch r.URL.Query().Get("done") {
	case "refused", "withdrawn", "given":
		hp.Done = p.text(r, "consent.done."+r.URL.Query().Get("done"))
	}
	pending := section{ID: "pending", Title: p.text(r, "consent.home.pending")}
	active := section{ID: "active", Title: p.text(r, "consent.home.active"), Empty: p.text(r, "consent.home.no_active")}
	past := section{ID: "past", Title: p.text(r, "consent.home.past"), Empty: p.text(r, "consent.home.no_past")}
	for _, rec := range recs {
		switch rec.StateAt(now) {
		case StateAwaitingAuthorisation:
			pending.Rows = append(pending.Rows, p.row(r, rec, now))
		case StateAuthorised:
			active.Rows = append(active.Rows, p.row(r, rec, now))
		default:
			past.Rows = append(past.Rows, p.row(r, rec, now))
		}
	}
	if len(pending.Rows) > 0 {
		hp.Sections = append(hp.Sections, pending)
	}
	hp.Sections = append(hp.Sections, active, past)
	p.r.Render(w, r, http.StatusOK, "home.html", hp)
}

// termsRows are what a consent says, label and value, in the page's
// language.
func (p *pages) termsRows(r *http.Request, rec *Record) [][2]string {
	lang := web.Lang(r)
	rows := [][2]string{
		{p.text(r, "consent.field.requester"), rec.Requester.Organisation},
		{p.text(r, "consent.field.source"), rec.Source.Registry + " — " + rec.Source.Service},
		{p.text(r, "consent.field.items"), p.itemList(lang, rec.ItemIDs())},
		{p.text(r, "consent.field.purpose"), rec.Purpose.Text.In(lang)},
		{p.text(r, "consent.field.legal_basis"), rec.LegalBasis},
		{p.text(r, "consent.field.valid"), p.text(r, "consent.valid_range", "from", web.FormatDateTime(rec.ValidFrom, nil),
			"until", web.FormatDateTime(rec.ValidUntil, nil))},
		{p.text(r, "consent.field.uses"), p.usesText(lang, rec.MaxUses)},
	}
	if rec.Requester.Person != "" {
		rows = slices.Insert(rows, 1, [2]string{p.text(r, "consent.field.person"), rec.Requester.Person})
	}
	if len(rec.Recipients) > 0 {
		rows = append(rows, [2]string{p.text(r, "consent.field.recipients"), strings.Join(rec.Recipients, ", ")})
	}
	return rows
}

type requestPage struct {
	ID, Requester, Notice, Lang, State, Base string
	Rows                                     [][2]string
	Open                                     bool
	Preview                                  [][2]string
	PreviewFailed                            bool
	Back                                     string
}

func (p *pages) request(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := p.s.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	now := p.s.now()
	lang := web.Lang(r)
	st := rec.StateAt(now)
	rp := requestPage{ID: rec.ID, Requester: rec.Requester.Organisation, Notice: p.notice(rec, lang), Lang: lang,
		State: p.stateText(r, st), Base: p.cfg.Prefix + "/r/" + url.PathEscape(rec.ID), Rows: p.termsRows(r, rec),
		Open: st == StateAwaitingAuthorisation}
	if rp.Open && p.cfg.Preview != nil {
		vals, err := p.cfg.Preview.Preview(r.Context(), PreviewQuery{TaxNumber: c.TaxNumber, Source: rec.Source, Items: rec.Items})
		if err != nil {
			p.cfg.Logger.Warn("consent preview failed", zap.String("id", rec.ID), zap.Error(err))
			rp.PreviewFailed = true
		}
		for _, v := range vals {
			rp.Preview = append(rp.Preview, [2]string{p.itemName(lang, v.Item), v.Value})
		}
	}
	if !rp.Open {
		switch st {
		case StateAuthorised, StateConsumed:
			rp.Back = returnURL(rec, false)
		default:
			rp.Back = returnURL(rec, true)
		}
	}
	p.r.Render(w, r, http.StatusOK, "request.html", rp)
}

// returnURL is where the citizen goes back to the requester: the
// request's return URL with the consent id, or error=access_denied when
// refused, and the requester's state. A request without a return URL has
// none.
func returnURL(rec *Record, refused bool) string {
	if rec.ReturnURL == "" {
		return ""
	}
	u, err := url.Parse(rec.ReturnURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	if refused {
		q.Set("error", "access_denied")
	} else {
		q.Set("consent_id", rec.ID)
	}
	if rec.ReturnState != "" {
		q.Set("state", rec.ReturnState)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// decision reads the language of the notice the citizen was shown.
func (p *pages) decisionLang(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return "", false
	}
	lang := r.PostForm.Get("lang")
	if lang != "el" && lang != "en" {
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return "", false
	}
	return lang, true
}

func (p *pages) decide(w http.ResponseWriter, r *http.Request, c Citizen, approve bool) {
	lang, ok := p.decisionLang(w, r)
	if !ok {
		return
	}
	rec, err := p.s.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	n := NoticeOf(p.notice(rec, lang), lang)
	if approve {
		rec, err = p.s.Approve(r.Context(), c, rec.ID, n)
	} else {
		rec, err = p.s.Refuse(r.Context(), c, rec.ID, n)
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if back := returnURL(rec, !approve); back != "" {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	if approve {
		http.Redirect(w, r, p.cfg.Prefix+"/c/"+url.PathEscape(rec.ID)+"?done=approved", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/?done=refused", http.StatusSeeOther)
}

func (p *pages) approve(w http.ResponseWriter, r *http.Request, c Citizen) { p.decide(w, r, c, true) }
func (p *pages) refuse(w http.ResponseWriter, r *http.Request, c Citizen)  { p.decide(w, r, c, false) }

type eventRow struct{ Date, Actor, Action string }

type consentPage struct {
	ID, Title, State, Base, Done string
	Rows, Receipt                [][2]string
	Events                       []eventRow
	Withdrawable, HasReceipt     bool
}

func (p *pages) consent(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := p.s.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	now := p.s.now()
	st := rec.StateAt(now)
	lang := web.Lang(r)
	cp := consentPage{ID: rec.ID, Title: p.text(r, "consent.view.title", "requester", rec.Requester.Organisation),
		State: p.stateText(r, st), Base: p.cfg.Prefix + "/c/" + url.PathEscape(rec.ID), Rows: p.termsRows(r, rec),
		Withdrawable: st == StateAuthorised,
		HasReceipt:   p.s.cfg.Keys != nil && rec.State != StateAwaitingAuthorisation && rec.State != StateRejected}
	switch r.URL.Query().Get("done") {
	case "approved", "given", "withdrawn":
		cp.Done = p.text(r, "consent.done."+r.URL.Query().Get("done"))
	}
	if rec.State != StateAwaitingAuthorisation && rec.State != StateRejected {
		rc := p.s.receipt(rec, lang)
		cp.Receipt = [][2]string{
			{p.text(r, "consent.receipt.id"), rc.ConsentReceiptID},
			{p.text(r, "consent.receipt.version"), rc.Version},
			{p.text(r, "consent.receipt.issuer"), rc.Issuer},
			{p.text(r, "consent.receipt.jurisdiction"), rc.Jurisdiction},
			{p.text(r, "consent.receipt.time"), web.FormatDateTime(time.Unix(rc.ConsentTimestamp, 0), nil)},
			{p.text(r, "consent.receipt.method"), p.text(r, "consent.receipt.method_value", "loa", loaName(rec.Evidence.LoA))},
			{p.text(r, "consent.receipt.principal"), rc.PIIPrincipalID},
			{p.text(r, "consent.receipt.consent_type"), p.text(r, "consent.receipt.explicit")},
			{p.text(r, "consent.receipt.categories"), p.itemList(lang, rec.ItemIDs())},
			{p.text(r, "consent.receipt.termination"), rec.Withdrawal},
			{p.text(r, "consent.receipt.notice"), rec.Notice.Hash},
		}
		if rc.Issuer == "" {
			cp.Receipt = slices.Delete(cp.Receipt, 2, 3)
		}
	}
	for i := len(rec.Events) - 1; i >= 0; i-- {
		e := rec.Events[i]
		actor := e.Actor
		switch {
		case e.Actor == ActorCitizen:
			actor = p.text(r, "consent.actor.citizen")
		case e.Actor == ActorSystem:
			actor = p.text(r, "consent.actor.system")
		case strings.HasPrefix(e.Actor, "requester:"):
			actor = strings.TrimPrefix(e.Actor, "requester:")
		}
		cp.Events = append(cp.Events, eventRow{Date: web.FormatDateTime(e.At, nil), Actor: actor,
			Action: p.text(r, "consent.action."+string(e.Action))})
	}
	p.r.Render(w, r, http.StatusOK, "consent.html", cp)
}

// loaName is the short name of a level of assurance.
func loaName(loa string) string {
	if i := strings.LastIndex(loa, "/"); i >= 0 {
		return loa[i+1:]
	}
	return loa
}

func (p *pages) receipt(w http.ResponseWriter, r *http.Request, c Citizen) {
	tok, err := p.s.Receipt(r.Context(), c, r.PathValue("id"))
	if errors.Is(err, ErrNoKeys) {
		p.r.RenderError(w, r, http.StatusNotFound, "")
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Content-Disposition", `attachment; filename="consent-receipt-`+safeName(r.PathValue("id"))+`.jwt"`)
	w.Write([]byte(tok))
}

// safeName keeps the characters of s a file name may carry.
func safeName(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			return c
		}
		return -1
	}, s)
}

type withdrawPage struct {
	Title, Action, Back string
	Rows                [][2]string
}

func (p *pages) confirmWithdraw(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := p.s.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if st := rec.StateAt(p.s.now()); st != StateAuthorised {
		p.fail(w, r, &StateError{ID: rec.ID, State: st, Action: ActionWithdrawn})
		return
	}
	base := p.cfg.Prefix + "/c/" + url.PathEscape(rec.ID)
	p.r.Render(w, r, http.StatusOK, "withdraw.html", withdrawPage{
		Title:  p.text(r, "consent.withdraw.title", "requester", rec.Requester.Organisation),
		Action: base + "/withdraw", Back: base, Rows: p.termsRows(r, rec)})
}

func (p *pages) withdraw(w http.ResponseWriter, r *http.Request, c Citizen) {
	rec, err := p.s.Withdraw(r.Context(), c, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/c/"+url.PathEscape(rec.ID)+"?done=withdrawn", http.StatusSeeOther)
}

type logRow struct {
	Date, Requester, Source, Items, Purpose, ConsentURL, ExchangeID string
	// ProofURL and ProofState ("verified", "pending" or "unverified") are
	// set when the pages have a ProofChecker.
	ProofURL, ProofState string
}

type option struct {
	Value, Label string
	Selected     bool
}

type logPage struct {
	Rows               []logRow
	Requesters         []option
	Requester          string
	Page               int
	Prev, Next, Action string
	Filtered           bool
	// Proofs is true when the rows show their exchanges' proofs.
	Proofs bool
}

// logPageSize is how many entries a page of the access log shows.
const logPageSize = 20

func (p *pages) log(w http.ResponseWriter, r *http.Request, c Citizen) {
	v := r.URL.Query()
	page := 1
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxOffset/logPageSize {
			p.r.RenderError(w, r, http.StatusBadRequest, "")
			return
		}
		page = n
	}
	org := v.Get("requester")
	if org != "" {
		if err := checkText("requester", org, 200); err != nil {
			p.r.RenderError(w, r, http.StatusBadRequest, "")
			return
		}
	}
	recs, err := p.s.List(r.Context(), c)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	lp := logPage{Requester: org, Page: page, Action: p.cfg.Prefix + "/log", Filtered: org != "", Proofs: p.cfg.Proofs != nil,
		Requesters: []option{{Value: "", Label: p.text(r, "consent.log.all"), Selected: org == ""}}}
	var orgs []string
	byID := make(map[string]*Record, len(recs))
	for _, rec := range recs {
		byID[rec.ID] = rec
		if !slices.Contains(orgs, rec.Requester.Organisation) {
			orgs = append(orgs, rec.Requester.Organisation)
		}
	}
	if org != "" && !slices.Contains(orgs, org) {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	for _, o := range orgs {
		lp.Requesters = append(lp.Requesters, option{Value: o, Label: o, Selected: o == org})
	}
	entries, err := p.s.AccessLog(r.Context(), c, LogQuery{Organisation: org, Offset: (page - 1) * logPageSize, Limit: logPageSize})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	lang := web.Lang(r)
	for _, e := range entries.Entries {
		purpose := e.Purpose
		if rec, ok := byID[e.ConsentID]; ok && rec.Purpose.Code == e.Purpose {
			purpose = rec.Purpose.Text.In(lang) // the words the citizen consented to
		}
		row := logRow{Date: web.FormatDateTime(e.At, nil), Requester: e.Requester.Organisation,
			Source: e.Source.Registry + " — " + e.Source.Service, Items: p.itemList(lang, e.Items), Purpose: purpose,
			ConsentURL: p.cfg.Prefix + "/c/" + url.PathEscape(e.ConsentID), ExchangeID: e.ExchangeID}
		if p.cfg.Proofs != nil && e.ExchangeID != "" {
			row.ProofState = "unverified"
			proof, err := p.cfg.Proofs.CheckProof(r.Context(), e.ExchangeID)
			switch {
			case err != nil:
				p.cfg.Logger.Warn("consent: the proof of an exchange could not be checked", zap.String("exchange", e.ExchangeID), zap.Error(err))
			case proof.Verified:
				row.ProofState, row.ProofURL = "verified", proof.URL
			default:
				row.ProofState, row.ProofURL = "pending", proof.URL
			}
		}
		lp.Rows = append(lp.Rows, row)
	}
	link := func(n int) string {
		q := url.Values{}
		if org != "" {
			q.Set("requester", org)
		}
		if n > 1 {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return p.cfg.Prefix + "/log"
		}
		return p.cfg.Prefix + "/log?" + q.Encode()
	}
	if page > 1 {
		lp.Prev = link(page - 1)
	}
	if entries.Next > 0 {
		lp.Next = link(page + 1)
	}
	p.r.Render(w, r, http.StatusOK, "log.html", lp)
}

type offerRow struct {
	ID, Requester, Notice string
	Checked               bool
}

type givePage struct {
	Action, Error, Shown string
	Offers               []offerRow
}

// offerRecord is the record an offer would give at now, lasting until
// until, to describe it in the same words as a request.
func (p *pages) offerRecord(o Offer, now, until time.Time) *Record {
	uses := o.MaxUses
	if uses == 0 {
		uses = 1
	}
	return &Record{Requester: o.Requester, Source: o.Source, Items: o.Items, Purpose: o.Purpose, LegalBasis: o.LegalBasis,
		ValidFrom: now, ValidUntil: until, MaxUses: uses, Recipients: o.Recipients}
}

// offerUntil is the end of an offer's window given at now, to the minute,
// as the form shows it.
func offerUntil(o Offer, now time.Time) time.Time {
	return now.Truncate(time.Minute).Add(o.Validity)
}

func (p *pages) renderGive(w http.ResponseWriter, r *http.Request, status int, chosen, msg string) {
	now := p.s.now()
	// The form carries the minute it was shown at, so that the words
	// hashed when the consent is given are the words read.
	gp := givePage{Action: p.cfg.Prefix + "/give", Error: msg, Shown: strconv.FormatInt(now.Truncate(time.Minute).Unix(), 10)}
	for _, o := range p.cfg.Offers {
		gp.Offers = append(gp.Offers, offerRow{ID: o.ID, Requester: o.Requester.Organisation,
			Notice: p.notice(p.offerRecord(o, now, offerUntil(o, now)), web.Lang(r)), Checked: o.ID == chosen})
	}
	p.r.Render(w, r, status, "give.html", gp)
}

func (p *pages) giveForm(w http.ResponseWriter, r *http.Request, _ Citizen) {
	p.renderGive(w, r, http.StatusOK, "", "")
}

func (p *pages) give(w http.ResponseWriter, r *http.Request, c Citizen) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		p.r.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	id := r.PostForm.Get("offer")
	i := slices.IndexFunc(p.cfg.Offers, func(o Offer) bool { return o.ID == id })
	if i < 0 {
		p.renderGive(w, r, http.StatusUnprocessableEntity, "", p.text(r, "consent.give.choose"))
		return
	}
	lang := r.PostForm.Get("lang")
	if lang != "el" && lang != "en" {
		lang = web.Lang(r)
	}
	o := p.cfg.Offers[i]
	now := p.s.now()
	// The window is the one the form showed, if it was shown in the last
	// hour; otherwise the one that starts now.
	shown := now
	if sec, err := strconv.ParseInt(r.PostForm.Get("shown"), 10, 64); err == nil {
		if t := time.Unix(sec, 0).UTC(); !t.After(now) && now.Sub(t) < time.Hour {
			shown = t
		}
	}
	rec := p.offerRecord(o, now, offerUntil(o, shown))
	rec, err := p.s.Give(r.Context(), c, o.Requester, Draft{Source: o.Source, Items: o.Items, Purpose: o.Purpose,
		LegalBasis: o.LegalBasis, ValidUntil: rec.ValidUntil, MaxUses: o.MaxUses, Recipients: o.Recipients},
		NoticeOf(p.notice(rec, lang), lang))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.cfg.Prefix+"/c/"+url.PathEscape(rec.ID)+"?done=given", http.StatusSeeOther)
}
