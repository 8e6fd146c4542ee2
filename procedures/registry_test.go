package procedures_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

var (
	editor   = procedures.Caller{ID: "editor-1", Roles: []string{procedures.RoleEditor}}
	editor2  = procedures.Caller{ID: "editor-2", Roles: []string{procedures.RoleEditor}}
	approver = procedures.Caller{ID: "approver-1", Roles: []string{procedures.RoleApprover}}
	both     = procedures.Caller{ID: "chief", Roles: []string{procedures.RoleEditor, procedures.RoleApprover}}
	citizen  = procedures.Caller{ID: "someone"}
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := procedures.Samples()[name+".json"]
	require.True(t, ok, name)
	return b
}

// edit changes a document through its JSON.
func edit(t testing.TB, doc []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(doc, &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func pointers(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Pointer)
	}
	return out
}

func TestSamplesAreValid(t *testing.T) {
	require.NotEmpty(t, procedures.Samples())
	for name, doc := range procedures.Samples() {
		p, err := procedures.Parse(doc)
		require.NoError(t, err, name)
		assert.Equal(t, name, p.ID+".json", "the file is named after the id")
		assert.NotEmpty(t, p.Title.EN, "%s has an English title", name)
	}
}

func TestSchemaRejectsWithPointers(t *testing.T) {
	good := sample(t, "solemn-declaration")
	cases := map[string]struct {
		edit func(m map[string]any)
		want string
	}{
		"no title":        {func(m map[string]any) { delete(m, "title") }, "/title"},
		"no Greek":        {func(m map[string]any) { m["title"] = map[string]any{"en": "x"} }, "/title/el"},
		"bad id":          {func(m map[string]any) { m["id"] = "Bad Id" }, "/id"},
		"unknown field":   {func(m map[string]any) { m["colour"] = "blue" }, ""},
		"bad duration":    {func(m map[string]any) { m["steps"].([]any)[1].(map[string]any)["max_duration"] = "ten minutes" }, "/steps/1/max_duration"},
		"digital, no url": {func(m map[string]any) { delete(m["steps"].([]any)[0].(map[string]any), "url") }, "/steps/0/url"},
		"unknown channel": {func(m map[string]any) { m["channels"].([]any)[0].(map[string]any)["type"] = "pigeon" }, "/channels/0/type"},
		"cost range": {func(m map[string]any) {
			m["costs"] = []any{map[string]any{"title": map[string]any{"el": "τέλος"}, "min": 10, "max": 5, "currency": "EUR"}}
		}, "/costs/0/min"},
		"bad currency": {func(m map[string]any) {
			m["costs"] = []any{map[string]any{"title": map[string]any{"el": "τέλος"}, "min": 1, "max": 5, "currency": "euro"}}
		}, "/costs/0/currency"},
		"no steps":          {func(m map[string]any) { m["steps"] = []any{} }, "/steps"},
		"bad form":          {func(m map[string]any) { m["application_form"] = map[string]any{"type": "nonsense"} }, "/application_form"},
		"bad life event":    {func(m map[string]any) { m["life_events"] = []any{"not a uri"} }, "/life_events/0"},
		"number for title":  {func(m map[string]any) { m["title"] = 5 }, "/title"},
		"repeated category": {func(m map[string]any) { m["categories"] = []any{"family", "family"} }, "/categories"},
		"bad submission": {func(m map[string]any) {
			m["evidence"] = []any{map[string]any{"title": map[string]any{"el": "x"}, "submission": []any{"fax"}}}
		}, "/evidence/0/submission/0"},
	}
	for name, c := range cases {
		doc := edit(t, good, c.edit)
		assert.Equal(t, procedures.Validate(doc), func() error { _, err := procedures.Parse(doc); return err }(),
			"%s: Validate and Parse agree", name)
		_, err := procedures.Parse(doc)
		require.ErrorIs(t, err, jsonschema.ErrInvalidDocument, name)
		assert.Contains(t, pointers(err), c.want, name)
		var ve *jsonschema.ValidationError
		require.ErrorAs(t, err, &ve)
		for _, v := range ve.Violations {
			assert.NotEmpty(t, v.MessageEL, "%s: a Greek message", name)
		}
	}
	_, err := procedures.Parse([]byte("{not json"))
	assert.Error(t, err)
}

