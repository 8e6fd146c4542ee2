package declaration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

var (
	maria = declaration.Person{AFM: "123456783", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου", FatherName: "Γεώργιος",
		MotherName: "Ελένη", BirthDate: "1985-03-15", Mobile: "+306912345678"}
	nikos = declaration.Person{AFM: "090000045", GivenName: "Νίκος", FamilyName: "Γεωργίου", Mobile: "+306911111111"}
)

// counter records what the service reports.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) Count(kind string, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind+"/"+strings.Join(labels, ",")]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[k]
}

// all returns every count, by kind and label values.
func (c *counter) all() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// What the fixture's service reports for an issued declaration and an
// issued authorization (issuer "gov.gr").
const (
	declarationIssued   = declaration.CountDeclaration + "/gov.gr," + declaration.ChannelDigital
	authorizationIssued = declaration.CountAuthorization + "/gov.gr," + declaration.ChannelDigital
)

type fixture struct {
	svc    *declaration.Service
	outbox *otp.Outbox
	clock  *testclock.Clock
	keys   declaration.SigningKeys
	count  *counter
	kek    []byte
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func newFixture(t testing.TB, db *sql.DB, kek []byte, opts ...func(*declaration.Config)) *fixture {
	t.Helper()
	return newFixtureAlg(t, db, kek, declaration.ES256, opts...)
}

func newFixtureAlg(t testing.TB, db *sql.DB, kek []byte, alg string, opts ...func(*declaration.Config)) *fixture {
	t.Helper()
	ctx := t.Context()
	if kek == nil {
		var err error
		kek, err = keys.GenerateKEK()
		require.NoError(t, err)
	}
	ks, err := declaration.NewSigningKeys(ctx, db, kek, alg)
	require.NoError(t, err)
	f := &fixture{outbox: otp.NewOutbox(5000), clock: testclock.New(), keys: ks, count: &counter{}, kek: kek}
	cfg := declaration.Config{DB: db, Issuer: "gov.gr", BaseURL: "https://docs.example.gr", Keys: ks,
		CodeSecret: secret, SMS: f.outbox, Now: f.clock.Now, Counter: f.count,
		Templates: map[string]declaration.Template{
			"parking": {Title: declaration.Text{EL: "Αίτηση κάρτας στάθμευσης", EN: "Parking card application"},
				Schema: []byte(`{"type":"object","required":["plate"],"additionalProperties":false,
					"properties":{"plate":{"type":"string","pattern":"^[Α-Ω]{3}-[0-9]{4}$"}}}`)},
		}}
	for _, o := range opts {
		o(&cfg)
	}
	f.svc, err = declaration.New(ctx, cfg)
	require.NoError(t, err)
	return f
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// codeIn reads the code in an SMS: the last six digits, after what the
// message names (a protocol number, 2026/000123, may come first).
func codeIn(text string) string {
	all := sixDigits.FindAllString(text, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// code reads the last code sent to the person.
func (f *fixture) code(t testing.TB, p declaration.Person) string {
	t.Helper()
	m, ok := f.outbox.Last(p.Mobile)
	require.True(t, ok, "a code was sent")
	c := codeIn(m.Text)
	require.NotEmpty(t, c, m.Text)
	return c
}

// issue runs the whole flow for a draft.
func (f *fixture) issue(t testing.TB, p declaration.Person, d declaration.Draft) *declaration.Document {
	t.Helper()
	ctx := t.Context()
	doc, err := f.svc.Create(ctx, p, d)
	require.NoError(t, err)
	_, err = f.svc.RequestCode(ctx, p, doc.ID)
	require.NoError(t, err)
	issued, err := f.svc.Confirm(ctx, p, doc.ID, f.code(t, p))
	require.NoError(t, err)
	return issued
}

// revoke asks for a revocation code and revokes with it.
func (f *fixture) revoke(t testing.TB, p declaration.Person, id, reason string) (*declaration.Document, error) {
	t.Helper()
	if _, err := f.svc.RequestRevokeCode(t.Context(), p, id); err != nil {
		return nil, err
	}
	return f.svc.Revoke(t.Context(), p, id, f.code(t, p), reason)
}

func solemn() declaration.Draft {
	return declaration.Draft{Kind: declaration.KindSolemn, Recipient: "Δήμος Αθηναίων",
		Text: "Τα στοιχεία της αίτησής μου είναι αληθή."}
}

func authorization() declaration.Draft {
	return declaration.Draft{Kind: declaration.KindAuthorization, Recipient: "ΚΕΠ",
		Text:    "Να παραλάβει για λογαριασμό μου το πιστοποιητικό οικογενειακής κατάστασης.",
		Grantee: &declaration.Party{AFM: nikos.AFM, Name: "Νίκος Γεωργίου"}, ValidUntil: testclock.Start.AddDate(0, 1, 0)}
}

func TestIssueVerifyRevoke(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)

		draft, err := f.svc.Create(ctx, maria, solemn())
		require.NoError(t, err)
		assert.Equal(t, declaration.StateDraft, draft.State)
		assert.Empty(t, draft.Protocol)
		assert.Equal(t, "el", draft.Draft.Lang)
		_, err = f.svc.Confirm(ctx, maria, draft.ID, "123456")
		assert.ErrorIs(t, err, declaration.ErrCode, "no code asked for yet")

		_, err = f.svc.RequestCode(ctx, maria, draft.ID)
		require.NoError(t, err)
		m, ok := f.outbox.Last(maria.Mobile)
		require.True(t, ok)
		assert.Equal(t, "declaration:"+draft.ID, m.Purpose)
		assert.Contains(t, m.Text, "έκδοση της υπεύθυνης δήλωσης προς «Δήμος Αθηναίων»", "the SMS names what it confirms")
		doc, err := f.svc.Confirm(ctx, maria, draft.ID, f.code(t, maria))
		require.NoError(t, err)
		assert.Equal(t, declaration.StateIssued, doc.State)
		assert.Equal(t, "2026/000001", doc.Protocol)
		assert.Regexp(t, `^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){4}$`, doc.Code)
		assert.Equal(t, 1, f.count.get(declarationIssued))

		// The token verifies against the published keys and carries the content.
		payload, err := f.keys.(keys.KeySet).Verify(ctx, []byte(doc.Token))
		require.NoError(t, err)
		var c declaration.Claims
		require.NoError(t, json.Unmarshal(payload, &c))
		assert.Equal(t, "https://docs.example.gr", c.Issuer)
		assert.Equal(t, doc.Protocol, c.Protocol)
		assert.Equal(t, doc.Code, c.Code)
		assert.Equal(t, maria.AFM, c.Declarant.AFM)
		assert.Empty(t, c.Declarant.Mobile, "the mobile number is not part of the document")
		assert.Contains(t, c.Statutory, "Ν. 1599/1986")
		assert.Equal(t, "https://docs.example.gr/verify?code="+doc.Code, c.StatusURL)

		// A second document takes the next number.
		f.clock.Advance(time.Second)
		second := f.issue(t, maria, solemn())
		assert.Equal(t, "2026/000002", second.Protocol)

		// Verification: typed with spaces and in lower case.
		v, err := f.svc.Verify(ctx, strings.ToLower(strings.ReplaceAll(doc.Code, "-", " ")))
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusValid, v.Status)
		assert.Equal(t, "Τα στοιχεία της αίτησής μου είναι αληθή.", v.Content.Text)
		assert.Equal(t, "Μαρία", v.Declarant.GivenName)
		for _, bad := range []string{"", "ABCD", strings.Repeat("2", 20), "Ο" + doc.Code[1:], doc.Code + "X"} {
			v, err = f.svc.Verify(ctx, bad)
			require.NoError(t, err)
			assert.Equal(t, declaration.StatusUnknown, v.Status, bad)
			assert.Nil(t, v.Content)
		}
		assert.Equal(t, map[string]int{declarationIssued: 2}, f.count.all(), "verifications are not counted")

		// Revocation, seen by the next verification on another instance.
		other := newFixture(t, db.OpenAnother(t), f.kek)
		_, err = other.svc.RequestRevokeCode(ctx, nikos, doc.ID)
		assert.ErrorIs(t, err, declaration.ErrNotFound, "not his document")
		_, err = other.svc.Revoke(ctx, nikos, doc.ID, "123456", "")
		assert.ErrorIs(t, err, declaration.ErrNotFound, "not his document")
		revoked, err := f.revoke(t, maria, doc.ID, "Λάθος στοιχεία")
		require.NoError(t, err)
		assert.Equal(t, declaration.StateRevoked, revoked.State)
		v, err = other.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusRevoked, v.Status)
		assert.False(t, v.RevokedAt.IsZero())
		_, err = f.svc.RequestRevokeCode(ctx, maria, doc.ID)
		assert.ErrorIs(t, err, declaration.ErrState)
		_, err = f.svc.Revoke(ctx, maria, doc.ID, "123456", "")
		assert.ErrorIs(t, err, declaration.ErrState)

		list, err := f.svc.List(ctx, maria)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, second.ID, list[0].ID)
		assert.Equal(t, declaration.StateRevoked, list[1].State)
		assert.Equal(t, "Λάθος στοιχεία", list[1].RevokeReason)
		none, err := f.svc.List(ctx, nikos)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}

