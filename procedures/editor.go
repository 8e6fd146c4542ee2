package procedures

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/fold"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/internal/web"
)

// The editors' pages, mounted below /edit/ when PagesConfig.Caller is set:
// a work list of the versions being worked on, the open suggestions and
// the published procedures with a search; a form to create a procedure
// and to edit a draft, built from the schema, with a JSON view beside it;
// a preview of the citizen's page; and for a version under review what
// changed since the published one, field by field.

type workItem struct {
	URL, ID, Title, State string
	Version               int
}

type workList struct {
	Prefix      string
	Caller      string
	Counts      map[string]int
	Items       []workItem
	Suggestions []Suggestion
	Message     string
	IsEditor    bool
	SignOutURL  string
	// The published procedures, narrowed by Q.
	Q              string
	Published      []workItem
	PublishedTotal int
	More           bool
}

// historyView is an event of the history as the page shows it.
type historyView struct {
	Event
	Who string
}

type versionPage struct {
	Prefix, ID, Title, State string
	Version                  int
	// New is the form of a procedure not yet created.
	New       bool
	Editable  bool
	Actions   []string
	History   []historyView
	Message   string
	Saved     bool
	CanRevise bool
	// FormURL is where the form posts; Form is the form itself.
	FormURL string
	Form    formView
	// Doc is the JSON view; RawErrors its errors by pointer, when the
	// JSON view was sent; RawOpen opens it.
	Doc       string
	RawErrors []string
	RawOpen   bool
	// Diff lists what changed since the published version Against.
	Diff    []diffRow
	Same    int
	Against int
	// Preview links the citizen's page as this version would show it.
	Preview string
}

func (c *catalogue) mountEditor(mux *http.ServeMux) {
	mux.HandleFunc("GET /edit/{$}", c.editor(c.workList))
	mux.HandleFunc("GET /edit/new", c.editor(c.newForm))
	mux.HandleFunc("POST /edit/new", c.editor(c.createDraft))
	mux.HandleFunc("GET /edit/{id}/{v}", c.editor(c.versionPage))
	mux.HandleFunc("GET /edit/{id}/{v}/preview", c.editor(c.preview))
	mux.HandleFunc("POST /edit/{id}/{v}", c.editor(c.saveDraft))
	mux.HandleFunc("POST /edit/{id}/{v}/{action}", c.editor(c.act))
	mux.HandleFunc("POST /edit/{id}/revise", c.editor(c.reviseDraft))
	mux.HandleFunc("POST /edit/suggestions/{sid}/close", c.editor(c.closeSuggestion))
}

// editor resolves the caller, refuses those without an editor's or
// approver's role, and refuses form posts from other sites.
func (c *catalogue) editor(h func(http.ResponseWriter, *http.Request, Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		caller, err := c.cfg.Caller(r)
		if httpx.UnavailableProblem(err) != nil {
			// The identity could not be looked up: not a failed sign-in.
			c.fail(w, r, err)
			return
		}
		if err != nil || caller.ID == "" {
			c.pages.RenderError(w, r, http.StatusUnauthorized, c.text(r, "procedures.edit.sign_in"))
			return
		}
		if !caller.Has(RoleEditor) && !caller.Has(RoleApprover) {
			c.pages.RenderError(w, r, http.StatusForbidden, c.text(r, "procedures.edit.no_role"))
			return
		}
		if r.Method == http.MethodPost && !httpx.SameOrigin(r) {
			c.pages.RenderError(w, r, http.StatusForbidden, c.text(r, "procedures.edit.cross_site"))
			return
		}
		h(w, r, caller)
	}
}

// rawViolations lists a document's violations by JSON Pointer, as the
// JSON view shows them.
func rawViolations(lang string, vs []jsonschema.Violation) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		msg := v.Message
		if lang == "el" && v.MessageEL != "" {
			msg = v.MessageEL
		}
		ptr := v.Pointer
		if ptr == "" {
			ptr = "/"
		}
		out = append(out, ptr+": "+msg)
	}
	return out
}

// refusal turns a registry error into a message for the page, or false
// when it is not the person's doing.
func (c *catalogue) refusal(r *http.Request, err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail, true
	}
	var se *SuggestionError
	if errors.As(err, &se) {
		return se.Reason, true
	}
	return "", false
}

