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

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/internal/web"
)

// The editors' pages, mounted below /edit/ when PagesConfig.Caller is set:
// a work list of the versions being worked on and the open suggestions,
// a page per version with its document, the actions the caller's roles
// allow in its state and its history, and forms to create, edit and
// revise procedures.

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
	NewDoc      string
	Violations  []string
	Message     string
	IsEditor    bool
	SignOutURL  string
}

type versionPage struct {
	Prefix, ID, Title, State, Doc string
	Version                       int
	Editable                      bool
	Actions                       []string
	History                       []Event
	Violations                    []string
	Message                       string
	CanRevise                     bool
}

func (c *catalogue) mountEditor(mux *http.ServeMux) {
	mux.HandleFunc("GET /edit/{$}", c.editor(c.workList))
	mux.HandleFunc("POST /edit/new", c.editor(c.createDraft))
	mux.HandleFunc("GET /edit/{id}/{v}", c.editor(c.versionPage))
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

func (c *catalogue) violations(r *http.Request, err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	el := web.Lang(r) == "el"
	out := make([]string, 0, len(ve.Violations))
	for _, v := range ve.Violations {
		msg := v.Message
		if el && v.MessageEL != "" {
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
	c.renderWorkList(w, r, caller, http.StatusOK, "", nil, "")
}

func (c *catalogue) renderWorkList(w http.ResponseWriter, r *http.Request, caller Caller, status int, doc string, violations []string, message string) {
	ctx := r.Context()
	lang := web.Lang(r)
	d := workList{Prefix: c.cfg.Prefix, Caller: caller.ID, NewDoc: doc, Violations: violations, Message: message, IsEditor: caller.Has(RoleEditor), SignOutURL: c.cfg.SignOutURL}
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
			d.Items = append(d.Items, workItem{URL: c.cfg.Prefix + "/edit/" + v.Procedure.ID + "/" + strconv.Itoa(v.Version),
				ID: v.Procedure.ID, Title: v.Procedure.Title.In(lang), State: c.text(r, "procedures.state."+v.State), Version: v.Version})
		}
	}
	if d.Suggestions, err = c.cfg.Registry.Suggestions(ctx, caller, "", true); err != nil {
		c.fail(w, r, err)
		return
	}
	c.pages.Render(w, r, status, "edit_list.html", d)
}

func (c *catalogue) createDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	r.Body = http.MaxBytesReader(w, r.Body, maxDocument+4096)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusRequestEntityTooLarge, "")
		return
	}
	doc := r.PostForm.Get("doc")
	v, err := c.cfg.Registry.Create(r.Context(), caller, []byte(doc))
	if err != nil {
		if vs := c.violations(r, err); vs != nil {
			c.renderWorkList(w, r, caller, http.StatusUnprocessableEntity, doc, vs, "")
			return
		}
		if msg, ok := c.refusal(r, err); ok {
			c.renderWorkList(w, r, caller, statusOf(err), doc, nil, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/edit/"+v.Procedure.ID+"/1", http.StatusSeeOther)
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
	c.renderVersion(w, r, caller, r.PathValue("id"), n, http.StatusOK, "", nil, "")
}

// actionsFor lists the workflow actions the caller may take on a version
// in state.
func actionsFor(caller Caller, state string) []string {
	var out []string
	for _, a := range []string{ActionSubmit, ActionReject, ActionApprove, ActionPublish, ActionWithdraw} {
		t := workflow[a]
		if t.from == state && caller.Has(t.role) {
			out = append(out, a)
		}
	}
	return out
}

func (c *catalogue) renderVersion(w http.ResponseWriter, r *http.Request, caller Caller, id string, n, status int, doc string, violations []string, message string) {
	ctx := r.Context()
	v, err := c.cfg.Registry.Get(ctx, id, n)
	if errors.Is(err, ErrNotFound) {
		c.pages.RenderError(w, r, http.StatusNotFound, c.text(r, "procedures.not_found"))
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if doc == "" {
		var buf bytes.Buffer
		_ = json.Indent(&buf, v.raw, "", "  ")
		doc = buf.String()
	}
	history, err := c.cfg.Registry.History(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	history = slices.DeleteFunc(history, func(e Event) bool { return e.Version != n })
	for i := range history {
		history[i].Note = c.historyNote(web.Lang(r), history[i].Note)
	}
	d := versionPage{Prefix: c.cfg.Prefix, ID: id, Title: v.Procedure.Title.In(web.Lang(r)), State: v.State, Doc: doc, Version: n,
		Editable: v.State == StateDraft && caller.Has(RoleEditor), Actions: actionsFor(caller, v.State), History: history,
		Violations: violations, Message: message,
		CanRevise: caller.Has(RoleEditor) && (v.State == StatePublished || v.State == StateWithdrawn || v.State == StateSuperseded)}
	c.pages.Render(w, r, status, "edit_version.html", d)
}

func (c *catalogue) saveDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	n, ok := c.versionParam(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxDocument+4096)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusRequestEntityTooLarge, "")
		return
	}
	id, doc := r.PathValue("id"), r.PostForm.Get("doc")
	_, err := c.cfg.Registry.Update(r.Context(), caller, id, n, []byte(doc))
	if err != nil {
		if vs := c.violations(r, err); vs != nil {
			c.renderVersion(w, r, caller, id, n, http.StatusUnprocessableEntity, doc, vs, "")
			return
		}
		if msg, ok := c.refusal(r, err); ok {
			c.renderVersion(w, r, caller, id, n, statusOf(err), doc, nil, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/edit/"+id+"/"+strconv.Itoa(n)+"?saved=1", http.StatusSeeOther)
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
			c.renderVersion(w, r, caller, id, n, statusOf(err), "", nil, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/edit/"+id+"/"+strconv.Itoa(n), http.StatusSeeOther)
}

func (c *catalogue) reviseDraft(w http.ResponseWriter, r *http.Request, caller Caller) {
	id := r.PathValue("id")
	v, err := c.cfg.Registry.Revise(r.Context(), caller, id)
	if err != nil {
		if msg, ok := c.refusal(r, err); ok {
			c.renderWorkList(w, r, caller, statusOf(err), "", nil, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/edit/"+id+"/"+strconv.Itoa(v.Version), http.StatusSeeOther)
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
			c.renderWorkList(w, r, caller, statusOf(err), "", nil, msg)
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