func TestAuthorization(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)
		doc := f.issue(t, maria, authorization())
		assert.Equal(t, nikos.AFM, doc.Draft.Grantee.AFM)

		given, err := f.svc.GrantedTo(ctx, nikos)
		require.NoError(t, err)
		require.Len(t, given, 1)
		assert.Equal(t, doc.ID, given[0].ID)
		_, err = f.svc.Get(ctx, nikos, doc.ID)
		assert.ErrorIs(t, err, declaration.ErrNotFound, "the grantee reads it through GrantedTo, not as its owner")
		_, err = f.svc.RequestRevokeCode(ctx, nikos, doc.ID)
		assert.ErrorIs(t, err, declaration.ErrNotFound, "only the grantor revokes")

		v, err := f.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusValid, v.Status)
		f.clock.Advance(31 * 24 * time.Hour)
		v, err = f.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusExpired, v.Status, "past its end date")

		payload, err := f.keys.(keys.KeySet).Verify(ctx, []byte(doc.Token))
		require.NoError(t, err)
		var c declaration.Claims
		require.NoError(t, json.Unmarshal(payload, &c))
		assert.Equal(t, doc.Draft.ValidUntil.Unix(), c.Expiry)
		assert.Empty(t, c.Statutory, "the statutory wording is a solemn declaration's")

		revoked, err := f.revoke(t, maria, doc.ID, "")
		require.NoError(t, err)
		given, err = f.svc.GrantedTo(ctx, nikos)
		require.NoError(t, err)
		require.Len(t, given, 1)
		assert.Equal(t, declaration.StateRevoked, given[0].State, "the grantee sees the revocation")
		assert.Equal(t, revoked.RevokedAt, given[0].RevokedAt)
	})
}