func (c *catalogue) workList(w http.ResponseWriter, r *http.Request, caller Caller) {
	c.renderWorkList(w, r, caller, http.StatusOK, "")
}

// listedPublished is how many published procedures the work list shows
// at once; a search narrows them.
const listedPublished = 50

func (c *catalogue) renderWorkList(w http.ResponseWriter, r *http.Request, caller Caller, status int, message string) {
	ctx := r.Context()
	d := workList{Prefix: c.cfg.Prefix, Caller: caller.DisplayName(), Message: message, IsEditor: caller.Has(RoleEditor),
		SignOutURL: c.cfg.SignOutURL, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	var err error
	if d.Counts, err = c.cfg.Registry.Counts(ctx); err != nil {
		c.fail(w, r, err)
		return
	}
	for _, state := range []string{StatePending, StateApproved, StateDraft} {
		vs, err := c.cfg.Registry.ListState(ctx, state)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		for _, v := range vs {
			d.Items = append(d.Items, c.item(r, v))
		}
	}
	published, err := c.cfg.Registry.ListPublished(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	found, ok := c.findPublished(r, published, d.Q)
	if !ok {
		d.Message = c.text(r, "procedures.search.too_long")
	}
	d.PublishedTotal = len(found)
	if len(found) > listedPublished {
		found, d.More = found[:listedPublished], true
	}
	for _, v := range found {
		d.Published = append(d.Published, c.item(r, v))
	}
	slices.SortStableFunc(d.Published, func(a, b workItem) int {
		if d.Q != "" {
			return 0 // the search's order
		}
		return strings.Compare(fold.String(a.Title), fold.String(b.Title))
	})
	if d.Suggestions, err = c.cfg.Registry.Suggestions(ctx, caller, "", true); err != nil {
		c.fail(w, r, err)
		return
	}
	c.pages.Render(w, r, status, "edit_list.html", d)
}

func (c *catalogue) item(r *http.Request, v *Version) workItem {
	return workItem{URL: c.editURL(v.Procedure.ID, v.Version), ID: v.Procedure.ID, Title: v.Procedure.Title.In(web.Lang(r)),
		State: c.text(r, "procedures.state."+v.State), Version: v.Version}
}

func (c *catalogue) editURL(id string, n int) string {
	return c.cfg.Prefix + "/edit/" + id + "/" + strconv.Itoa(n)
}

// findPublished narrows the published procedures to those q finds: by
// the Searcher when the pages have one, else by the words of the title
// and the identifier. ok is false when the search was refused (too long).
func (c *catalogue) findPublished(r *http.Request, published []*Version, q string) ([]*Version, bool) {
	if q == "" {
		return published, true
	}
	if c.cfg.Index != nil {
		res, err := c.cfg.Index.Search(r.Context(), Query{Text: q, Limit: listedPublished})
		if err == nil {
			byID := map[string]*Version{}
			for _, v := range published {
				byID[v.Procedure.ID] = v
			}
			var out []*Version
			for _, h := range res.Hits {
				if v, ok := byID[h.ID]; ok {
					out = append(out, v)
				}
			}
			return out, true
		}
		var qe *QueryError
		if errors.As(err, &qe) {
			return nil, false
		}
		// The index is not answering: the words of the titles still find.
		c.cfg.Logger.Warn("procedures: workspace search", zap.Error(err))
	}
	words := strings.Fields(fold.String(q))
	var out []*Version
	for _, v := range published {
		p := v.Procedure
		hay := fold.String(p.ID + " " + p.Title.EL + " " + p.Title.EN + " " + p.Authority.Name.EL + " " + p.Authority.Name.EN)
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(hay, w) }) {
			out = append(out, v)
		}
	}
	return out, true
}

// newProcedure is the tree of a form for a new procedure: the step and
// the channel every procedure has at least one of.
func newProcedure() map[string]any {
	return map[string]any{"steps": []any{map[string]any{}}, "channels": []any{map[string]any{}}}
}

