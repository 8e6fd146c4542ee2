package procedures

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/problem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// States of a procedure version.
const (
	StateDraft      = "draft"
	StatePending    = "pending_approval"
	StateApproved   = "approved"
	StatePublished  = "published"
	StateSuperseded = "superseded" // a published version replaced by a newer one
	StateWithdrawn  = "withdrawn"
)

// Roles a caller may have.
const (
	RoleEditor   = "editor"
	RoleApprover = "approver"
)

// Caller is who asks: their identifier (for the history), the name the
// pages show them by, and their roles. It comes from the caller's own
// sign-in, such as a civil servant's token.
type Caller struct {
	ID string
	// Name is the person's name as colleagues know it ("Eleni
	// Papadopoulou"); the workspace and the history show it, with ID
	// beside it in the history. Empty shows ID.
	Name  string
	Roles []string
}

// DisplayName is Name, or ID when there is none.
func (c Caller) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Has reports whether the caller has role.
func (c Caller) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Registry errors, matched with errors.Is.
var (
	ErrNotFound          = errkind.New(errkind.NotFound, "procedures: no such procedure or version")
	ErrForbidden         = errkind.New(errkind.Forbidden, "procedures: the caller's role does not allow this")
	ErrTransition        = errkind.New(errkind.Conflict, "procedures: the version's state does not allow this")
	ErrExists            = errkind.New(errkind.Conflict, "procedures: a procedure with this id exists")
	ErrNoApplicationForm = errkind.New(errkind.NotFound, "procedures: the procedure has no application form")
)

// Error carries one of the sentinels with the reason, and renders as a
// problem over HTTP.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Kind }
func (e *Error) Problem() *problem.Problem {
	switch e.Kind {
	case ErrNotFound:
		return httpx.NotFound(e.Detail)
	case ErrForbidden:
		return httpx.Forbidden(e.Detail)
	case ErrTransition, ErrExists:
		return httpx.Conflict(e.Detail)
	}
	return httpx.BadRequest(e.Detail)
}

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Version is one version of a procedure in the registry.
type Version struct {
	Procedure   *Procedure
	Version     int
	State       string
	Hash        string // SHA-256 of the stored document: the ETag
	Author      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time // zero unless published at some point
	raw         []byte
}

// Document returns the stored JSON document, its version included.
func (v *Version) Document() []byte { return slices.Clone(v.raw) }

// ETag is the strong entity tag of the version's document.
func (v *Version) ETag() string { return `"` + v.Hash + `"` }

// Event is one change in a procedure's history.
type Event struct {
	Version int    `json:"version"`
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Actor   string `json:"actor"`
	// ActorName is the actor's name when the change was made (empty
	// before names were kept, and for imports).
	ActorName string    `json:"actor_name,omitempty"`
	Note      string    `json:"note,omitempty"`
	At        time.Time `json:"at"`
}

// The notes the registry writes itself in the history; the pages show
// them in the reader's language (an editor's own note is shown as typed).
const (
	noteCreated  = "created"
	noteEdited   = "edited"
	noteRevision = "revision of version %d"
	noteImported = "imported from "
)

// Registry keeps procedures with their full history in SQLite or
// PostgreSQL. It is safe for concurrent use and for several instances
// sharing a database.
type Registry struct {
	db      *sqlstore.DB
	now     func() time.Time
	log     *zap.Logger
	address addressPolicy
}

// Option configures a Registry; NewRegistry, the package's one
// constructor with options, takes them all.
type Option func(*Registry)

// WithClock replaces time.Now, for tests; nil keeps time.Now.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithLoopbackHTTP accepts links to this machine over plain http
// (http://localhost/…, http://127.0.0.1/…, http://[::1]/…) besides https,
// for a registry run for a demonstration or for development; a registry
// that publishes must not use it. See [Validate].
func WithLoopbackHTTP() Option { return func(r *Registry) { r.address.loopbackHTTP = true } }

// WithLogger logs workflow changes (procedure identifiers and the acting
// servant's identifier); nil (the default) logs nothing.
func WithLogger(l *zap.Logger) Option { return func(r *Registry) { r.log = l } }

// WithDBTimeout bounds each database call of the registry; zero means the
// default of 5 s. A database that does not answer in time makes the
// handlers answer 503.
func WithDBTimeout(d time.Duration) Option {
	return func(r *Registry) { r.db = r.db.WithTimeout(d) }
}