// TestCountedKinds checks what the service reports to its Counter: each
// issued document once, as a declaration or an authorization (a template
// marked Authorization counting as one), with the issuer and the channel;
// drafts, verifications and revocations not at all.
func TestCountedKinds(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil, func(c *declaration.Config) {
			c.Templates["mandate"] = declaration.Template{Title: declaration.Text{EL: "Εντολή", EN: "Mandate"},
				Schema: []byte(`{"type":"object"}`), Authorization: true}
		})
		_, err := f.svc.Create(ctx, maria, solemn())
		require.NoError(t, err, "a draft left unconfirmed")
		doc := f.issue(t, maria, solemn())
		f.issue(t, maria, authorization())
		f.issue(t, maria, declaration.Draft{Kind: declaration.KindTemplate, Template: "parking", Fields: json.RawMessage(`{"plate": "ΙΚΑ-1234"}`)})
		mandate := authorization()
		mandate.Kind, mandate.Template, mandate.Text = declaration.KindTemplate, "mandate", ""
		f.issue(t, maria, mandate)
		_, err = f.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		_, err = f.revoke(t, maria, doc.ID, "")
		require.NoError(t, err)
		assert.Equal(t, map[string]int{declarationIssued: 2, authorizationIssued: 2}, f.count.all())
		assert.Equal(t, []string{declaration.CountLabelIssuer, declaration.CountLabelChannel}, declaration.CountLabels())
	})
}

func TestTemplateDocument(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	d := declaration.Draft{Kind: declaration.KindTemplate, Template: "parking", Fields: json.RawMessage(`{"plate": "ΙΚΑ-1234"}`)}
	doc := f.issue(t, maria, d)
	assert.JSONEq(t, `{"plate":"ΙΚΑ-1234"}`, string(doc.Draft.Fields))

	_, err := f.svc.Create(ctx, maria, declaration.Draft{Kind: declaration.KindTemplate, Template: "parking", Fields: json.RawMessage(`{"plate": "1234"}`)})
	var inv *declaration.InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "/fields/plate", inv.Fields[0].Pointer)
	_, err = f.svc.Create(ctx, maria, declaration.Draft{Kind: declaration.KindTemplate, Template: "nope"})
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "/template", inv.Fields[0].Pointer)
}

