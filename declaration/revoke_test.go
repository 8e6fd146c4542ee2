package declaration_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestCodeMessages: the SMS says what its code confirms: for issuing,
// the kind of document and whom it is addressed to; for revoking, the
// kind and the protocol number; in the document's language.
func TestCodeMessages(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	en := authorization()
	en.Lang = "en"
	long := solemn()
	long.Recipient = "Υπουργείο Εσωτερικών, Γενική Διεύθυνση Αναπτυξιακού Προγραμματισμού, Τμήμα Β"
	for _, c := range []struct {
		draft         declaration.Draft
		issue, revoke string
	}{
		{solemn(), "την έκδοση της υπεύθυνης δήλωσης προς «Δήμος Αθηναίων»", "την ανάκληση της υπεύθυνης δήλωσης "},
		{authorization(), "την έκδοση της εξουσιοδότησης προς «Νίκος Γεωργίου»", "την ανάκληση της εξουσιοδότησης "},
		{en, "Your code for issuing the authorization to «Νίκος Γεωργίου» is", "Your code for revoking the authorization "},
		{declaration.Draft{Kind: declaration.KindTemplate, Template: "parking", Fields: []byte(`{"plate":"ΙΚΑ-1234"}`)},
			"την έκδοση του εγγράφου «Αίτηση κάρτας στάθμευσης»", "την ανάκληση του εγγράφου «Αίτηση κάρτας στάθμευσης» "},
		{long, "προς «Υπουργείο Εσωτερικών, Γενική Διεύθυνση…»", "την ανάκληση της υπεύθυνης δήλωσης "},
	} {
		d, err := f.svc.Create(ctx, maria, c.draft)
		require.NoError(t, err)
		_, err = f.svc.RequestCode(ctx, maria, d.ID)
		require.NoError(t, err)
		m, _ := f.outbox.Last(maria.Mobile)
		assert.Contains(t, m.Text, c.issue)
		doc, err := f.svc.Confirm(ctx, maria, d.ID, f.code(t, maria))
		require.NoError(t, err)
		_, err = f.svc.RequestRevokeCode(ctx, maria, doc.ID)
		require.NoError(t, err)
		m, _ = f.outbox.Last(maria.Mobile)
		assert.Contains(t, m.Text, c.revoke+doc.Protocol)
		assert.Equal(t, "declaration:"+doc.ID+":revoke", m.Purpose)
	}
}

// TestRevokeNeedsCode: revoking takes a one-time code bound to the
// document and to revoking it; wrong, expired, replaced, reused and
// borrowed codes are refused with ErrCode and change nothing; a
// revocation whose transaction fails keeps its code usable.
func TestRevokeNeedsCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db.DB.DB, nil)
		doc := f.issue(t, maria, solemn())
		other := f.issue(t, maria, solemn())
		unchanged := func(msg string) {
			t.Helper()
			v, err := f.svc.Verify(ctx, doc.Code)
			require.NoError(t, err)
			assert.Equal(t, declaration.StatusValid, v.Status, msg)
			got, err := f.svc.Get(ctx, maria, doc.ID)
			require.NoError(t, err)
			assert.Equal(t, declaration.StateIssued, got.State, msg)
			assert.Empty(t, got.RevokeReason, msg)
		}
		refused := func(err error, detail, msg string) {
			t.Helper()
			var de *declaration.Error
			require.ErrorAs(t, err, &de, msg)
			assert.ErrorIs(t, err, declaration.ErrCode, msg)
			assert.Contains(t, de.Detail, detail, msg)
			unchanged(msg)
		}

		_, err := f.svc.Revoke(ctx, maria, doc.ID, "", "x")
		refused(err, "ask for a code first", "no code asked for")
		_, err = f.svc.Revoke(ctx, maria, doc.ID, "123456", "x")
		refused(err, "ask for a code first", "a code typed without asking")

		// A code for another document's revocation does not revoke this one.
		_, err = f.svc.RequestRevokeCode(ctx, maria, other.ID)
		require.NoError(t, err)
		borrowed := f.code(t, maria)
		_, err = f.svc.RequestRevokeCode(ctx, maria, doc.ID)
		require.NoError(t, err)
		first := f.code(t, maria)
		_, err = f.svc.Revoke(ctx, maria, doc.ID, borrowed, "x")
		refused(err, "wrong", "a code for another document")
		wrong := "000000"
		if first == wrong {
			wrong = "000001"
		}
		_, err = f.svc.Revoke(ctx, maria, doc.ID, wrong, "x")
		refused(err, "wrong", "a wrong code")
		_, err = f.svc.RequestRevokeCode(ctx, maria, doc.ID)
		var de *declaration.Error
		require.ErrorAs(t, err, &de)
		assert.Positive(t, de.RetryAfter, "a second code within a minute waits")

		// Expired.
		f.clock.Advance(otp.DefaultLifetime + time.Second)
		_, err = f.svc.Revoke(ctx, maria, doc.ID, first, "x")
		refused(err, "expired", "an expired code")

		// Replaced by a newer one.
		_, err = f.svc.RequestRevokeCode(ctx, maria, doc.ID)
		require.NoError(t, err)
		second := f.code(t, maria)
		if second != first {
			_, err = f.svc.Revoke(ctx, maria, doc.ID, first, "x")
			refused(err, "wrong", "a replaced code")
		}
		// The code that issued the document does not revoke it.
		for _, m := range f.outbox.All() {
			if m.Purpose == "declaration:"+doc.ID && codeIn(m.Text) != second {
				_, err = f.svc.Revoke(ctx, maria, doc.ID, codeIn(m.Text), "x")
				refused(err, "wrong", "the code that issued it")
			}
		}

		// A reason that cannot be printed is refused before the code is
		// looked at, and keeps it.
		_, err = f.svc.Revoke(ctx, maria, doc.ID, second, "a\x00b")
		var inv *declaration.InvalidError
		require.ErrorAs(t, err, &inv)
		unchanged("a bad reason")

		// A revocation whose transaction fails keeps its code.
		restore := failState(t, db, declaration.StateRevoked)
		_, err = f.svc.Revoke(ctx, maria, doc.ID, second, "x")
		require.Error(t, err)
		assert.NotErrorIs(t, err, declaration.ErrCode)
		restore()
		unchanged("a failed revocation")

		revoked, err := f.svc.Revoke(ctx, maria, doc.ID, second, "Λάθος στοιχεία")
		require.NoError(t, err)
		assert.Equal(t, declaration.StateRevoked, revoked.State)
		v, err := f.svc.Verify(ctx, doc.Code)
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusRevoked, v.Status)
		_, err = f.svc.Revoke(ctx, maria, doc.ID, second, "")
		assert.ErrorIs(t, err, declaration.ErrState, "revoked once")

		// The other document's code, tried on this one, was not used up
		// by that, but has expired since.
		_, err = f.svc.Revoke(ctx, maria, other.ID, borrowed, "")
		var late *declaration.Error
		require.ErrorAs(t, err, &late)
		assert.Contains(t, late.Detail, "expired")
	})
}
