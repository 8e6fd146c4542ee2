package procedures

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/problem"
)

// Kinds of suggestion.
const (
	SuggestionWrongInformation = "wrong_information"
	SuggestionSimplification   = "simplification"
	SuggestionOther            = "other"
)

// Limits on suggestions.
const (
	MaxSuggestionText = 2000 // characters
	MaxContact        = 200
	// SuggestionsPerHour is how many suggestions one client address may
	// send in an hour.
	SuggestionsPerHour = 5
)

// ErrRateLimited means the client address sent too many suggestions.
var ErrRateLimited = errkind.New(errkind.RateLimited, "procedures: too many suggestions from this address; try later")

// RateLimitError is ErrRateLimited with the wait.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }

// Is matches ErrRateLimited and its kind, errkind.RateLimited.
func (e *RateLimitError) Is(target error) bool {
	return target == ErrRateLimited || target == errkind.RateLimited
}

// Problem renders the error as a 429.
func (e *RateLimitError) Problem() *problem.Problem {
	return httpx.RateLimited(int(e.RetryAfter.Seconds()) + 1)
}

// Suggestion is what someone proposes about a published procedure.
type Suggestion struct {
	ID          string    `json:"id"`
	ProcedureID string    `json:"procedure_id"`
	Version     int       `json:"version"`
	Kind        string    `json:"kind"`
	Text        string    `json:"text"`
	Contact     string    `json:"contact,omitempty"` // optional: how to answer
	CreatedAt   time.Time `json:"created_at"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	ClosedBy    string    `json:"closed_by,omitempty"`
	Resolution  string    `json:"resolution,omitempty"`
}

// SuggestionError names the field that is wrong.
type SuggestionError struct{ Field, Reason string }

func (e *SuggestionError) Error() string {
	return "procedures: suggestion: " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, errkind.Invalid) hold.
func (e *SuggestionError) Is(target error) bool { return target == errkind.Invalid }

// Problem renders the error as a 422 naming the field.
func (e *SuggestionError) Problem() *problem.Problem {
	return httpx.Validation("the suggestion is not valid", httpx.FieldError{Pointer: "/" + e.Field, Detail: e.Reason})
}

func clientHash(addr string) string {
	sum := sha256.Sum256([]byte("procedures-suggestions\x00" + addr))
	return hex.EncodeToString(sum[:16])
}

// Suggest records a suggestion on the published version of a procedure,
// from a client address that may send SuggestionsPerHour an hour. Anyone
// may suggest; nothing else is stored when the suggestion is refused.
func (r *Registry) Suggest(ctx context.Context, procedureID string, s Suggestion, clientAddr string) (Suggestion, error) {
	s.Text, s.Contact = strings.TrimSpace(s.Text), strings.TrimSpace(s.Contact)
	switch {
	case s.Kind != SuggestionWrongInformation && s.Kind != SuggestionSimplification && s.Kind != SuggestionOther:
		return Suggestion{}, &SuggestionError{"kind", "wrong_information, simplification or other"}
	case s.Text == "":
		return Suggestion{}, &SuggestionError{"text", "say what you suggest"}
	case utf8.RuneCountInString(s.Text) > MaxSuggestionText:
		return Suggestion{}, &SuggestionError{"text", fmt.Sprintf("at most %d characters", MaxSuggestionText)}
	case utf8.RuneCountInString(s.Contact) > MaxContact:
		return Suggestion{}, &SuggestionError{"contact", fmt.Sprintf("at most %d characters", MaxContact)}
	case !utf8.ValidString(s.Text) || !utf8.ValidString(s.Contact):
		return Suggestion{}, &SuggestionError{"text", "not valid text"}
	}
	v, err := r.Published(ctx, procedureID)
	if err != nil {
		return Suggestion{}, err
	}
	now := r.now()
	hash := clientHash(clientAddr)
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	s.ID = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	s.ProcedureID, s.Version, s.CreatedAt = procedureID, v.Version, now.UTC().Truncate(time.Microsecond)
	var limited *RateLimitError
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		limited = nil
		var n int
		var oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*), MIN(created_at) FROM procedures_suggestions WHERE client_hash = $1 AND created_at > $2`,
			hash, now.Add(-time.Hour).UnixMicro()).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= SuggestionsPerHour {
			limited = &RateLimitError{RetryAfter: time.UnixMicro(oldest.Int64).Add(time.Hour).Sub(now)}
			return nil
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO procedures_suggestions (id, procedure_id, version, kind, text, contact, client_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.ID, s.ProcedureID, s.Version, s.Kind, s.Text, s.Contact, hash, s.CreatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return Suggestion{}, fmt.Errorf("procedures: suggest: %w", err)
	}
	if limited != nil {
		return Suggestion{}, limited
	}
	return s, nil
}

// Suggestions lists suggestions for editors, newest first: the open ones,
// or all. procedureID "" means every procedure.
func (r *Registry) Suggestions(ctx context.Context, c Caller, procedureID string, onlyOpen bool) ([]Suggestion, error) {
	if !c.Has(RoleEditor) && !c.Has(RoleApprover) {
		return nil, fail(ErrForbidden, "only editors and approvers read suggestions")
	}
	q := `SELECT id, procedure_id, version, kind, text, contact, created_at, closed_at, closed_by, resolution FROM procedures_suggestions WHERE 1 = 1`
	var args []any
	if procedureID != "" {
		args = append(args, procedureID)
		q += fmt.Sprintf(" AND procedure_id = $%d", len(args))
	}
	if onlyOpen {
		q += " AND closed_at = 0"
	}
	rows, err := r.db.QueryContext(ctx, q+" ORDER BY created_at DESC LIMIT 1000", args...)
	if err != nil {
		return nil, fmt.Errorf("procedures: suggestions: %w", err)
	}
	defer rows.Close()
	var out []Suggestion
	for rows.Next() {
		var s Suggestion
		var created, closed int64
		if err := rows.Scan(&s.ID, &s.ProcedureID, &s.Version, &s.Kind, &s.Text, &s.Contact, &created, &closed, &s.ClosedBy, &s.Resolution); err != nil {
			return nil, err
		}
		s.CreatedAt = time.UnixMicro(created).UTC()
		if closed > 0 {
			s.ClosedAt = time.UnixMicro(closed).UTC()
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CloseSuggestion marks a suggestion dealt with, saying how.
func (r *Registry) CloseSuggestion(ctx context.Context, c Caller, id, resolution string) error {
	if !c.Has(RoleEditor) {
		return fail(ErrForbidden, "only editors close suggestions")
	}
	resolution = strings.TrimSpace(resolution)
	if resolution == "" || utf8.RuneCountInString(resolution) > MaxSuggestionText {
		return &SuggestionError{"resolution", "say how the suggestion was dealt with (at most 2000 characters)"}
	}
	res, err := r.db.ExecContext(ctx,
		`UPDATE procedures_suggestions SET closed_at = $1, closed_by = $2, resolution = $3 WHERE id = $4 AND closed_at = 0`,
		r.now().UnixMicro(), c.ID, resolution, id)
	if err != nil {
		return fmt.Errorf("procedures: close suggestion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fail(ErrNotFound, "no open suggestion %q", id)
	}
	return nil
}