// TestBadDrafts refuses drafts with the field at fault, and stores nothing.
func TestBadDrafts(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	f := newFixture(t, db.DB.DB, nil)
	cases := map[string]struct {
		person  declaration.Person
		draft   func(d *declaration.Draft)
		pointer string
	}{
		"bad tax number":       {declaration.Person{AFM: "123456789", GivenName: "Α", FamilyName: "Β"}, nil, "/declarant/afm"},
		"no name":              {declaration.Person{AFM: maria.AFM, FamilyName: "Β"}, nil, "/declarant/given_name"},
		"bad birth date":       {declaration.Person{AFM: maria.AFM, GivenName: "Α", FamilyName: "Β", BirthDate: "15/03/1985"}, nil, "/declarant/birth_date"},
		"no text":              {maria, func(d *declaration.Draft) { d.Text = "  " }, "/text"},
		"no recipient":         {maria, func(d *declaration.Draft) { d.Recipient = "" }, "/recipient"},
		"text too long":        {maria, func(d *declaration.Draft) { d.Text = strings.Repeat("α", declaration.MaxText+1) }, "/text"},
		"control characters":   {maria, func(d *declaration.Draft) { d.Text = "a\x00b" }, "/text"},
		"invalid UTF-8":        {maria, func(d *declaration.Draft) { d.Text = "a\xffb" }, "/text"},
		"unprintable":          {maria, func(d *declaration.Draft) { d.Text = "Δηλώνω 🙂" }, "/text"},
		"unknown kind":         {maria, func(d *declaration.Draft) { d.Kind = "will" }, "/kind"},
		"unknown language":     {maria, func(d *declaration.Draft) { d.Lang = "fr" }, "/lang"},
		"past end date":        {maria, func(d *declaration.Draft) { d.ValidUntil = testclock.Start.Add(-time.Hour) }, "/valid_until"},
		"grantee on a solemn":  {maria, func(d *declaration.Draft) { d.Grantee = &declaration.Party{AFM: nikos.AFM, Name: "Ν"} }, "/grantee"},
		"template on a solemn": {maria, func(d *declaration.Draft) { d.Template = "parking" }, "/template"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := solemn()
			if c.draft != nil {
				c.draft(&d)
			}
			_, err := f.svc.Create(ctx, c.person, d)
			var inv *declaration.InvalidError
			require.ErrorAs(t, err, &inv)
			assert.Equal(t, c.pointer, inv.Fields[0].Pointer)
			var pr httpx.Problemer
			require.ErrorAs(t, err, &pr)
			assert.Equal(t, 422, pr.Problem().Status)
		})
	}
	authCases := map[string]struct {
		draft   func(d *declaration.Draft)
		pointer string
	}{
		"no grantee":        {func(d *declaration.Draft) { d.Grantee = nil }, "/grantee"},
		"bad grantee":       {func(d *declaration.Draft) { d.Grantee.AFM = "000000000" }, "/grantee/afm"},
		"oneself":           {func(d *declaration.Draft) { d.Grantee.AFM = maria.AFM }, "/grantee/afm"},
		"no grantee name":   {func(d *declaration.Draft) { d.Grantee.Name = "" }, "/grantee/name"},
		"no end date":       {func(d *declaration.Draft) { d.ValidUntil = time.Time{} }, "/valid_until"},
		"what may be done?": {func(d *declaration.Draft) { d.Text = "" }, "/text"},
	}
	for name, c := range authCases {
		t.Run(name, func(t *testing.T) {
			d := authorization()
			g := *d.Grantee
			d.Grantee = &g
			c.draft(&d)
			_, err := f.svc.Create(ctx, maria, d)
			var inv *declaration.InvalidError
			require.ErrorAs(t, err, &inv)
			assert.Equal(t, c.pointer, inv.Fields[0].Pointer)
		})
	}
	assert.Equal(t, []string{"0"}, db.Dump(t, `SELECT count(*) FROM declaration_documents`), "nothing stored")
}

