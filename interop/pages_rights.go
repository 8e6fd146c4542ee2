package interop

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/web"
)

// methods are the choices of a right's method, "*" first.
var methods = []string{AnyMethod, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// grantForm is the form of a right to s with values v.
func (p *pages) rightForm(r *http.Request, s *Service, v map[string]string) *form {
	t := func(k string) string { return p.text(r, "interop.field."+k) }
	method := field{Name: "method", Label: t("method"), Kind: "select", Hint: p.text(r, "interop.hint.method")}
	for _, m := range methods {
		label := m
		if m == AnyMethod {
			label = p.text(r, "interop.right.any_method")
		}
		method.Options = append(method.Options, option{Value: m, Label: label, Selected: v["method"] == m})
	}
	url := p.serviceURL(s.ID)
	return &form{Title: p.text(r, "interop.grant.title", "title", s.Title.in(web.Lang(r))), Action: url + "/grant", Back: url,
		Submit: p.text(r, "interop.grant.submit"),
		Groups: []fieldGroup{{Name: "right", Fields: []field{
			{Name: "consumer", Label: t("consumer"), Hint: p.text(r, "interop.hint.consumer"), Value: v["consumer"], Kind: "text"},
			method,
			{Name: "path", Label: t("path"), Hint: p.text(r, "interop.hint.path"), Value: v["path"], Kind: "text"},
		}}, {Name: "validity", Legend: p.text(r, "interop.form.validity"), Fields: []field{
			{Name: "not_before", Label: t("not_before"), Hint: p.text(r, "interop.hint.optional_day"), Value: v["not_before"], Kind: "date"},
			{Name: "not_after", Label: t("not_after"), Hint: p.text(r, "interop.hint.optional_day"), Value: v["not_after"], Kind: "date"},
		}}}}
}

func (p *pages) grantForm(w http.ResponseWriter, r *http.Request, _ Caller) {
	s, ok := p.loadService(w, r)
	if !ok {
		return
	}
	v := map[string]string{"method": "GET", "path": "/**"}
	if c := r.URL.Query().Get("consumer"); len(c) < MaxPatternLen {
		v["consumer"] = c
	}
	p.renderForm(w, r, http.StatusOK, p.rightForm(r, &s, v))
}

// day reads a day typed in a form (YYYY-MM-DD) as the instant it begins
// (or, for the last day, the instant it ends) in the pages' location.
func (p *pages) day(s string, last bool) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	if !last {
		d = d.AddDate(0, 0, -1) // the end of the day before is the start of this one
	}
	return web.ParseUntil(d.Format(time.DateOnly), p.loc)
}

func rightField(ptr string) (string, string) {
	return strings.TrimPrefix(ptr, "/"), ""
}

func (p *pages) grant(w http.ResponseWriter, r *http.Request, c Caller) {
	if !p.readForm(w, r, 16<<10) {
		return
	}
	s, ok := p.loadService(w, r)
	if !ok {
		return
	}
	v := formValues(r)
	f := p.rightForm(r, &s, v)
	rt := Right{Service: s.ID, Method: v["method"], Path: strings.TrimSpace(v["path"]), GrantedBy: c.ID}
	consumer, err := ParseClientID(strings.TrimSpace(v["consumer"]))
	if err != nil {
		f.setError("consumer", p.text(r, "interop.form.client_id"))
	}
	rt.Consumer = consumer
	for _, d := range []struct {
		name string
		last bool
		to   *time.Time
	}{{"not_before", false, &rt.NotBefore}, {"not_after", true, &rt.NotAfter}} {
		if raw := strings.TrimSpace(v[d.name]); raw != "" {
			t, err := p.day(raw, d.last)
			if err != nil {
				f.setError(d.name, p.text(r, "interop.form.day"))
				continue
			}
			*d.to = t
		}
	}
	if len(f.Errors) == 0 {
		var out Right
		if out, err = p.cfg.Store.GrantRight(r.Context(), rt); err == nil {
			p.cfg.Logger.Info("right granted", zap.String("right", out.ID), zap.String("service", s.ID.String()), zap.String("by", c.ID))
			http.Redirect(w, r, p.serviceURL(s.ID)+"?done=granted#rights", http.StatusSeeOther)
			return
		}
	} else {
		err = rt.Validate()
		if consumer.IsZero() {
			err = dropViolations(err, "/consumer")
		}
	}
	status := http.StatusUnprocessableEntity
	switch {
	case err == nil:
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
		f.Message = p.text(r, "interop.form.right_exists")
	case p.violations(r, f, err, rightField):
	default:
		p.fail(w, r, err)
		return
	}
	p.renderForm(w, r, status, f)
}