// NewRegistry opens the registry in db.
func NewRegistry(ctx context.Context, db *sql.DB, opts ...Option) (*Registry, error) {
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("procedures: %w", err)
	}
	if err := sdb.Migrate(ctx, "procedures", migrations); err != nil {
		return nil, fmt.Errorf("procedures: %w", err)
	}
	r := &Registry{db: sdb, now: time.Now, log: zap.NewNop()}
	for _, o := range opts {
		o(r)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	return r, nil
}

// canonical stores the document with its version set, and its hash.
func canonical(p *Procedure, version int) ([]byte, string, error) {
	p.Version = version
	b, err := json.Marshal(p)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	return b, "sha256-" + hex.EncodeToString(sum[:]), nil
}

func (r *Registry) event(ctx context.Context, tx *sql.Tx, id string, version int, from, to string, actor Caller, note string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO procedures_events (id, version, from_state, to_state, actor, actor_name, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, version, from, to, actor.ID, actor.Name, note, r.now().UnixMicro())
	return err
}

// Create stores doc as version 1 of a new procedure, a draft. Only
// editors may create.
func (r *Registry) Create(ctx context.Context, c Caller, doc []byte) (*Version, error) {
	if !c.Has(RoleEditor) {
		return nil, fail(ErrForbidden, "only editors create procedures")
	}
	p, err := parse(doc, r.address)
	if err != nil {
		return nil, err
	}
	raw, hash, err := canonical(p, 1)
	if err != nil {
		return nil, err
	}
	now := r.now().UnixMicro()
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO procedures_versions (id, version, state, doc, hash, author, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $6)`,
			p.ID, StateDraft, string(raw), hash, c.ID, now); err != nil {
			return err
		}
		return r.event(ctx, tx, p.ID, 1, "", StateDraft, c, noteCreated)
	})
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return nil, fail(ErrExists, "procedure %q exists; start a new revision instead", p.ID)
	} else if err != nil {
		return nil, fmt.Errorf("procedures: create: %w", err)
	}
	r.log.Info("procedure created", zap.String("id", p.ID), zap.String("by", c.ID))
	return r.Get(ctx, p.ID, 1)
}

// Revise starts a new version of a procedure as a draft, a copy of its
// latest version, beside the published one. There is at most one version
// being worked on (draft, pending or approved) at a time.
func (r *Registry) Revise(ctx context.Context, c Caller, id string) (*Version, error) {
	if !c.Has(RoleEditor) {
		return nil, fail(ErrForbidden, "only editors revise procedures")
	}
	var next int
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var latest int
		var state, doc string
		err := tx.QueryRowContext(ctx,
			`SELECT version, state, doc FROM procedures_versions WHERE id = $1 ORDER BY version DESC LIMIT 1`+r.db.Dialect().ForUpdate(), id).
			Scan(&latest, &state, &doc)
		if errors.Is(err, sql.ErrNoRows) {
			return fail(ErrNotFound, "no procedure %q", id)
		}
		if err != nil {
			return err
		}
		if state == StateDraft || state == StatePending || state == StateApproved {
			return fail(ErrTransition, "version %d of %q is still being worked on (%s)", latest, id, state)
		}
		var p Procedure
		if err := json.Unmarshal([]byte(doc), &p); err != nil {
			return err
		}
		next = latest + 1
		raw, hash, err := canonical(&p, next)
		if err != nil {
			return err
		}
		now := r.now().UnixMicro()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO procedures_versions (id, version, state, doc, hash, author, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			id, next, StateDraft, string(raw), hash, c.ID, now); err != nil {
			return err
		}
		return r.event(ctx, tx, id, next, "", StateDraft, c, fmt.Sprintf(noteRevision, latest))
	})
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return nil, fail(ErrTransition, "another revision of %q was just started", id)
	} else if err != nil {
		return nil, wrap(err, "revise")
	}
	return r.Get(ctx, id, next)
}

func wrap(err error, what string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("procedures: %s: %w", what, err)
}

// Update replaces the document of a draft. A version in any other state
// cannot change: a published version is immutable.
func (r *Registry) Update(ctx context.Context, c Caller, id string, version int, doc []byte) (*Version, error) {
	if !c.Has(RoleEditor) {
		return nil, fail(ErrForbidden, "only editors edit procedures")
	}
	p, err := parse(doc, r.address)
	if err != nil {
		return nil, err
	}
	if p.ID != id {
		return nil, fail(ErrTransition, "the document's id %q is not %q", p.ID, id)
	}
	raw, hash, err := canonical(p, version)
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		state, err := r.stateForUpdate(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if state != StateDraft {
			return fail(ErrTransition, "version %d of %q is %s; only drafts change", version, id, state)
		}
		_, err = tx.ExecContext(ctx, `UPDATE procedures_versions SET doc = $1, hash = $2, author = $3, updated_at = $4 WHERE id = $5 AND version = $6`,
			string(raw), hash, c.ID, r.now().UnixMicro(), id, version)
		if err != nil {
			return err
		}
		return r.event(ctx, tx, id, version, StateDraft, StateDraft, c, noteEdited)
	})
	if err != nil {
		return nil, wrap(err, "update")
	}
	return r.Get(ctx, id, version)
}

func (r *Registry) stateForUpdate(ctx context.Context, tx *sql.Tx, id string, version int) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM procedures_versions WHERE id = $1 AND version = $2`+r.db.Dialect().ForUpdate(), id, version).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fail(ErrNotFound, "no version %d of %q", version, id)
	}
	return state, err
}