// TestCodes refuses wrong, expired, reused and wrong-purpose codes, and
// drafts that waited too long.
func TestCodes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)
		a, err := f.svc.Create(ctx, maria, solemn())
		require.NoError(t, err)
		b, err := f.svc.Create(ctx, maria, solemn())
		require.NoError(t, err)

		_, err = f.svc.RequestCode(ctx, maria, a.ID)
		require.NoError(t, err)
		codeA := f.code(t, maria)
		_, err = f.svc.RequestCode(ctx, maria, a.ID)
		var de *declaration.Error
		require.ErrorAs(t, err, &de)
		assert.ErrorIs(t, err, declaration.ErrCode)
		assert.Positive(t, de.RetryAfter, "a second code within a minute waits")
		_, err = f.svc.RequestCode(ctx, nikos, a.ID)
		assert.ErrorIs(t, err, declaration.ErrNotFound, "someone else's draft")

		// Wrong purpose: a's code does not confirm b.
		_, err = f.svc.RequestCode(ctx, maria, b.ID)
		require.NoError(t, err)
		codeB := f.code(t, maria)
		_, err = f.svc.Confirm(ctx, maria, b.ID, codeA)
		assert.ErrorIs(t, err, declaration.ErrCode, "a code for another document")
		wrong := "000000"
		if codeA == wrong {
			wrong = "000001"
		}
		_, err = f.svc.Confirm(ctx, maria, a.ID, wrong)
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "the code is wrong", de.Detail)
		_, err = f.svc.Confirm(ctx, maria, a.ID, "12ab56")
		require.ErrorAs(t, err, &de, "not six digits")
		assert.Equal(t, "the code is wrong", de.Detail)
		_, err = f.svc.Confirm(ctx, nikos, a.ID, codeA)
		assert.ErrorIs(t, err, declaration.ErrNotFound)

		issued, err := f.svc.Confirm(ctx, maria, a.ID, codeA)
		require.NoError(t, err)
		_, err = f.svc.Confirm(ctx, maria, a.ID, codeA)
		assert.ErrorIs(t, err, declaration.ErrState, "issued once")

		// Expired code.
		f.clock.Advance(otp.DefaultLifetime + time.Second)
		_, err = f.svc.Confirm(ctx, maria, b.ID, codeB)
		require.ErrorAs(t, err, &de)
		assert.Contains(t, de.Detail, "expired")

		// Expired draft: nothing confirms it any more, and it leaves the list.
		f.clock.Advance(declaration.DefaultDraftLifetime)
		_, err = f.svc.RequestCode(ctx, maria, b.ID)
		assert.ErrorIs(t, err, declaration.ErrExpired)
		list, err := f.svc.List(ctx, maria)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, issued.ID, list[0].ID)
		require.NoError(t, f.svc.Maintain(ctx), "purges by the service's clock")
		_, err = f.svc.Get(ctx, maria, b.ID)
		assert.ErrorIs(t, err, declaration.ErrNotFound)
		n, err := f.svc.Purge(ctx, f.clock.Now())
		require.NoError(t, err)
		assert.EqualValues(t, 0, n, "nothing left to purge")
	})
}

// TestNoMobile: a declarant without a registered mobile gets the same
// answer, and no code ever confirms the draft.
func TestNoMobile(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	p := maria
	p.Mobile = ""
	d, err := f.svc.Create(ctx, p, solemn())
	require.NoError(t, err)
	_, err = f.svc.RequestCode(ctx, p, d.ID)
	require.NoError(t, err)
	assert.Empty(t, f.outbox.All())
	_, err = f.svc.Confirm(ctx, p, d.ID, "123456")
	assert.ErrorIs(t, err, declaration.ErrCode)
}

func TestTamperedToken(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	doc := f.issue(t, maria, solemn())
	parts := strings.Split(doc.Token, ".")
	require.Len(t, parts, 3)
	var c map[string]any
	payload, err := f.keys.(keys.KeySet).Verify(ctx, []byte(doc.Token))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(payload, &c))
	c["protocol"] = "2026/000999"
	forged, _ := json.Marshal(c)
	tampered := parts[0] + "." + b64(forged) + "." + parts[2]
	_, err = f.keys.(keys.KeySet).Verify(ctx, []byte(tampered))
	assert.Error(t, err)
}

