package interop

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/web"
	"github.com/egovkit/egovkit/problem"
)

// rightRow is a right as the tables show it.
type rightRow struct {
	ID, Consumer, ConsumerURL, Service, ServiceURL, Method, Path string
	From, Until                                                  time.Time
	State, GrantedBy, RevokeURL                                  string
	GrantedAt                                                    time.Time
}

func (p *pages) rightRow(r *http.Request, rt *Right, operator bool) rightRow {
	state := "in_force"
	now := p.cfg.Now()
	switch {
	case !rt.NotBefore.IsZero() && now.Before(rt.NotBefore):
		state = "not_yet"
	case !rt.NotAfter.IsZero() && !now.Before(rt.NotAfter):
		state = "expired"
	}
	row := rightRow{ID: rt.ID, Consumer: rt.Consumer.String(), ConsumerURL: p.cfg.Prefix + "/rights?consumer=" + url.QueryEscape(rt.Consumer.String()),
		Service: rt.Service.String(), ServiceURL: p.serviceURL(rt.Service), Method: rt.Method, Path: rt.Path,
		From: rt.NotBefore, Until: rt.NotAfter, State: p.text(r, "interop.right.state."+state),
		GrantedBy: rt.GrantedBy, GrantedAt: rt.GrantedAt}
	if rt.Method == AnyMethod {
		row.Method = p.text(r, "interop.right.any_method")
	}
	if operator {
		row.RevokeURL = p.cfg.Prefix + "/rights/" + rt.ID + "/revoke"
	}
	return row
}

type itemRow struct{ Code, Type, Label string }

type servicePage struct {
	IDParts                                                                   []string
	Base, URL, ID, Title, TitleEl, TitleEn, Owner, Upstream, LegalBasis, Done string
	Consent, Disabled, Operator, HasOpenAPI                                   bool
	OpenAPISize                                                               int
	Limits                                                                    [][2]string
	Items                                                                     []itemRow
	Rights                                                                    []rightRow
	Revision                                                                  int64
	UpdatedBy                                                                 string
	CreatedAt, UpdatedAt                                                      time.Time
}