// Transitions of the workflow.
const (
	ActionSubmit   = "submit"   // draft → pending approval (editor)
	ActionReject   = "reject"   // pending approval → draft (approver, with a note)
	ActionApprove  = "approve"  // pending approval → approved (approver, not the author)
	ActionPublish  = "publish"  // approved → published; the published version before is superseded (approver)
	ActionWithdraw = "withdraw" // published → withdrawn (approver)
)

type transition struct{ from, to, role string }

var workflow = map[string]transition{
	ActionSubmit:   {StateDraft, StatePending, RoleEditor},
	ActionReject:   {StatePending, StateDraft, RoleApprover},
	ActionApprove:  {StatePending, StateApproved, RoleApprover},
	ActionPublish:  {StateApproved, StatePublished, RoleApprover},
	ActionWithdraw: {StatePublished, StateWithdrawn, RoleApprover},
}

// Transition moves a version through the workflow. Editors submit;
// approvers reject, approve (never their own work), publish and withdraw.
func (r *Registry) Transition(ctx context.Context, c Caller, id string, version int, action, note string) (*Version, error) {
	t, ok := workflow[action]
	if !ok {
		return nil, fail(ErrTransition, "unknown action %q", action)
	}
	if !c.Has(t.role) {
		return nil, fail(ErrForbidden, "%s needs the %s role", action, t.role)
	}
	if len(note) > 2000 {
		return nil, fail(ErrTransition, "the note is longer than 2000 characters")
	}
	if action == ActionReject && note == "" {
		return nil, fail(ErrTransition, "say why the version is sent back")
	}
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		var state, author string
		err := tx.QueryRowContext(ctx, `SELECT state, author FROM procedures_versions WHERE id = $1 AND version = $2`+r.db.Dialect().ForUpdate(), id, version).Scan(&state, &author)
		if errors.Is(err, sql.ErrNoRows) {
			return fail(ErrNotFound, "no version %d of %q", version, id)
		}
		if err != nil {
			return err
		}
		if state != t.from {
			return fail(ErrTransition, "%s needs a version that is %s; version %d of %q is %s", action, t.from, version, id, state)
		}
		if action == ActionApprove && author == c.ID {
			return fail(ErrForbidden, "the author of a version cannot approve it")
		}
		now := r.now().UnixMicro()
		if action == ActionPublish {
			if _, err := tx.ExecContext(ctx,
				`UPDATE procedures_versions SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
				StateSuperseded, now, id, StatePublished); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE procedures_versions SET published_at = $1 WHERE id = $2 AND version = $3`, now, id, version); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE procedures_versions SET state = $1, updated_at = $2 WHERE id = $3 AND version = $4`,
			t.to, now, id, version); err != nil {
			return err
		}
		return r.event(ctx, tx, id, version, t.from, t.to, c, note)
	})
	if err != nil {
		return nil, wrap(err, action)
	}
	r.log.Info("procedure workflow", zap.String("id", id), zap.Int("version", version), zap.String("action", action), zap.String("by", c.ID))
	return r.Get(ctx, id, version)
}

const versionColumns = `version, state, doc, hash, author, created_at, updated_at, published_at`

func scanVersion(row interface{ Scan(...any) error }) (*Version, error) {
	var v Version
	var doc string
	var created, updated, published int64
	if err := row.Scan(&v.Version, &v.State, &doc, &v.Hash, &v.Author, &created, &updated, &published); err != nil {
		return nil, err
	}
	v.raw = []byte(doc)
	var p Procedure
	if err := json.Unmarshal(v.raw, &p); err != nil {
		return nil, err
	}
	v.Procedure = &p
	v.CreatedAt, v.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if published > 0 {
		v.PublishedAt = time.UnixMicro(published).UTC()
	}
	return &v, nil
}

// Get returns one version of a procedure, in any state.
func (r *Registry) Get(ctx context.Context, id string, version int) (*Version, error) {
	v, err := scanVersion(r.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM procedures_versions WHERE id = $1 AND version = $2`, id, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(ErrNotFound, "no version %d of %q", version, id)
	}
	if err != nil {
		return nil, fmt.Errorf("procedures: get: %w", err)
	}
	return v, nil
}