// TestProtocolNumbersUnderLoad issues 1,000 documents from two instances
// with 50 goroutines each on one PostgreSQL database: the protocol
// numbers are exactly 1..1000.
func TestProtocolNumbersUnderLoad(t *testing.T) {
	db := sqltest.Postgres(t)
	ctx := t.Context()
	a := newFixture(t, db.DB.DB, nil)
	b := newFixture(t, db.OpenAnother(t), a.kek)
	const workers, each = 50, 10
	var (
		mu   sync.Mutex
		seen []string
		wg   sync.WaitGroup
		errs = make(chan error, 2*workers)
	)
	for i, f := range []*fixture{a, b} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				afm, err := ident.GenerateAFM(rand.Reader)
				if err != nil {
					errs <- err
					return
				}
				p := declaration.Person{AFM: afm, GivenName: "Α", FamilyName: "Β", Mobile: fmt.Sprintf("+30690%d%05d", i, w)}
				for range each {
					doc, err := issueQuietly(ctx, f, p)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen = append(seen, doc.Protocol)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	sort.Strings(seen)
	require.Len(t, seen, 2*workers*each)
	for i, p := range seen {
		require.Equal(t, fmt.Sprintf("2026/%06d", i+1), p)
	}
}

func issueQuietly(ctx context.Context, f *fixture, p declaration.Person) (*declaration.Document, error) {
	doc, err := f.svc.Create(ctx, p, solemn())
	if err != nil {
		return nil, err
	}
	if _, err := f.svc.RequestCode(ctx, p, doc.ID); err != nil {
		return nil, err
	}
	m, ok := f.outbox.Last(p.Mobile)
	if !ok || m.Purpose != "declaration:"+doc.ID {
		return nil, errors.New("no code sent")
	}
	return f.svc.Confirm(ctx, p, doc.ID, codeIn(m.Text))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// TestCodesCheckedInTheIssuingBatch: confirmations with right and wrong
// codes, sent at once so that they share batches, are answered each on
// its own: the right ones issued with gap-free numbers, the wrong ones
// refused and counted, a code killed by three wrong tries in a row.
func TestCodesCheckedInTheIssuingBatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)
		const n = 24
		type citizen struct {
			p    declaration.Person
			id   string
			code string
		}
		people := make([]citizen, n)
		for i := range people {
			afm, err := ident.GenerateAFM(rand.Reader)
			require.NoError(t, err)
			p := declaration.Person{AFM: afm, GivenName: "Α", FamilyName: "Β", Mobile: fmt.Sprintf("+3069000%05d", i)}
			doc, err := f.svc.Create(ctx, p, solemn())
			require.NoError(t, err)
			_, err = f.svc.RequestCode(ctx, p, doc.ID)
			require.NoError(t, err)
			people[i] = citizen{p: p, id: doc.ID, code: f.code(t, p)}
		}
		wrong := func(code string) string {
			if code == "000000" {
				return "000001"
			}
			return "000000"
		}
		// round sends every citizen's confirmation at once: the odd ones
		// wrong, the even ones right in the last round only.
		round := func(last bool) []error {
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, c := range people {
				code := wrong(c.code)
				if i%2 == 0 && last {
					code = c.code
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.svc.Confirm(ctx, c.p, c.id, code)
				}()
			}
			wg.Wait()
			return errs
		}
		for r := range otp.MaxAttempts {
			for i, err := range round(r == otp.MaxAttempts-1) {
				var de *declaration.Error
				if i%2 == 0 && r == otp.MaxAttempts-1 {
					require.NoError(t, err, "citizen %d", i)
					continue
				}
				require.ErrorAs(t, err, &de, "citizen %d, round %d", i, r)
				assert.Equal(t, "the code is wrong", de.Detail)
			}
		}
		// Every odd citizen's code is dead now, the right one included.
		var protocols []string
		for i, c := range people {
			if i%2 == 0 {
				doc, err := f.svc.Get(ctx, c.p, c.id)
				require.NoError(t, err)
				assert.Equal(t, declaration.StateIssued, doc.State)
				protocols = append(protocols, doc.Protocol)
				continue
			}
			_, err := f.svc.Confirm(ctx, c.p, c.id, c.code)
			var de *declaration.Error
			require.ErrorAs(t, err, &de)
			assert.Contains(t, de.Detail, "mistyped three times")
		}
		sort.Strings(protocols)
		require.Len(t, protocols, n/2)
		for i, p := range protocols {
			assert.Equal(t, fmt.Sprintf("2026/%06d", i+1), p)
		}
	})
}
