package procedures_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// Every address the schema has is checked: the schema states "format":
// "uri" only in its two definitions, and every use of them is found.
func TestEveryAddressFieldIsChecked(t *testing.T) {
	assert.Equal(t, 2, strings.Count(string(procedures.Schema()), `"format": "uri"`),
		"an address field outside the link and uri definitions would escape the check")
	links, identifiers := procedures.AddressFields()
	assert.ElementsMatch(t, []string{"/authority/url", "/channels/*/url", "/contact/url", "/legal_basis/*/url",
		"/links/*/url", "/steps/*/url"}, links)
	assert.ElementsMatch(t, []string{"/business_events/*", "/legal_basis/*/eli", "/life_events/*"}, identifiers)
	assert.Equal(t, len(links), strings.Count(string(procedures.Schema()), `"$ref": "#/definitions/link"`))
	assert.Equal(t, len(identifiers), strings.Count(string(procedures.Schema()), `"$ref": "#/definitions/uri"`))
}

// addressDoc is a sample with every address field present, each set to
// value: links where link is true, identifiers otherwise.
func addressDoc(t *testing.T, value string, link bool) ([]byte, []string) {
	t.Helper()
	var p map[string]any
	require.NoError(t, json.Unmarshal(sample(t, "solemn-declaration"), &p))
	obj := func(key string) map[string]any {
		m, _ := p[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
			p[key] = m
		}
		return m
	}
	title := map[string]any{"el": "Τίτλος"}
	var pointers []string
	if link {
		obj("authority")["url"] = value
		obj("contact")["url"] = value
		p["links"] = []any{map[string]any{"title": title, "url": value}}
		p["legal_basis"] = []any{map[string]any{"title": title, "url": value}}
		steps := p["steps"].([]any)
		for i := range steps {
			steps[i].(map[string]any)["url"] = value
			pointers = append(pointers, "/steps/"+strconv.Itoa(i)+"/url")
		}
		p["channels"] = []any{map[string]any{"type": "digital", "url": value}, map[string]any{"type": "in_person"}}
		pointers = append(pointers, "/authority/url", "/contact/url", "/links/0/url", "/legal_basis/0/url", "/channels/0/url")
	} else {
		p["legal_basis"] = []any{map[string]any{"title": title, "eli": value}}
		p["life_events"] = []any{"http://data.europa.eu/cpsv-ap/lifeevent/having-a-child", value}
		p["business_events"] = []any{value}
		pointers = append(pointers, "/legal_basis/0/eli", "/life_events/1", "/business_events/0")
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	return b, pointers
}

func violations(t *testing.T, err error) map[string]procedures.Violation {
	t.Helper()
	var ve *procedures.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	out := map[string]procedures.Violation{}
	for _, v := range ve.Violations {
		out[v.Pointer] = v
	}
	return out
}

func TestUnsafeAddressesAreRefused(t *testing.T) {
	for _, bad := range []string{"javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)", "http://www.gov.gr/", "ftp://files.gov.gr/", "//evil.example/x", "/relative/path",
		"https://user:secret@evil.example/", "https:no-host", "https:///path", " javascript:alert(1)", "http://127.0.0.1/"} {
		doc, pointers := addressDoc(t, bad, true)
		got := violations(t, procedures.Validate(doc))
		for _, ptr := range pointers {
			if v, ok := got[ptr]; assert.True(t, ok, "%s at %s", bad, ptr) {
				// What is not an absolute URI at all fails the schema's
				// format first; the rest fails the https rule.
				assert.Contains(t, []string{"https", "format"}, v.Kind, bad)
				assert.NotEmpty(t, v.Message)
				assert.NotEmpty(t, v.MessageEL)
				if strings.Contains(strings.ToLower(bad), "script:") && !strings.HasPrefix(bad, " ") || strings.HasPrefix(bad, "http") {
					assert.Equal(t, "https", v.Kind, bad)
					assert.Contains(t, v.Message, "must be an https address", bad)
					assert.Contains(t, v.MessageEL, "πρέπει να είναι διεύθυνση https", bad)
				}
			}
		}
		_, err := procedures.Parse(doc)
		var ve *procedures.ValidationError
		assert.ErrorAs(t, err, &ve, bad)
	}
	for _, bad := range []string{"javascript:alert(1)", "data:,x", "urn:lex:gr:state:law:1986;1599", "//data.europa.eu/x", "https://u:p@et.gr/eli/x"} {
		doc, pointers := addressDoc(t, bad, false)
		got := violations(t, procedures.Validate(doc))
		for _, ptr := range pointers {
			if v, ok := got[ptr]; assert.True(t, ok, "%s at %s", bad, ptr) {
				assert.Contains(t, []string{"identifier", "format"}, v.Kind, bad)
				assert.NotEmpty(t, v.MessageEL)
			}
		}
	}
	for _, good := range []string{"https://www.gov.gr/ipiresies/x?a=1#b", "HTTPS://WWW.GOV.GR/", "https://[2001:db8::1]:8443/x"} {
		doc, _ := addressDoc(t, good, true)
		assert.NoError(t, procedures.Validate(doc), good)
	}
	for _, good := range []string{"http://www.et.gr/eli/law/1986/1599", "https://data.europa.eu/x"} {
		doc, _ := addressDoc(t, good, false)
		assert.NoError(t, procedures.Validate(doc), good)
	}
}

func TestSamplesAndSyntheticPass(t *testing.T) {
	for name, doc := range procedures.Samples() {
		assert.NoError(t, procedures.Validate(doc), name)
	}
	for i, doc := range procedures.Synthetic(50, 7) {
		assert.NoError(t, procedures.Validate(doc), i)
	}
}

// The registry refuses unsafe links whatever the path they come in by,
// storing nothing; one made for a demonstration takes http links to this
// machine, and only those.
func TestRegistryAddressPolicy(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		strict, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		demo, err := procedures.NewRegistry(ctx, db.DB.DB, procedures.WithLoopbackHTTP())
		require.NoError(t, err)

		bad, _ := addressDoc(t, "javascript:alert(1)", true)
		for _, reg := range []*procedures.Registry{strict, demo} {
			_, err = reg.Create(ctx, editor, bad)
			assert.Contains(t, violations(t, err), "/steps/0/url")
			_, err = reg.ImportPublished(ctx, "elsewhere", [][]byte{bad})
			assert.Contains(t, violations(t, err), "/authority/url")
		}
		local, _ := addressDoc(t, "http://127.0.0.1:8080/apply", true)
		_, err = strict.Create(ctx, editor, local)
		got := violations(t, err)
		assert.NotContains(t, got["/steps/0/url"].Message, "this machine", "a registry that publishes does not mention http")
		counts, err := strict.Counts(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int{procedures.StateDraft: 0, procedures.StatePending: 0, procedures.StateApproved: 0,
			procedures.StatePublished: 0, procedures.StateWithdrawn: 0}, counts, "nothing stored")

		remote, _ := addressDoc(t, "http://www.gov.gr/apply", true)
		_, err = demo.Create(ctx, editor, remote)
		got = violations(t, err)
		assert.Contains(t, got["/steps/0/url"].Message, "or http on this machine")
		assert.Contains(t, got["/steps/0/url"].MessageEL, "ή http σε αυτό το μηχάνημα")

		for _, addr := range []string{"http://127.0.0.1:8080/apply", "http://localhost/apply", "http://[::1]:8080/"} {
			doc, _ := addressDoc(t, addr, true)
			assert.Contains(t, violations(t, procedures.Validate(doc)), "/steps/0/url", "strict outside a demonstration registry")
			v, err := demo.Create(ctx, editor, bytesReplaceID(doc, "demo-"+strconv.Itoa(len(addr))))
			require.NoError(t, err, addr)
			assert.Equal(t, addr, v.Procedure.Steps[0].URL)
			v, err = demo.Update(ctx, editor, v.Procedure.ID, v.Version, bytesReplaceID(doc, v.Procedure.ID))
			require.NoError(t, err)
			bad, _ := addressDoc(t, "javascript:alert(1)", true)
			_, err = demo.Update(ctx, editor, v.Procedure.ID, v.Version, bytesReplaceID(bad, v.Procedure.ID))
			assert.Contains(t, violations(t, err), "/contact/url", "an update is checked too")
		}
	})
}