type rightsPage struct {
	Base, Consumer, Error, Done string
	Rows                        []rightRow
	Consumers                   []option
	ConsumerParts               []string
	Filtered                    bool
}

func (p *pages) rights(w http.ResponseWriter, r *http.Request, c Caller) {
	raw := strings.TrimSpace(r.URL.Query().Get("consumer"))
	rp := rightsPage{Base: p.cfg.Prefix, Consumer: raw, Done: p.done(r)}
	var f RightFilter
	status := http.StatusOK
	if raw != "" {
		id, err := ParseClientID(raw)
		if err != nil {
			rp.Error, status = p.text(r, "interop.form.client_id"), http.StatusBadRequest
		} else {
			f.Consumer, rp.Filtered, rp.ConsumerParts = id, true, parts(id.String())
		}
	}
	all, err := p.cfg.Store.Rights(r.Context(), RightFilter{})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	seen := map[ClientID]bool{}
	var consumers []string
	for i := range all {
		rt := &all[i]
		if !seen[rt.Consumer] {
			seen[rt.Consumer] = true
			consumers = append(consumers, rt.Consumer.String())
		}
		if rp.Error == "" && f.selects(rt) {
			rp.Rows = append(rp.Rows, p.rightRow(r, rt, c.Has(RoleOperator)))
		}
	}
	slices.Sort(consumers)
	for _, id := range consumers {
		rp.Consumers = append(rp.Consumers, option{Value: id, Label: id, Selected: id == raw})
	}
	p.r.Render(w, r, status, "rights.html", rp)
}

// findRight looks the right up by its identifier; false when answered.
func (p *pages) findRight(w http.ResponseWriter, r *http.Request) (Right, bool) {
	id := r.PathValue("id")
	if !validRightID(id) {
		p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "interop.error.no_right"))
		return Right{}, false
	}
	all, err := p.cfg.Store.Rights(r.Context(), RightFilter{})
	if err != nil {
		p.fail(w, r, err)
		return Right{}, false
	}
	for _, rt := range all {
		if rt.ID == id {
			return rt, true
		}
	}
	p.r.RenderError(w, r, http.StatusNotFound, p.text(r, "interop.error.no_right"))
	return Right{}, false
}

func (p *pages) confirmRevoke(w http.ResponseWriter, r *http.Request, _ Caller) {
	rt, ok := p.findRight(w, r)
	if !ok {
		return
	}
	row := p.rightRow(r, &rt, false)
	validity := p.text(r, "interop.right.always")
	if !rt.NotBefore.IsZero() || !rt.NotAfter.IsZero() {
		validity = p.text(r, "interop.right.window", "from", orDash(web.FormatDate(rt.NotBefore, p.loc)), "until", orDash(web.FormatUntil(rt.NotAfter, p.loc)))
	}
	p.r.Render(w, r, http.StatusOK, "confirm.html", confirmPage{
		Title: p.text(r, "interop.revoke.title"), Lead: p.text(r, "interop.revoke.lead"),
		Action: p.cfg.Prefix + "/rights/" + rt.ID + "/revoke", Back: row.ServiceURL + "#rights", Submit: p.text(r, "interop.revoke.submit"),
		Warning: true, Rows: [][2]string{
			{p.text(r, "interop.field.consumer"), row.Consumer}, {p.text(r, "interop.field.service"), row.Service},
			{p.text(r, "interop.field.method"), row.Method}, {p.text(r, "interop.field.path"), row.Path},
			{p.text(r, "interop.field.validity"), validity},
			{p.text(r, "interop.field.granted"), p.text(r, "interop.right.granted", "who", orDash(rt.GrantedBy), "when", web.FormatDateTime(rt.GrantedAt, p.loc))},
		}})
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (p *pages) revoke(w http.ResponseWriter, r *http.Request, c Caller) {
	rt, ok := p.findRight(w, r)
	if !ok {
		return
	}
	if err := p.cfg.Store.RevokeRight(r.Context(), rt.ID); err != nil {
		p.fail(w, r, err)
		return
	}
	p.cfg.Logger.Info("right revoked", zap.String("right", rt.ID), zap.String("service", rt.Service.String()),
		zap.String("consumer", rt.Consumer.String()), zap.String("by", c.ID))
	http.Redirect(w, r, p.serviceURL(rt.Service)+"?done=revoked#rights", http.StatusSeeOther)
}