func (c *catalogue) newForm(w http.ResponseWriter, r *http.Request, caller Caller) {
	if !caller.Has(RoleEditor) {
		c.pages.RenderError(w, r, http.StatusForbidden, c.text(r, "procedures.edit.no_role"))
		return
	}
	d := versionPage{New: true, Editable: true}
	c.renderForm(w, r, http.StatusOK, &d, newProcedure(), nil)
}

// renderForm shows the form page d, new or of a draft, with tree in its
// fields and the violations beside them.
func (c *catalogue) renderForm(w http.ResponseWriter, r *http.Request, status int, d *versionPage, tree map[string]any, vs []jsonschema.Violation) {
	lang := web.Lang(r)
	d.Prefix = c.cfg.Prefix
	if d.New {
		d.Title = c.text(r, "procedures.edit.new")
		d.FormURL = c.cfg.Prefix + "/edit/new"
	} else {
		d.FormURL = c.editURL(d.ID, d.Version)
	}
	b := &formBuilder{t: func(key string, args ...any) string { return c.pages.Text(lang, key, args...) }, fixed: !d.New, url: d.FormURL}
	d.Form = b.build(tree, vs, lang)
	if d.Doc == "" {
		d.Doc = string(encodeTree(tree))
	}
	c.pages.Render(w, r, status, "edit_version.html", d)
}

// readPost reads a form post of the editor's page, bounded in size.
func (c *catalogue) readPost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxDocument+64<<10)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusRequestEntityTooLarge, c.text(r, "procedures.form.too_large"))
		return false
	}
	return true
}

// formPost is what an editor's post of the form or of the JSON view
// asks: the document and, for the form's buttons, whether to store it.
type formPost struct {
	tree    map[string]any
	doc     []byte
	raw     bool
	changes bool   // an add, remove or move: shown again, not stored
	then    string // save or preview
}

// readFormPost reads the posted form or JSON view. A form the page did
// not send is answered here, with false.
func (c *catalogue) readFormPost(w http.ResponseWriter, r *http.Request, d *versionPage) (formPost, bool) {
	if !c.readPost(w, r) {
		return formPost{}, false
	}
	f := r.PostForm
	if f.Has("doc") {
		// The JSON view.
		doc := f.Get("doc")
		return formPost{tree: decodeTree([]byte(doc)), doc: []byte(doc), raw: true, then: f.Get("then")}, true
	}
	tree, err := readForm(f)
	var a formAction
	var changes bool
	if err == nil {
		a, changes, err = parseAction(f.Get("action"))
	}
	if err == nil && changes {
		err = a.apply(tree)
	}
	if err != nil {
		if tree == nil {
			tree = newProcedure()
		}
		d.Message = c.text(r, "procedures.form.bad_form")
		c.renderForm(w, r, http.StatusBadRequest, d, tree, nil)
		return formPost{}, false
	}
	return formPost{tree: tree, doc: encodeTree(tree), changes: changes, then: f.Get("action")}, true
}

// refused answers a store's error on the form: the violations beside the
// fields (and by pointer in the JSON view when that was sent), or the
// registry's refusal; true when it was answered.
func (c *catalogue) refused(w http.ResponseWriter, r *http.Request, d *versionPage, p formPost, err error) bool {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		if p.raw {
			d.Doc, d.RawErrors, d.RawOpen = string(p.doc), rawViolations(web.Lang(r), ve.Violations), true
		}
		c.renderForm(w, r, http.StatusUnprocessableEntity, d, p.tree, ve.Violations)
		return true
	}
	if msg, ok := c.refusal(r, err); ok {
		d.Message = msg
		if p.raw {
			d.Doc, d.RawOpen = string(p.doc), true
		}
		c.renderForm(w, r, statusOf(err), d, p.tree, nil)
		return true
	}
	return false
}

func (c *catalogue) createDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	d := versionPage{New: true, Editable: true}
	p, ok := c.readFormPost(w, r, &d)
	if !ok {
		return
	}
	if p.changes {
		c.renderForm(w, r, http.StatusOK, &d, p.tree, nil)
		return
	}
	v, err := c.cfg.Registry.Create(r.Context(), caller, p.doc)
	if err != nil {
		if !c.refused(w, r, &d, p, err) {
			c.fail(w, r, err)
		}
		return
	}
	c.afterSave(w, r, v.Procedure.ID, v.Version, p.then)
}