// bytesReplaceID gives a procedure document another id.
func bytesReplaceID(doc []byte, id string) []byte {
	var p map[string]any
	if err := json.Unmarshal(doc, &p); err != nil {
		panic(err)
	}
	p["id"] = id
	b, _ := json.Marshal(p)
	return b
}

// Over the JSON API a javascript: link is a 422 problem naming each field
// by JSON Pointer, in English and Greek, and the API and the CPSV-AP export
// never republish one.
func TestAPIRefusesUnsafeAddresses(t *testing.T) {
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	defer idx.Close()
	h, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx,
		Caller: func(r *http.Request) (procedures.Caller, error) { return editor, nil }})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	doc, pointers := addressDoc(t, "javascript:alert(1)", true)
	resp, err := http.Post(srv.URL+"/procedures", "application/json", bytes.NewReader(doc))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(b))
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p struct {
		Type   string
		Errors []struct{ Pointer, Detail string }
		ErrEL  []struct{ Pointer, Detail string } `json:"errors_el"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	assert.Equal(t, "https://egovkit.dev/problems/validation", p.Type)
	var got, gotEL []string
	for _, e := range p.Errors {
		got = append(got, e.Pointer)
		assert.Equal(t, "must be an https address, such as https://www.gov.gr/…", e.Detail)
	}
	for _, e := range p.ErrEL {
		gotEL = append(gotEL, e.Pointer)
		assert.Equal(t, "πρέπει να είναι διεύθυνση https, όπως https://www.gov.gr/…", e.Detail)
	}
	assert.ElementsMatch(t, pointers, got)
	assert.ElementsMatch(t, pointers, gotEL)

	for _, path := range []string{"/procedures", "/export/cpsv-ap"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NotContains(t, strings.ToLower(string(b)), "javascript:", path)
	}
}