func TestWorkflow(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		doc := sample(t, "solemn-declaration")

		_, err = reg.Create(ctx, citizen, doc)
		assert.ErrorIs(t, err, procedures.ErrForbidden)
		_, err = reg.Create(ctx, editor, edit(t, doc, func(m map[string]any) { delete(m, "title") }))
		assert.ErrorIs(t, err, jsonschema.ErrInvalidDocument)
		v, err := reg.Create(ctx, editor, doc)
		require.NoError(t, err)
		assert.Equal(t, procedures.StateDraft, v.State)
		assert.Equal(t, 1, v.Version)
		_, err = reg.Create(ctx, editor, doc)
		assert.ErrorIs(t, err, procedures.ErrExists)
		_, err = reg.Published(ctx, "solemn-declaration")
		assert.ErrorIs(t, err, procedures.ErrNotFound, "a draft is not public")

		changed := edit(t, doc, func(m map[string]any) { m["processing_time"] = "PT3M" })
		v, err = reg.Update(ctx, editor, "solemn-declaration", 1, changed)
		require.NoError(t, err)
		assert.Equal(t, "PT3M", v.Procedure.ProcessingTime)

		_, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionSubmit, "")
		assert.ErrorIs(t, err, procedures.ErrForbidden, "approvers do not submit")
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionApprove, "")
		assert.ErrorIs(t, err, procedures.ErrTransition, "a draft cannot be approved")
		_, err = reg.Transition(ctx, both, "solemn-declaration", 1, procedures.ActionSubmit, "")
		require.NoError(t, err)
		_, err = reg.Update(ctx, editor, "solemn-declaration", 1, changed)
		assert.ErrorIs(t, err, procedures.ErrTransition, "a submitted version does not change")
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionReject, "")
		assert.ErrorIs(t, err, procedures.ErrTransition, "a rejection says why")
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionReject, "the legal basis is incomplete")
		require.NoError(t, err)
		_, err = reg.Update(ctx, both, "solemn-declaration", 1, changed)
		require.NoError(t, err)
		_, err = reg.Transition(ctx, both, "solemn-declaration", 1, procedures.ActionSubmit, "")
		require.NoError(t, err)
		_, err = reg.Transition(ctx, both, "solemn-declaration", 1, procedures.ActionApprove, "")
		assert.ErrorIs(t, err, procedures.ErrForbidden, "the author does not approve their own work")
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionApprove, "")
		require.NoError(t, err)
		v, err = reg.Transition(ctx, approver, "solemn-declaration", 1, procedures.ActionPublish, "")
		require.NoError(t, err)
		assert.Equal(t, procedures.StatePublished, v.State)
		assert.False(t, v.PublishedAt.IsZero())
		etag := v.ETag()

		pub, err := reg.Published(ctx, "solemn-declaration")
		require.NoError(t, err)
		assert.Equal(t, etag, pub.ETag(), "the hash is the ETag")
		_, err = reg.Update(ctx, editor, "solemn-declaration", 1, doc)
		assert.ErrorIs(t, err, procedures.ErrTransition, "a published version is immutable")

		// A revision is a draft beside the published version.
		v2, err := reg.Revise(ctx, editor2, "solemn-declaration")
		require.NoError(t, err)
		assert.Equal(t, 2, v2.Version)
		_, err = reg.Revise(ctx, editor2, "solemn-declaration")
		assert.ErrorIs(t, err, procedures.ErrTransition, "one revision at a time")
		pub, err = reg.Published(ctx, "solemn-declaration")
		require.NoError(t, err)
		assert.Equal(t, 1, pub.Version, "the public still sees version 1")
		_, err = reg.Update(ctx, editor2, "solemn-declaration", 2, edit(t, doc, func(m map[string]any) { m["processing_time"] = "PT1M" }))
		require.NoError(t, err)
		for _, step := range []struct {
			c procedures.Caller
			a string
		}{{editor2, procedures.ActionSubmit}, {approver, procedures.ActionApprove}, {approver, procedures.ActionPublish}} {
			_, err = reg.Transition(ctx, step.c, "solemn-declaration", 2, step.a, "")
			require.NoError(t, err, step.a)
		}
		pub, err = reg.Published(ctx, "solemn-declaration")
		require.NoError(t, err)
		assert.Equal(t, 2, pub.Version)
		assert.NotEqual(t, etag, pub.ETag())
		old, err := reg.Get(ctx, "solemn-declaration", 1)
		require.NoError(t, err)
		assert.Equal(t, procedures.StateSuperseded, old.State)
		assert.Equal(t, etag, old.ETag(), "the old version is kept as it was")

		counts, err := reg.Counts(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, counts[procedures.StatePublished])
		assert.Equal(t, 1, counts[procedures.StateSuperseded])
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 2, procedures.ActionWithdraw, "replaced by law")
		require.NoError(t, err)
		_, err = reg.Published(ctx, "solemn-declaration")
		assert.ErrorIs(t, err, procedures.ErrNotFound)
		_, err = reg.Transition(ctx, approver, "solemn-declaration", 2, "delete", "")
		assert.ErrorIs(t, err, procedures.ErrTransition)

		history, err := reg.History(ctx, "solemn-declaration")
		require.NoError(t, err)
		require.NotEmpty(t, history)
		assert.Equal(t, "created", history[0].Note)
		last := history[len(history)-1]
		assert.Equal(t, procedures.StateWithdrawn, last.To)
		assert.Equal(t, "approver-1", last.Actor)
		versions, err := reg.Versions(ctx, "solemn-declaration")
		require.NoError(t, err)
		assert.Len(t, versions, 2)
	})
}