// afterSave leads to the preview or back to the saved draft.
func (c *catalogue) afterSave(w http.ResponseWriter, r *http.Request, id string, n int, then string) {
	to := c.editURL(id, n) + "?saved=1"
	if then == "preview" {
		to = c.editURL(id, n) + "/preview"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Problem().Status
	}
	return http.StatusUnprocessableEntity
}

func (c *catalogue) versionParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("v"))
	if err != nil || n < 1 {
		c.pages.RenderError(w, r, http.StatusNotFound, "")
		return 0, false
	}
	return n, true
}

func (c *catalogue) versionPage(w http.ResponseWriter, r *http.Request, caller Caller) {
	n, ok := c.versionParam(w, r)
	if !ok {
		return
	}
	d, v, ok := c.loadVersion(w, r, caller, r.PathValue("id"), n)
	if !ok {
		return
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	c.renderVersion(w, r, http.StatusOK, d, v)
}

// actionsFor lists the workflow actions the caller may take on a version
// in state.
func actionsFor(caller Caller, state string) []string {
	var out []string
	// The step forward first, then sending back or withdrawing.
	for _, a := range []string{ActionSubmit, ActionApprove, ActionPublish, ActionReject, ActionWithdraw} {
		t := workflow[a]
		if t.from == state && caller.Has(t.role) {
			out = append(out, a)
		}
	}
	return out
}

// loadVersion reads version n of id and what its page shows around the
// document: the actions the caller may take, its history.
func (c *catalogue) loadVersion(w http.ResponseWriter, r *http.Request, caller Caller, id string, n int) (*versionPage, *Version, bool) {
	ctx := r.Context()
	v, err := c.cfg.Registry.Get(ctx, id, n)
	if errors.Is(err, ErrNotFound) {
		c.pages.RenderError(w, r, http.StatusNotFound, c.text(r, "procedures.not_found"))
		return nil, nil, false
	}
	if err != nil {
		c.fail(w, r, err)
		return nil, nil, false
	}
	history, err := c.cfg.Registry.History(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return nil, nil, false
	}
	history = slices.DeleteFunc(history, func(e Event) bool { return e.Version != n })
	d := &versionPage{Prefix: c.cfg.Prefix, ID: id, Title: v.Procedure.Title.In(web.Lang(r)), State: v.State, Version: n,
		Editable: v.State == StateDraft && caller.Has(RoleEditor), Actions: actionsFor(caller, v.State),
		CanRevise: caller.Has(RoleEditor) && (v.State == StatePublished || v.State == StateWithdrawn || v.State == StateSuperseded),
		Preview:   c.editURL(id, n) + "/preview"}
	for _, e := range history {
		e.Note = c.historyNote(web.Lang(r), e.Note)
		who := e.Actor
		if e.ActorName != "" {
			who = e.ActorName + " (" + e.Actor + ")"
		}
		d.History = append(d.History, historyView{Event: e, Who: who})
	}
	return d, v, true
}

// renderVersion shows a version: a draft as the form, any other with
// what changed since the published version.
func (c *catalogue) renderVersion(w http.ResponseWriter, r *http.Request, status int, d *versionPage, v *Version) {
	tree := decodeTree(v.raw)
	if d.Editable {
		c.renderForm(w, r, status, d, tree, nil)
		return
	}
	var buf bytes.Buffer
	_ = json.Indent(&buf, v.raw, "", "  ")
	d.Doc = buf.String()
	if v.State == StatePending || v.State == StateApproved || v.State == StateDraft {
		pub, err := c.cfg.Registry.Published(r.Context(), v.Procedure.ID)
		switch {
		case err == nil:
			lang := web.Lang(r)
			b := &formBuilder{t: func(key string, args ...any) string { return c.pages.Text(lang, key, args...) }}
			d.Diff, d.Same = b.diff(decodeTree(pub.raw), tree)
			d.Against = pub.Version
		case !errors.Is(err, ErrNotFound):
			c.fail(w, r, err)
			return
		}
	}
	c.pages.Render(w, r, status, "edit_version.html", d)
}

func (c *catalogue) saveDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	n, ok := c.versionParam(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, v, ok := c.loadVersion(w, r, caller, id, n)
	if !ok {
		return
	}
	if !d.Editable {
		msg := c.text(r, "procedures.form.not_draft")
		if !caller.Has(RoleEditor) {
			msg = c.text(r, "procedures.edit.no_role")
		}
		d.Message = msg
		c.renderVersion(w, r, http.StatusConflict, d, v)
		return
	}
	p, ok := c.readFormPost(w, r, d)
	if !ok {
		return
	}
	if p.changes {
		c.renderForm(w, r, http.StatusOK, d, p.tree, nil)
		return
	}
	if _, err := c.cfg.Registry.Update(r.Context(), caller, id, n, p.doc); err != nil {
		if !c.refused(w, r, d, p, err) {
			c.fail(w, r, err)
		}
		return
	}
	c.afterSave(w, r, id, n, p.then)
}

// preview shows the citizen's page as the version would read, with the
// catalogue's own template.
func (c *catalogue) preview(w http.ResponseWriter, r *http.Request, caller Caller) {
	n, ok := c.versionParam(w, r)
	if !ok {
		return
	}
	v, err := c.cfg.Registry.Get(r.Context(), r.PathValue("id"), n)
	if errors.Is(err, ErrNotFound) {
		c.pages.RenderError(w, r, http.StatusNotFound, c.text(r, "procedures.not_found"))
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := c.view(r, v)
	d.Preview = &previewView{URL: c.editURL(v.Procedure.ID, n), State: c.text(r, "procedures.state."+v.State),
		Actions: actionsFor(caller, v.State)}
	c.pages.Render(w, r, http.StatusOK, "procedure.html", d)
}

func (c *catalogue) act(w http.ResponseWriter, r *http.Request, caller Caller) {
	n, ok := c.versionParam(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	id := r.PathValue("id")
	_, err := c.cfg.Registry.Transition(r.Context(), caller, id, n, r.PathValue("action"), r.PostForm.Get("note"))
	if err != nil {
		if msg, ok := c.refusal(r, err); ok {
			d, v, ok := c.loadVersion(w, r, caller, id, n)
			if !ok {
				return
			}
			d.Message = msg
			c.renderVersion(w, r, statusOf(err), d, v)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.editURL(id, n), http.StatusSeeOther)
}

// reviseDraft starts a new revision of a published procedure, or leads to
// the one already being worked on.
func (c *catalogue) reviseDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	id := r.PathValue("id")
	v, err := c.cfg.Registry.Revise(r.Context(), caller, id)
	if errors.Is(err, ErrTransition) {
		vs, verr := c.cfg.Registry.Versions(r.Context(), id)
		if verr == nil && len(vs) > 0 && (vs[0].State == StateDraft || vs[0].State == StatePending || vs[0].State == StateApproved) {
			http.Redirect(w, r, c.editURL(id, vs[0].Version), http.StatusSeeOther)
			return
		}
	}
	if err != nil {
		if msg, ok := c.refusal(r, err); ok {
			c.renderWorkList(w, r, caller, statusOf(err), msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.editURL(id, v.Version), http.StatusSeeOther)
}

func (c *catalogue) closeSuggestion(w http.ResponseWriter, r *http.Request, caller Caller) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	err := c.cfg.Registry.CloseSuggestion(r.Context(), caller, r.PathValue("sid"), r.PostForm.Get("resolution"))
	if err != nil {
		if msg, ok := c.refusal(r, err); ok {
			c.renderWorkList(w, r, caller, statusOf(err), msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/edit/", http.StatusSeeOther)
}

// historyNote writes a note of the history in lang: the notes the
// registry writes itself are translated, an editor's own note is kept.
func (c *catalogue) historyNote(lang, note string) string {
	switch {
	case note == noteCreated:
		return c.pages.Text(lang, "procedures.history.created")
	case note == noteEdited:
		return c.pages.Text(lang, "procedures.history.edited")
	case strings.HasPrefix(note, noteImported):
		return c.pages.Text(lang, "procedures.history.imported", "source", strings.TrimPrefix(note, noteImported))
	}
	var n int
	if _, err := fmt.Sscanf(note, noteRevision, &n); err == nil && fmt.Sprintf(noteRevision, n) == note {
		return c.pages.Text(lang, "procedures.history.revision", "n", n)
	}
	return note
}