func (p *pages) service(w http.ResponseWriter, r *http.Request, c Caller) {
	s, ok := p.loadService(w, r)
	if !ok {
		return
	}
	rights, err := p.cfg.Store.Rights(r.Context(), RightFilter{Service: s.ID})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	lang := web.Lang(r)
	sp := servicePage{IDParts: parts(s.ID.String()), Base: p.cfg.Prefix, URL: p.serviceURL(s.ID), ID: s.ID.String(), Title: s.Title.in(lang),
		TitleEl: s.Title.El, TitleEn: s.Title.En, Owner: s.Owner.String(), Upstream: s.Upstream, LegalBasis: s.LegalBasis,
		Done: p.done(r), Consent: s.ConsentRequired, Disabled: s.Disabled, Operator: c.Has(RoleOperator),
		HasOpenAPI: len(s.OpenAPI) > 0, OpenAPISize: len(s.OpenAPI), Limits: p.limitRows(r, s.Limits),
		Revision: s.Revision, UpdatedBy: s.UpdatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	for _, it := range s.Items {
		sp.Items = append(sp.Items, itemRow{Code: it.Code, Type: p.text(r, "interop.item."+string(it.Type)), Label: it.Label.in(lang)})
	}
	for i := range rights {
		sp.Rights = append(sp.Rights, p.rightRow(r, &rights[i], sp.Operator))
	}
	p.r.Render(w, r, http.StatusOK, "service.html", sp)
}

// limitRows says a service's limits in words; zero is the gateway's
// default.
func (p *pages) limitRows(r *http.Request, l Limits) [][2]string {
	def := p.text(r, "interop.limit.default")
	or := func(zero bool, s string) string {
		if zero {
			return def
		}
		return s
	}
	rate := strconv.FormatFloat(l.RatePerSecond, 'f', -1, 64)
	return [][2]string{
		{p.text(r, "interop.field.max_request_bytes"), or(l.MaxRequestBytes == 0, p.text(r, "interop.limit.bytes", "n", l.MaxRequestBytes))},
		{p.text(r, "interop.field.max_response_bytes"), or(l.MaxResponseBytes == 0, p.text(r, "interop.limit.bytes", "n", l.MaxResponseBytes))},
		{p.text(r, "interop.field.timeout_ms"), or(l.Timeout == 0, p.text(r, "interop.limit.ms", "n", l.Timeout.Milliseconds()))},
		{p.text(r, "interop.field.rate_per_second"), or(l.RatePerSecond == 0, p.text(r, "interop.limit.rate", "rate", rate))},
		{p.text(r, "interop.field.burst"), or(l.Burst == 0, strconv.Itoa(l.Burst))},
	}
}

func (p *pages) openAPI(w http.ResponseWriter, r *http.Request, _ Caller) {
	s, ok := p.loadService(w, r)
	if !ok {
		return
	}
	if len(s.OpenAPI) == 0 {
		p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "interop.service.no_openapi"))
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="openapi.json"`)
	w.Write(s.OpenAPI)
}

// field is a box of a form, with what was typed and what is wrong.
type field struct {
	Name, Label, Hint, Value, Error, Kind, Lang string
	Short, Checked                              bool
	Options                                     []option
	// Errors are every message; Error the first, which marks the field.
	Errors []string
}

// ID is the element's id, which the error summary links to.
func (f field) ID() string { return "f-" + f.Name }

// HintID is the id of the hint, or "".
func (f field) HintID() string {
	if f.Hint == "" {
		return ""
	}
	return f.ID() + "-hint"
}

type errorLink struct{ Anchor, Text string }

// form is a form of the pages: its fields and what is wrong with them.
type form struct {
	Action, Back, Title, Submit, Message string
	Hidden                               [][2]string
	Groups                               []fieldGroup
	Errors                               []errorLink
	// Conflict shows the service as someone else saved it.
	Conflict string
	// Subject is the identifier of what the form changes, by its parts.
	Subject []string
}

// parts splits an identifier at its slashes, so a page can let it wrap
// there on a narrow screen.
func parts(id string) []string { return strings.Split(id, "/") }

// fieldGroup is a set of fields under a heading (a fieldset when Legend
// is set).
type fieldGroup struct {
	Legend, Error, Name string
	Fields              []field
}

// setError puts msg beside the field name and in the summary.
func (f *form) setError(name, msg string) {
	for gi := range f.Groups {
		g := &f.Groups[gi]
		if g.Name == name {
			g.Error = strings.TrimSpace(g.Error + " " + msg)
			f.Errors = append(f.Errors, errorLink{Anchor: "g-" + name, Text: g.Legend + ": " + msg})
			return
		}
		for i := range g.Fields {
			if fl := &g.Fields[i]; fl.Name == name {
				fl.Errors = append(fl.Errors, msg)
				fl.Error = fl.Errors[0]
				f.Errors = append(f.Errors, errorLink{Anchor: fl.ID(), Text: fl.Label + ": " + msg})
				return
			}
		}
	}
	// A field the form does not show: the summary alone.
	f.Errors = append(f.Errors, errorLink{Anchor: "form", Text: msg})
}

// renderForm shows f, its error summary in the order of the fields.
func (p *pages) renderForm(w http.ResponseWriter, r *http.Request, status int, f *form) {
	var ordered []errorLink
	for _, g := range f.Groups {
		if g.Error != "" {
			ordered = append(ordered, errorLink{Anchor: "g-" + g.Name, Text: g.Legend + ": " + g.Error})
		}
		for _, fl := range g.Fields {
			for _, msg := range fl.Errors {
				ordered = append(ordered, errorLink{Anchor: fl.ID(), Text: fl.Label + ": " + msg})
			}
		}
	}
	for _, e := range f.Errors {
		if e.Anchor == "form" {
			ordered = append(ordered, e)
		}
	}
	f.Errors = ordered
	p.r.Render(w, r, status, "form.html", f)
}

// violations puts a validation error's messages beside the fields, in the
// page's language; fieldOf maps a JSON Pointer to a field's name.
func (p *pages) violations(r *http.Request, f *form, err error, fieldOf func(string) (string, string)) bool {
	var ve *problem.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	lang := web.Lang(r)
	for _, v := range ve.Violations {
		msg := v.Message
		if lang == web.Greek && v.MessageEL != "" {
			msg = v.MessageEL
		}
		name, prefix := fieldOf(v.Pointer)
		f.setError(name, prefix+msg)
	}
	return true
}

// serviceValues are the form's values of a service.
func serviceValues(s *Service) map[string]string {
	v := map[string]string{
		"id": s.ID.String(), "title_el": s.Title.El, "title_en": s.Title.En, "upstream": s.Upstream,
		"legal_basis": s.LegalBasis, "openapi": string(s.OpenAPI), "items": itemsText(s.Items),
	}
	if s.ConsentRequired {
		v["consent_required"] = "on"
	}
	num := func(k string, n int64) {
		if n != 0 {
			v[k] = strconv.FormatInt(n, 10)
		}
	}
	num("max_request_bytes", s.Limits.MaxRequestBytes)
	num("max_response_bytes", s.Limits.MaxResponseBytes)
	num("timeout_ms", s.Limits.Timeout.Milliseconds())
	num("burst", int64(s.Limits.Burst))
	if s.Limits.RatePerSecond != 0 {
		v["rate_per_second"] = strconv.FormatFloat(s.Limits.RatePerSecond, 'f', -1, 64)
	}
	return v
}

// itemsText writes data items one a line, as the form's box holds them:
// code; type; Greek label; English label.
func itemsText(items []DataItem) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.Code + "; " + string(it.Type) + "; " + it.Label.El + "; " + it.Label.En + "\n")
	}
	return b.String()
}

// serviceForm is the form of a service with values v; a new service has
// a box for its identifier.
func (p *pages) serviceForm(r *http.Request, v map[string]string, isNew bool) *form {
	t := func(k string) string { return p.text(r, "interop.field."+k) }
	box := func(name string) field {
		return field{Name: name, Label: t(name), Value: v[name], Kind: "text"}
	}
	withHint := func(f field) field { f.Hint = p.text(r, "interop.hint."+f.Name); return f }
	short := func(f field) field { f.Short = true; f.Kind = "number"; return f }
	lang := func(f field, l string) field { f.Lang = l; return f }
	about := fieldGroup{Name: "about"}
	if isNew {
		about.Fields = append(about.Fields, withHint(box("id")))
	}
	about.Fields = append(about.Fields, lang(box("title_el"), "el"), lang(box("title_en"), "en"), withHint(box("upstream")))
	terms := fieldGroup{Legend: p.text(r, "interop.form.terms"), Name: "terms", Fields: []field{
		{Name: "consent_required", Label: t("consent_required"), Kind: "check", Checked: v["consent_required"] != ""},
		withHint(box("legal_basis")),
	}}
	items := box("items")
	items.Kind, items.Hint = "textarea", p.text(r, "interop.hint.items")
	limits := fieldGroup{Legend: p.text(r, "interop.form.limits"), Name: "limits", Fields: []field{
		short(box("max_request_bytes")), short(box("max_response_bytes")), short(box("timeout_ms")),
		short(box("rate_per_second")), short(box("burst")),
	}}
	doc := withHint(box("openapi"))
	doc.Kind = "textarea"
	f := &form{Groups: []fieldGroup{about, terms, {Name: "data", Fields: []field{items}}, limits, {Name: "doc", Fields: []field{doc}}}}
	return f
}

// readService reads a service from a form post. The errors of what does
// not parse are put beside their fields.
func (p *pages) readService(r *http.Request, f *form, s *Service) (lines []int) {
	v := r.PostForm
	s.Title = Text{El: strings.TrimSpace(v.Get("title_el")), En: strings.TrimSpace(v.Get("title_en"))}
	s.Upstream = strings.TrimSpace(v.Get("upstream"))
	s.ConsentRequired = v.Get("consent_required") != ""
	s.LegalBasis = strings.TrimSpace(v.Get("legal_basis"))
	s.OpenAPI = nil
	if doc := strings.TrimSpace(v.Get("openapi")); doc != "" {
		s.OpenAPI = json.RawMessage(doc)
	}
	s.Items = nil
	for i, line := range strings.Split(v.Get("items"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, ";")
		if len(parts) != 4 {
			f.setError("items", p.text(r, "interop.form.item_line", "line", i+1, "msg", p.text(r, "interop.form.item_parts")))
			continue
		}
		s.Items = append(s.Items, DataItem{Code: strings.TrimSpace(parts[0]), Type: ItemType(strings.TrimSpace(parts[1])),
			Label: Text{El: strings.TrimSpace(parts[2]), En: strings.TrimSpace(parts[3])}})
		lines = append(lines, i+1)
	}
	var l Limits
	whole := func(name string) int64 {
		raw := strings.TrimSpace(v.Get(name))
		if raw == "" {
			return 0
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			f.setError(name, p.text(r, "interop.form.whole_number"))
			return 0
		}
		return n
	}
	l.MaxRequestBytes = whole("max_request_bytes")
	l.MaxResponseBytes = whole("max_response_bytes")
	if ms := whole("timeout_ms"); ms > int64(24*time.Hour/time.Millisecond) {
		f.setError("timeout_ms", p.text(r, "interop.form.timeout_long"))
	} else {
		l.Timeout = time.Duration(ms) * time.Millisecond
	}
	if b := whole("burst"); b > 1<<30 {
		f.setError("burst", p.text(r, "interop.form.whole_number"))
	} else {
		l.Burst = int(b)
	}
	if raw := strings.TrimSpace(v.Get("rate_per_second")); raw != "" {
		n, err := strconv.ParseFloat(strings.Replace(raw, ",", ".", 1), 64)
		if err != nil || n < 0 || n != n || n > 1e6 {
			f.setError("rate_per_second", p.text(r, "interop.form.rate"))
		} else {
			l.RatePerSecond = n
		}
	}
	s.Limits = l
	return lines
}

// serviceField maps a violation's pointer to the form's field, with the
// line of a data item before its message.
func (p *pages) serviceField(r *http.Request, lines []int) func(string) (string, string) {
	return func(ptr string) (string, string) {
		switch {
		case ptr == "/id" || ptr == "/owner":
			return "id", ""
		case ptr == "/title/el":
			return "title_el", ""
		case ptr == "/title/en":
			return "title_en", ""
		case strings.HasPrefix(ptr, "/items/"):
			rest := strings.TrimPrefix(ptr, "/items/")
			n, _ := strconv.Atoi(strings.SplitN(rest, "/", 2)[0])
			line := n + 1
			if n < len(lines) {
				line = lines[n]
			}
			return "items", p.text(r, "interop.form.item_line_prefix", "line", line)
		case strings.HasPrefix(ptr, "/items"):
			return "items", ""
		case ptr == "/limits":
			return "limits", ""
		}
		return strings.TrimPrefix(ptr, "/"), ""
	}
}

func (p *pages) newForm(w http.ResponseWriter, r *http.Request, _ Caller) {
	f := p.serviceForm(r, map[string]string{"consent_required": "on"}, true)
	p.renderServiceForm(w, r, http.StatusOK, f, nil)
}

// renderServiceForm shows the form of a new service (s nil) or of s.
func (p *pages) renderServiceForm(w http.ResponseWriter, r *http.Request, status int, f *form, s *Service) {
	if s == nil {
		f.Title, f.Action, f.Back, f.Submit = p.text(r, "interop.new.title"), p.cfg.Prefix+"/services/new", p.cfg.Prefix+"/", p.text(r, "interop.new.submit")
	} else {
		to := p.serviceURL(s.ID)
		f.Title, f.Subject = p.text(r, "interop.edit.title"), parts(s.ID.String())
		f.Action, f.Back, f.Submit = to+"/edit", to, p.text(r, "interop.edit.submit")
	}
	p.renderForm(w, r, status, f)
}

// maxServiceForm bounds a service's form post: the OpenAPI document and
// the rest.
const maxServiceForm = 3*MaxOpenAPIBytes + 256<<10

func (p *pages) create(w http.ResponseWriter, r *http.Request, c Caller) {
	if !p.readForm(w, r, maxServiceForm) {
		return
	}
	f := p.serviceForm(r, formValues(r), true)
	var s Service
	id, err := ParseServiceID(strings.TrimSpace(r.PostForm.Get("id")))
	if err != nil {
		f.setError("id", p.text(r, "interop.form.service_id"))
	}
	s.ID = id
	lines := p.readService(r, f, &s)
	if len(f.Errors) == 0 {
		s.UpdatedBy = c.ID
		var out Service
		out, err = p.cfg.Store.CreateService(r.Context(), s)
		if err == nil {
			http.Redirect(w, r, p.serviceURL(out.ID)+"?done=created", http.StatusSeeOther)
			return
		}
	} else {
		// Everything else that is wrong, at once.
		err = s.Validate()
		if id.IsZero() {
			err = dropViolations(err, "/id", "/owner")
		}
	}
	status := http.StatusUnprocessableEntity
	switch {
	case err == nil:
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
		f.setError("id", p.text(r, "interop.form.exists"))
	case p.violations(r, f, err, p.serviceField(r, lines)):
	default:
		p.fail(w, r, err)
		return
	}
	p.renderServiceForm(w, r, status, f, nil)
}

// dropViolations removes the violations at the pointers from err's.
func dropViolations(err error, pointers ...string) error {
	var ve *problem.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	kept := ve.Violations[:0:0]
	for _, v := range ve.Violations {
		if !slices.Contains(pointers, v.Pointer) {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &problem.ValidationError{Violations: kept}
}

// formValues are the posted values, to show them again.
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

func (p *pages) editForm(w http.ResponseWriter, r *http.Request, _ Caller) {
	s, ok := p.loadService(w, r)
	if !ok {
		return
	}
	f := p.serviceForm(r, serviceValues(&s), false)
	f.Hidden = [][2]string{{"revision", strconv.FormatInt(s.Revision, 10)}}
	p.renderServiceForm(w, r, http.StatusOK, f, &s)
}

func (p *pages) update(w http.ResponseWriter, r *http.Request, c Caller) {
	id, ok := p.serviceParam(w, r)
	if !ok || !p.readForm(w, r, maxServiceForm) {
		return
	}
	f := p.serviceForm(r, formValues(r), false)
	rev, err := strconv.ParseInt(r.PostForm.Get("revision"), 10, 64)
	if err != nil || rev < 1 {
		p.r.RenderError(w, r, http.StatusBadRequest, p.text(r, "interop.form.no_revision"))
		return
	}
	f.Hidden = [][2]string{{"revision", strconv.FormatInt(rev, 10)}}
	cur, err := p.cfg.Store.Service(r.Context(), id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	s := Service{ID: id, Owner: cur.Owner, Disabled: cur.Disabled, Revision: rev, UpdatedBy: c.ID}
	lines := p.readService(r, f, &s)
	if len(f.Errors) == 0 {
		if _, err = p.cfg.Store.UpdateService(r.Context(), s); err == nil {
			http.Redirect(w, r, p.serviceURL(id)+"?done=saved", http.StatusSeeOther)
			return
		}
	} else {
		err = s.Validate()
	}
	status := http.StatusUnprocessableEntity
	switch {
	case err == nil:
	case errors.Is(err, ErrStale):
		status = http.StatusConflict
		p.stale(r, f, id)
	case p.violations(r, f, err, p.serviceField(r, lines)):
	default:
		p.fail(w, r, err)
		return
	}
	p.renderServiceForm(w, r, status, f, &cur)
}

// stale says who changed the service since the form was opened, and
// moves the form's revision to theirs: saving again replaces their change
// with what the form holds, knowingly.
func (p *pages) stale(r *http.Request, f *form, id ServiceID) {
	cur, err := p.cfg.Store.Service(r.Context(), id)
	if err != nil {
		f.Message = p.text(r, "interop.form.stale_unknown")
		return
	}
	who := cur.UpdatedBy
	if who == "" {
		who = p.text(r, "interop.unknown")
	}
	f.Message = p.text(r, "interop.form.stale", "who", who, "when", web.FormatDateTime(cur.UpdatedAt, p.loc), "revision", cur.Revision)
	f.Conflict = p.serviceURL(id)
	f.Hidden = [][2]string{{"revision", strconv.FormatInt(cur.Revision, 10)}}
}

type confirmPage struct {
	Title, Lead, Action, Back, Submit, Message string
	Warning                                    bool
	Rows                                       [][2]string
	Hidden                                     [][2]string
}

func (p *pages) confirmSwitch(disable bool) func(http.ResponseWriter, *http.Request, Caller) {
	return func(w http.ResponseWriter, r *http.Request, _ Caller) {
		s, ok := p.loadService(w, r)
		if !ok {
			return
		}
		p.renderSwitch(w, r, http.StatusOK, &s, disable, "")
	}
}

func (p *pages) renderSwitch(w http.ResponseWriter, r *http.Request, status int, s *Service, disable bool, msg string) {
	verb := "enable"
	if disable {
		verb = "disable"
	}
	to := p.serviceURL(s.ID)
	lang := web.Lang(r)
	cp := confirmPage{Title: p.text(r, "interop."+verb+".title", "title", s.Title.in(lang)), Lead: p.text(r, "interop."+verb+".lead"),
		Action: to + "/" + verb, Back: to, Submit: p.text(r, "interop."+verb+".submit"), Warning: disable, Message: msg,
		Rows:   [][2]string{{p.text(r, "interop.field.id"), s.ID.String()}, {p.text(r, "interop.field.owner"), s.Owner.String()}},
		Hidden: [][2]string{{"revision", strconv.FormatInt(s.Revision, 10)}}}
	if s.Disabled == disable {
		cp.Message = p.text(r, "interop."+verb+".already")
	}
	p.r.Render(w, r, status, "confirm.html", cp)
}

func (p *pages) switcher(disable bool) func(http.ResponseWriter, *http.Request, Caller) {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		if !p.readForm(w, r, 4096) {
			return
		}
		s, ok := p.loadService(w, r)
		if !ok {
			return
		}
		rev, err := strconv.ParseInt(r.PostForm.Get("revision"), 10, 64)
		if err != nil || rev < 1 {
			p.r.RenderError(w, r, http.StatusBadRequest, p.text(r, "interop.form.no_revision"))
			return
		}
		done := "enabled"
		if disable {
			done = "disabled"
		}
		if s.Disabled == disable {
			http.Redirect(w, r, p.serviceURL(s.ID)+"?done="+done, http.StatusSeeOther)
			return
		}
		if rev != s.Revision {
			p.renderSwitch(w, r, http.StatusConflict, &s, disable, p.text(r, "interop.switch.stale", "who", s.UpdatedBy, "when", web.FormatDateTime(s.UpdatedAt, p.loc)))
			return
		}
		s.Disabled, s.UpdatedBy = disable, c.ID
		if _, err := p.cfg.Store.UpdateService(r.Context(), s); err != nil {
			if errors.Is(err, ErrStale) || errors.Is(err, ErrInvalid) {
				cur, cerr := p.cfg.Store.Service(r.Context(), s.ID)
				if cerr == nil {
					p.renderSwitch(w, r, http.StatusConflict, &cur, disable, p.text(r, "interop.switch.stale", "who", cur.UpdatedBy, "when", web.FormatDateTime(cur.UpdatedAt, p.loc)))
					return
				}
			}
			p.fail(w, r, err)
			return
		}
		p.cfg.Logger.Info("service switched", zap.String("service", s.ID.String()), zap.Bool("disabled", disable), zap.String("by", c.ID))
		http.Redirect(w, r, p.serviceURL(s.ID)+"?done="+done, http.StatusSeeOther)
	}
}