// Published returns the published version of a procedure: what the public
// sees.
func (r *Registry) Published(ctx context.Context, id string) (*Version, error) {
	v, err := scanVersion(r.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM procedures_versions WHERE id = $1 AND state = $2`, id, StatePublished))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(ErrNotFound, "no published procedure %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("procedures: published: %w", err)
	}
	return v, nil
}

// Versions lists every version of a procedure, newest first.
func (r *Registry) Versions(ctx context.Context, id string) ([]*Version, error) {
	return r.list(ctx, `SELECT `+versionColumns+` FROM procedures_versions WHERE id = $1 ORDER BY version DESC`, id)
}

// ListPublished lists every published procedure, by id.
func (r *Registry) ListPublished(ctx context.Context) ([]*Version, error) {
	return r.list(ctx, `SELECT `+versionColumns+` FROM procedures_versions WHERE state = $1 ORDER BY id`, StatePublished)
}

// PublishedHashes gives the hash of every published version by procedure
// id, without reading the documents: what a search index compares with
// what it holds to find what was published, changed or withdrawn since.
func (r *Registry) PublishedHashes(ctx context.Context) (map[string]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id, hash FROM procedures_versions WHERE state = $1`, StatePublished)
	if err != nil {
		return nil, fmt.Errorf("procedures: published hashes: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, hash string
		if err := rows.Scan(&id, &hash); err != nil {
			return nil, fmt.Errorf("procedures: published hashes: %w", err)
		}
		out[id] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("procedures: published hashes: %w", err)
	}
	return out, nil
}

// ListState lists the versions in a state, by id, for editors' work lists.
func (r *Registry) ListState(ctx context.Context, state string) ([]*Version, error) {
	return r.list(ctx, `SELECT `+versionColumns+` FROM procedures_versions WHERE state = $1 ORDER BY id, version`, state)
}

func (r *Registry) list(ctx context.Context, q string, args ...any) ([]*Version, error) {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("procedures: list: %w", err)
	}
	defer rows.Close()
	var out []*Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// History lists a procedure's events, oldest first.
func (r *Registry) History(ctx context.Context, id string) ([]Event, error) {
	rows, err := r.db.QueryContext(ctx,
		`SELECT version, from_state, to_state, actor, actor_name, note, at FROM procedures_events WHERE id = $1 ORDER BY at, seq`, id)
	if err != nil {
		return nil, fmt.Errorf("procedures: history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Version, &e.From, &e.To, &e.Actor, &e.ActorName, &e.Note, &at); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fail(ErrNotFound, "no procedure %q", id)
	}
	return out, rows.Err()
}

// Counts says how many versions are in each state.
func (r *Registry) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM procedures_versions GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("procedures: counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{StateDraft: 0, StatePending: 0, StateApproved: 0, StatePublished: 0, StateWithdrawn: 0}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// ImportPublished brings procedures already published elsewhere (an
// existing national registry, or the samples on a first run) into the
// registry as published version 1, recorded in the history as imported
// from source. A procedure the registry already has is left as it is.
// Every document is checked first: one invalid document imports nothing.
func (r *Registry) ImportPublished(ctx context.Context, source string, docs [][]byte) (imported int, err error) {
	if source == "" {
		return 0, errors.New("procedures: say where the imported procedures come from")
	}
	type item struct {
		id   string
		raw  []byte
		hash string
	}
	items := make([]item, 0, len(docs))
	for i, doc := range docs {
		p, err := parse(doc, r.address)
		if err != nil {
			return 0, fmt.Errorf("procedures: import: document %d: %w", i+1, err)
		}
		raw, hash, err := canonical(p, 1)
		if err != nil {
			return 0, err
		}
		items = append(items, item{p.ID, raw, hash})
	}
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		imported = 0
		now := r.now().UnixMicro()
		for _, it := range items {
			res, err := tx.ExecContext(ctx,
				`INSERT INTO procedures_versions (id, version, state, doc, hash, author, created_at, updated_at, published_at)
				 VALUES ($1, 1, $2, $3, $4, $5, $6, $6, $6) ON CONFLICT (id, version) DO NOTHING`,
				it.id, StatePublished, string(it.raw), it.hash, "import", now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			imported++
			if err := r.event(ctx, tx, it.id, 1, "", StatePublished, Caller{ID: "import"}, noteImported+source); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("procedures: import: %w", err)
	}
	return imported, nil
}