func TestValidateApplication(t *testing.T) {
	doc := edit(t, sample(t, "solemn-declaration"), func(m map[string]any) {
		m["application_form"] = map[string]any{
			"type": "object", "required": []any{"recipient", "text"}, "additionalProperties": false,
			"properties": map[string]any{
				"recipient": map[string]any{"type": "string", "minLength": 1},
				"text":      map[string]any{"type": "string", "minLength": 1, "maxLength": 5000},
			},
		}
	})
	p, err := procedures.Parse(doc)
	require.NoError(t, err)
	require.NoError(t, p.ValidateApplication([]byte(`{"recipient":"ΚΕΠ","text":"Δηλώνω ότι…"}`)))
	err = p.ValidateApplication([]byte(`{"text":""}`))
	assert.ErrorIs(t, err, jsonschema.ErrInvalidDocument)
	assert.ElementsMatch(t, []string{"/recipient", "/text"}, pointers(err))
	plain, err := procedures.Parse(sample(t, "permanent-residence-certificate"))
	require.NoError(t, err)
	assert.ErrorIs(t, plain.ValidateApplication([]byte(`{}`)), procedures.ErrNoApplicationForm)
}

// FuzzParse feeds documents to the parser: it returns a procedure or a
// validation error, never panics, and what it accepts survives a round
// trip.
func FuzzParse(f *testing.F) {
	for _, doc := range procedures.Samples() {
		f.Add(doc)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","steps":[{"channel":"digital","actor":"applicant"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := procedures.Parse(doc)
		if err != nil {
			return
		}
		again, err := json.Marshal(p)
		require.NoError(t, err)
		_, err = procedures.Parse(again)
		require.NoError(t, err, "an accepted document stays valid once re-encoded")
	})
}

func TestImportPublished(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		var docs [][]byte
		for _, d := range procedures.Samples() {
			docs = append(docs, d)
		}
		n, err := reg.ImportPublished(ctx, "the samples", docs)
		require.NoError(t, err)
		assert.Equal(t, len(docs), n)
		n, err = reg.ImportPublished(ctx, "the samples", docs)
		require.NoError(t, err)
		assert.Zero(t, n, "importing again changes nothing")
		list, err := reg.ListPublished(ctx)
		require.NoError(t, err)
		assert.Len(t, list, len(docs))
		h, err := reg.History(ctx, "passport")
		require.NoError(t, err)
		assert.Equal(t, "imported from the samples", h[0].Note)
		_, err = reg.ImportPublished(ctx, "x", [][]byte{[]byte(`{"id":"broken"}`)})
		assert.ErrorIs(t, err, jsonschema.ErrInvalidDocument)
	})
}
