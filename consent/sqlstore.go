package consent

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Option configures NewSQLStore and NewSigningKeys.
type Option func(*options)

type options struct {
	dbTimeout time.Duration
	logger    *zap.Logger
	alg       string
	maxBatch  int
}

// WithDBTimeout bounds each database call; zero means 5 s. A database
// that does not answer in time fails the call with an error that matches
// errkind.Unavailable.
func WithDBTimeout(d time.Duration) Option { return func(o *options) { o.dbTimeout = d } }

// WithLogger logs what the signing keys do (creation, rotation); nil
// logs nothing.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithAlgorithm chooses the signature algorithm of receipts, ES256 (the
// default) or EdDSA, when NewSigningKeys first creates the key set.
func WithAlgorithm(alg string) Option { return func(o *options) { o.alg = alg } }

// WithMaxBatch bounds how many uses (the counting part of Check) the SQL
// store commits in one transaction. Zero means DefaultMaxBatch on SQLite
// and 1 on PostgreSQL; 1 gives every use its own transaction, in the
// caller's goroutine.
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// SQLStore is the Store on SQLite or PostgreSQL. Several instances of a
// service may share one database: a use is counted by one conditional
// UPDATE, so a consent's limit holds across them, and nothing is cached,
// so a withdrawal is seen by the next Check on every instance.
//
// On SQLite, which has one writer at a time, uses go through one writer
// goroutine that commits the uses waiting for it together, at most
// DefaultMaxBatch (WithMaxBatch) in one transaction: each is still its own
// conditional UPDATE and access-log entry, answered on its own once the
// transaction is committed. On PostgreSQL every use has its own
// transaction. The store's lifecycle: NewSQLStore starts the writer;
// Close answers the uses already handed to it, stops it and releases the
// prepared statements; close the store before the pool.
type SQLStore struct {
	db *sqlstore.DB
	// Prepared statements of the hot path, Check; match holds those of
	// Use without a consent id, by number of items, prepared when first
	// needed.
	candidates, use, repeat, logUse *sql.Stmt
	match                           [MaxItems + 1]atomic.Pointer[useStmts]
	prepareMu                       sync.Mutex

	// uses feeds the writer (nil when every use has its own
	// transaction); closeMu guards sending on it against Close. The
	// writer has checkpoints copy SQLite's write-ahead log back every
	// checkpointUses uses (nil on PostgreSQL).
	uses        chan *useOp
	written     chan struct{}
	maxBatch    int
	closeMu     sync.RWMutex
	closed      bool
	checkpoints *sqlstore.Checkpointer
}

// useStmts count a use (count) or find the use an exchange already made
// (repeat), with the same arguments.
type useStmts struct{ count, repeat *sql.Stmt }

var _ Store = (*SQLStore)(nil)

// DefaultMaxBatch is how many uses the SQL store commits in one
// transaction at most on SQLite.
const DefaultMaxBatch = 64

// NewSQLStore opens the store in db (SQLite or PostgreSQL, opened by the
// caller; see package sqldb), creating or migrating its tables. It takes
// WithDBTimeout and WithMaxBatch. On SQLite it starts the writer
// goroutine that Close stops.
func NewSQLStore(ctx context.Context, db *sql.DB, opts ...Option) (*SQLStore, error) {
	o := collect(opts)
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	sdb = sdb.WithTimeout(o.dbTimeout)
	if err := sdb.Migrate(ctx, "consent", migrations); err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	s := &SQLStore{db: sdb, maxBatch: o.maxBatch}
	if s.maxBatch <= 0 {
		s.maxBatch = 1
		if sdb.Dialect() == sqlstore.SQLite {
			s.maxBatch = DefaultMaxBatch
		}
	}
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = sdb.PrepareContext(ctx, query)
		return st
	}
	s.candidates = prepare(selectRecord + ` WHERE subject = $1 AND requester_org = $2 AND requester_client = $3
		AND source_registry = $4 AND source_service = $5 ORDER BY updated_at DESC, id DESC`)
	// Arguments of both: $1 the time, $2 the consent, $3 the exchange.
	s.use = prepare(fmt.Sprintf(countUse,
		"id = $2 AND NOT EXISTS (SELECT 1 FROM consent_uses WHERE consent_id = $2 AND exchange_id = $3)"))
	s.repeat = prepare(repeatUse + ` WHERE r.id = $2 AND u.exchange_id = $3 AND ` + repeatUsable)
	// The entry takes the next number of the citizen's log and of the
	// requester's entries in it; two instances that take the same one at
	// once meet the key, and the later transaction runs again.
	s.logUse = prepare(`INSERT INTO consent_uses (subject, n, nr, at, requester_org, requester_client, requester_person,
		source_registry, source_service, items, purpose, consent_id, exchange_id)
		VALUES ($1, (SELECT COALESCE(MAX(n), 0) + 1 FROM consent_uses WHERE subject = $1),
			(SELECT COALESCE(MAX(nr), 0) + 1 FROM consent_uses WHERE subject = $1 AND requester_org = $3),
			$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`)
	if err != nil {
		return nil, fmt.Errorf("consent: prepare: %w", err)
	}
	if s.maxBatch > 1 {
		s.uses, s.written = make(chan *useOp, s.maxBatch), make(chan struct{})
		s.checkpoints = sqlstore.NewCheckpointer(sdb, checkpointUses)
		go s.write()
	}
	return s, nil
}

// countUse counts a use of the consent the condition (%s) picks, if it
// still allows a use at $1.
const countUse = `UPDATE consent_records SET uses = uses + 1,
		state = CASE WHEN use_limit > 0 AND uses + 1 >= use_limit THEN 'Consumed' ELSE state END,
		updated_at = CASE WHEN use_limit > 0 AND uses + 1 >= use_limit THEN $1 ELSE updated_at END
	WHERE %s AND state = 'Authorised' AND valid_from <= $1 AND valid_until > $1
		AND (use_limit = 0 OR uses < use_limit)
	RETURNING id, subject, state`

// repeatUse finds the consent r an exchange was counted against (its
// use u); repeatUsable keeps it while it still allows that exchange at
// $1: not withdrawn, and within its window. The use that consumed it is
// one of those it allows.
const (
	repeatUse    = `SELECT r.id FROM consent_records r JOIN consent_uses u ON u.consent_id = r.id`
	repeatUsable = `r.state IN ('Authorised', 'Consumed') AND r.valid_from <= $1 AND r.valid_until > $1`
)

// matchStmts returns the statements that count a use of the consent of
// a subject, requester, source and purpose covering n items whose window
// ends first, and find the one the exchange was counted against before.
// The engines spell "contains" differently.
func (s *SQLStore) matchStmts(ctx context.Context, n int) (*useStmts, error) {
	if st := s.match[n].Load(); st != nil {
		return st, nil
	}
	s.prepareMu.Lock()
	defer s.prepareMu.Unlock()
	if st := s.match[n].Load(); st != nil {
		return st, nil
	}
	contains := "instr(%sitem_set, $%d) > 0"
	if s.db.Dialect() == sqlstore.Postgres {
		contains = "strpos(%sitem_set, $%d) > 0"
	}
	items := func(alias string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(" AND " + fmt.Sprintf(contains, alias, 8+i))
		}
		return b.String()
	}
	// $1 the time; $2 to $7 the subject, requester, source and purpose;
	// then the items; last the exchange. An exchange counted before
	// against any consent of this requester and source is not counted
	// again.
	exchange := fmt.Sprintf("$%d", 8+n)
	same := `r.subject = $2 AND r.requester_org = $3 AND r.requester_client = $4
		AND r.source_registry = $5 AND r.source_service = $6`
	count := `id = (SELECT id FROM consent_records WHERE subject = $2 AND requester_org = $3 AND requester_client = $4
		AND source_registry = $5 AND source_service = $6 AND purpose_code = $7 AND state = 'Authorised'
		AND valid_from <= $1 AND valid_until > $1 AND (use_limit = 0 OR uses < use_limit)` + items("") + `
		AND NOT EXISTS (SELECT 1 FROM consent_records r JOIN consent_uses u ON u.consent_id = r.id
			WHERE ` + same + ` AND u.exchange_id = ` + exchange + `)
		ORDER BY valid_until, id LIMIT 1)`
	repeat := repeatUse + ` WHERE ` + same + ` AND r.purpose_code = $7 AND u.exchange_id = ` + exchange +
		` AND ` + repeatUsable + items("r.") + ` ORDER BY r.valid_until, r.id LIMIT 1`
	var st useStmts
	var err error
	if st.count, err = s.db.PrepareContext(ctx, fmt.Sprintf(countUse, count)); err != nil {
		return nil, err
	}
	if st.repeat, err = s.db.PrepareContext(ctx, repeat); err != nil {
		st.count.Close()
		return nil, err
	}
	s.match[n].Store(&st)
	return &st, nil
}

// Close answers the uses handed to the writer, stops it and releases the
// prepared statements; the pool stays open. A Use after Close fails with
// an error that matches errkind.Unavailable.
func (s *SQLStore) Close() error {
	s.closeMu.Lock()
	wasClosed := s.closed
	s.closed = true
	if !wasClosed && s.uses != nil {
		close(s.uses)
	}
	s.closeMu.Unlock()
	if wasClosed {
		return nil
	}
	if s.written != nil {
		<-s.written
	}
	s.checkpoints.Close()
	errs := []error{s.candidates.Close(), s.use.Close(), s.repeat.Close(), s.logUse.Close()}
	for i := range s.match {
		if st := s.match[i].Swap(nil); st != nil {
			errs = append(errs, st.count.Close(), st.repeat.Close())
		}
	}
	return errors.Join(errs...)
}

// terms is the JSON of the terms column; decision that of the decision
// column.
type terms struct {
	Requester  Requester `json:"requester"`
	Items      []Item    `json:"items"`
	Purpose    Purpose   `json:"purpose"`
	LegalBasis string    `json:"legal_basis"`
	Recipients []string  `json:"recipients,omitempty"`
	Withdrawal string    `json:"withdrawal"`
	ReturnURL  string    `json:"return_url,omitempty"`
	// ReturnState came later: records without it read it as empty.
	ReturnState string `json:"return_state,omitempty"`
}

type decision struct {
	Notice   Notice   `json:"notice"`
	Evidence Evidence `json:"evidence"`
}

const selectRecord = `SELECT id, schema_version, subject, subject_sealed, source_registry, source_service,
	state, created_at, updated_at, request_expires, valid_from, valid_until, use_limit, uses, terms, decision
	FROM consent_records`

type scanner interface{ Scan(dest ...any) error }

func micro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func scanRecord(row scanner) (*Record, error) {
	var (
		r                                                   Record
		termsJSON, decisionJSON                             string
		created, updated, reqExpires, validFrom, validUntil int64
		state                                               string
		limit                                               int
	)
	if err := row.Scan(&r.ID, &r.SchemaVersion, &r.Subject, &r.SealedSubject, &r.Source.Registry, &r.Source.Service,
		&state, &created, &updated, &reqExpires, &validFrom, &validUntil, &limit, &r.Uses, &termsJSON, &decisionJSON); err != nil {
		return nil, err
	}
	var t terms
	var d decision
	if err := json.Unmarshal([]byte(termsJSON), &t); err != nil {
		return nil, fmt.Errorf("consent: stored record %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(decisionJSON), &d); err != nil {
		return nil, fmt.Errorf("consent: stored record %s: %w", r.ID, err)
	}
	r.Requester, r.Items, r.Purpose, r.LegalBasis = t.Requester, t.Items, t.Purpose, t.LegalBasis
	r.Recipients, r.Withdrawal, r.ReturnURL, r.ReturnState = t.Recipients, t.Withdrawal, t.ReturnURL, t.ReturnState
	r.Notice, r.Evidence = d.Notice, d.Evidence
	r.State = State(state)
	r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
	r.RequestExpires, r.ValidFrom, r.ValidUntil = fromMicro(reqExpires), fromMicro(validFrom), fromMicro(validUntil)
	r.MaxUses = limit
	if limit == 0 {
		r.MaxUses = Unlimited
	}
	return &r, nil
}

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, r *Record) error {
	t, err := json.Marshal(terms{Requester: r.Requester, Items: r.Items, Purpose: r.Purpose, LegalBasis: r.LegalBasis,
		Recipients: r.Recipients, Withdrawal: r.Withdrawal, ReturnURL: r.ReturnURL, ReturnState: r.ReturnState})
	if err != nil {
		return fmt.Errorf("consent: create: %w", err)
	}
	d, err := json.Marshal(decision{Notice: r.Notice, Evidence: r.Evidence})
	if err != nil {
		return fmt.Errorf("consent: create: %w", err)
	}
	limit := r.MaxUses
	if limit == Unlimited {
		limit = 0
	}
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO consent_records (id, schema_version, subject, subject_sealed,
			requester_org, requester_client, source_registry, source_service, purpose_code, item_set, state,
			created_at, updated_at, request_expires, valid_from, valid_until, use_limit, uses, terms, decision)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			r.ID, r.SchemaVersion, r.Subject, r.SealedSubject, r.Requester.Organisation, r.Requester.Client,
			r.Source.Registry, r.Source.Service, r.Purpose.Code, itemSet(r.Items), string(r.State), micro(r.CreatedAt), micro(r.UpdatedAt),
			micro(r.RequestExpires), micro(r.ValidFrom), micro(r.ValidUntil), limit, r.Uses, string(t), string(d)); err != nil {
			return err
		}
		for i, e := range r.Events {
			if err := insertEvent(ctx, tx, r.ID, i+1, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return fmt.Errorf("%w: %s", ErrExists, r.ID)
	} else if err != nil {
		return fmt.Errorf("consent: create: %w", err)
	}
	return nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, id string, seq int, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO consent_events (consent_id, seq, at, actor, action, state)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, seq, micro(e.At), e.Actor, string(e.Action), string(e.State))
	return err
}

// appendEvent adds e after the record's last event. The caller holds the
// record's row lock (or, on SQLite, the write lock).
func appendEvent(ctx context.Context, tx *sql.Tx, id string, e Event) error {
	var last int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM consent_events WHERE consent_id = $1`, id).Scan(&last); err != nil {
		return err
	}
	return insertEvent(ctx, tx, id, last+1, e)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// events loads the events of the records, in order, into them.
func loadEvents(ctx context.Context, q querier, query string, arg any, recs ...*Record) error {
	byID := make(map[string]*Record, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, actor, action, state string
		var at int64
		if err := rows.Scan(&id, &at, &actor, &action, &state); err != nil {
			return err
		}
		if r := byID[id]; r != nil {
			r.Events = append(r.Events, Event{At: fromMicro(at), Actor: actor, Action: Action(action), State: State(state)})
		}
	}
	return rows.Err()
}

func (s *SQLStore) get(ctx context.Context, q querier, id string) (*Record, error) {
	r, err := scanRecord(q.QueryRowContext(ctx, selectRecord+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := loadEvents(ctx, q, `SELECT consent_id, at, actor, action, state FROM consent_events
		WHERE consent_id = $1 ORDER BY seq`, id, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, id string) (*Record, error) {
	r, err := s.get(ctx, s.db, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("consent: get: %w", sqlstore.MapError(err))
	}
	return r, err
}

// Update implements Store.
func (s *SQLStore) Update(ctx context.Context, ch Change) (*Record, error) {
	var out *Record
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRecord(tx.QueryRowContext(ctx, selectRecord+` WHERE id = $1`+s.db.Dialect().ForUpdate(), ch.ID))
		if errors.Is(err, sql.ErrNoRows) || err == nil && ch.Subject != "" && r.Subject != ch.Subject {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.State != ch.From {
			return &StateError{ID: r.ID, State: r.State, Action: ch.Event.Action}
		}
		if ch.To != StateExpired && expiredAt(r.State, r.RequestExpires, r.ValidUntil, ch.At) {
			return &StateError{ID: r.ID, State: StateExpired, Action: ch.Event.Action}
		}
		d := decision{Notice: r.Notice, Evidence: r.Evidence}
		if ch.Notice != nil {
			d.Notice = *ch.Notice
		}
		if ch.Evidence != nil {
			d.Evidence = *ch.Evidence
		}
		dj, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consent_records SET state = $1, updated_at = $2, decision = $3 WHERE id = $4`,
			string(ch.To), micro(ch.At), string(dj), ch.ID); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, ch.ID, ch.Event); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, ch.ID)
		return err
	})
	if err != nil {
		var se *StateError
		if errors.Is(err, ErrNotFound) || errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("consent: update: %w", sqlstore.MapError(err))
	}
	return out, nil
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context, subject string) ([]*Record, error) {
	recs, err := s.list(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("consent: list: %w", sqlstore.MapError(err))
	}
	return recs, nil
}

func (s *SQLStore) list(ctx context.Context, subject string) ([]*Record, error) {
	rows, err := s.db.QueryContext(ctx, selectRecord+` WHERE subject = $1 ORDER BY created_at DESC, id DESC`, subject)
	if err != nil {
		return nil, err
	}
	var recs []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	err = loadEvents(ctx, s.db, `SELECT e.consent_id, e.at, e.actor, e.action, e.state FROM consent_events e
		JOIN consent_records r ON r.id = e.consent_id WHERE r.subject = $1 ORDER BY e.consent_id, e.seq`, subject, recs...)
	return recs, err
}

// Candidates implements Store.
func (s *SQLStore) Candidates(ctx context.Context, q CandidateQuery) ([]*Record, error) {
	ctx, cancel := s.db.Bound(ctx)
	defer cancel()
	rows, err := s.candidates.QueryContext(ctx, q.Subject, q.Organisation, q.Client, q.Source.Registry, q.Source.Service)
	if err != nil {
		return nil, fmt.Errorf("consent: candidates: %w", sqlstore.MapError(err))
	}
	defer rows.Close()
	var recs []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("consent: candidates: %w", sqlstore.MapError(err))
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent: candidates: %w", sqlstore.MapError(err))
	}
	return recs, nil
}

// Use implements Store: one conditional UPDATE picks the consent and
// counts the use (and ends a consent whose last use it is), and the
// access log entry is written in the same transaction. An exchange
// counted before is not counted again: Use returns the consent it was
// counted against, while that consent is neither withdrawn nor out of
// its window (a unique index holds one use per consent and exchange).
// On SQLite the use waits for the writer, which commits it with the
// others waiting (see SQLStore); it is answered once committed.
func (s *SQLStore) Use(ctx context.Context, u Use) (string, error) {
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return "", errClosed
	}
	op, err := s.useOp(ctx, u)
	if err != nil {
		s.closeMu.RUnlock()
		return "", err
	}
	if s.uses == nil {
		err = s.runUses(ctx, []*useOp{op})
		s.closeMu.RUnlock()
		err = op.outcome(err)
	} else {
		err = s.send(ctx, op)
	}
	if err != nil {
		return "", fmt.Errorf("consent: use: %w", err)
	}
	return op.id, nil
}

var errClosed = fmt.Errorf("consent: use: the store is closed: %w", sqlstore.ErrUnavailable)

// useOp is one Use with its statements and arguments.
type useOp struct {
	// ctx is the caller's, bounded by the store's deadline.
	ctx           context.Context
	u             Use
	items         string
	count, repeat *sql.Stmt
	args          []any
	// id is the consent counted (or counted before, for a repeated
	// exchange); ran tells that the statements ran in the transaction
	// that was committed. done carries the outcome from the writer.
	id   string
	ran  bool
	done chan error
}

func (s *SQLStore) useOp(ctx context.Context, u Use) (*useOp, error) {
	items, err := json.Marshal(u.Items)
	if err != nil {
		return nil, fmt.Errorf("consent: use: %w", err)
	}
	op := &useOp{ctx: ctx, u: u, items: string(items)}
	at := micro(u.At)
	if u.ConsentID != "" {
		op.count, op.repeat, op.args = s.use, s.repeat, []any{at, u.ConsentID, u.ExchangeID}
		return op, nil
	}
	if len(u.Items) == 0 || len(u.Items) > MaxItems {
		return nil, invalid("items", "from 1 to %d", MaxItems)
	}
	st, err := s.matchStmts(ctx, len(u.Items))
	if err != nil {
		return nil, fmt.Errorf("consent: use: %w", sqlstore.MapError(err))
	}
	op.count, op.repeat = st.count, st.repeat
	op.args = make([]any, 0, 8+len(u.Items))
	op.args = append(op.args, at, u.Subject, u.Requester.Organisation, u.Requester.Client, u.Source.Registry,
		u.Source.Service, u.Purpose)
	for _, it := range u.Items {
		op.args = append(op.args, itemSep+it+itemSep)
	}
	op.args = append(op.args, u.ExchangeID)
	return op, nil
}

// outcome is the error of op in a transaction that ended with err: err
// itself, or, when it committed without op (its caller had gone), the
// caller's.
func (op *useOp) outcome(err error) error {
	if err == nil && !op.ran {
		err = sqlstore.MapError(op.ctx.Err())
	}
	return err
}

// runUses runs ops in one transaction, each after the one before, and
// commits them together; an op whose caller has gone is left out. The
// transaction runs again, whole, when it meets a conflict: two instances
// that number entries of one citizen's log at once, or a repeat of an
// exchange counted meanwhile elsewhere.
func (s *SQLStore) runUses(ctx context.Context, ops []*useOp) error {
	for attempt := 0; ; attempt++ {
		err := sqlstore.MapError(s.db.Tx(ctx, func(tx *sql.Tx) error {
			for _, op := range ops {
				op.id, op.ran = "", false
				if op.ctx.Err() != nil {
					continue
				}
				if err := s.useIn(ctx, tx, op); err != nil {
					return err
				}
				op.ran = true
			}
			return nil
		}))
		if !errors.Is(err, sqlstore.ErrConflict) || attempt == 8 {
			return err
		}
		// Those that met together wait apart before they run again.
		t := time.NewTimer(rand.N(time.Millisecond << min(attempt, 5)))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// useIn runs the statements of op in tx.
func (s *SQLStore) useIn(ctx context.Context, tx *sql.Tx, op *useOp) error {
	u := op.u
	var id, subject, state string
	err := tx.StmtContext(ctx, op.count).QueryRowContext(ctx, op.args...).Scan(&id, &subject, &state)
	if errors.Is(err, sql.ErrNoRows) {
		// Not counted: maybe the exchange was counted before.
		err = tx.StmtContext(ctx, op.repeat).QueryRowContext(ctx, op.args...).Scan(&op.id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if State(state) == StateConsumed {
		if err := appendEvent(ctx, tx, id, Event{At: u.At, Actor: ActorSystem, Action: ActionConsumed, State: StateConsumed}); err != nil {
			return err
		}
	}
	if _, err := tx.StmtContext(ctx, s.logUse).ExecContext(ctx, subject, micro(u.At), u.Requester.Organisation,
		u.Requester.Client, u.Requester.Person, u.Source.Registry, u.Source.Service, op.items, u.Purpose, id,
		u.ExchangeID); err != nil {
		return err
	}
	op.id = id
	return nil
}

// send hands op to the writer and waits for its outcome, or for the
// caller's deadline. The caller holds closeMu's read lock, which send
// releases.
func (s *SQLStore) send(ctx context.Context, op *useOp) error {
	op.done = make(chan error, 1)
	select {
	case s.uses <- op:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return sqlstore.MapError(ctx.Err())
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		// The writer leaves op out unless its statements already ran:
		// then the use counts, and asking again about the same exchange
		// answers it without counting it twice.
		return sqlstore.MapError(ctx.Err())
	}
}

// write is the writer: it takes the uses waiting, up to maxBatch, runs
// them in one transaction and answers each, until Close.
func (s *SQLStore) write() {
	defer close(s.written)
	batch := make([]*useOp, 0, s.maxBatch)
	for op := range s.uses {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case op, ok := <-s.uses:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commit(batch)
		s.checkpoints.Wrote(len(batch))
		clear(batch)
	}
}

// checkpointUses is how many uses the writer commits between two
// checkpoints (sqlstore.Checkpointer): about 600 pages of the
// write-ahead log, below the 1,000 at which SQLite makes the committing
// connection checkpoint.
const checkpointUses = 150

// commit runs a batch and answers its uses. The transaction lasts no
// longer than the latest of its callers' deadlines; a database error
// fails every use of the batch as unavailable.
func (s *SQLStore) commit(batch []*useOp) {
	var last time.Time
	for _, op := range batch {
		if d, ok := op.ctx.Deadline(); ok && d.After(last) {
			last = d
		}
	}
	ctx, cancel := s.db.Bound(context.Background())
	defer cancel()
	if !last.IsZero() {
		var cancelLast context.CancelFunc
		ctx, cancelLast = context.WithDeadline(ctx, last)
		defer cancelLast()
	}
	err := s.runUses(ctx, batch)
	if err != nil && !sqlstore.IsUnavailable(err) {
		err = &sqlstore.Error{Kind: sqlstore.ErrUnavailable, Err: err}
	}
	for _, op := range batch {
		op.done <- op.outcome(err)
	}
}

// AccessLog implements Store. Pages follow the key (subject, n), or the
// index (subject, requester, nr) with a requester, and cost the same
// however deep they are.
func (s *SQLStore) AccessLog(ctx context.Context, subject string, q LogQuery) (LogPage, error) {
	q, err := q.normalise()
	if err != nil {
		return LogPage{}, err
	}
	// Entries are numbered per citizen (n) and per citizen and requester
	// (nr), densely from 1: an offset is a bound on the number, found
	// through the key like a page after Before.
	pos, where := "n", "subject = $1"
	args := []any{subject}
	if q.Organisation != "" {
		pos, where = "nr", "subject = $1 AND requester_org = $2"
		args = append(args, q.Organisation)
	}
	bound := fmt.Sprintf("(SELECT COALESCE(MAX(%s), 0) + 1 FROM consent_uses WHERE %s) - $%d", pos, where, len(args)+1)
	args = append(args, q.Offset)
	if q.Before > 0 {
		bound = fmt.Sprintf("$%d", len(args))
		args[len(args)-1] = q.Before
	}
	query := fmt.Sprintf(`SELECT %s, n, at, requester_org, requester_client, requester_person, source_registry,
		source_service, items, purpose, consent_id, exchange_id FROM consent_uses
		WHERE %s AND %s < %s ORDER BY %s DESC LIMIT $%d`, pos, where, pos, bound, pos, len(args)+1)
	args = append(args, q.Limit)
	page, err := s.accessLog(ctx, query, args, subject, q.Limit)
	if err != nil {
		return LogPage{}, fmt.Errorf("consent: access log: %w", sqlstore.MapError(err))
	}
	return page, nil
}

func (s *SQLStore) accessLog(ctx context.Context, query string, args []any, subject string, limit int) (LogPage, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return LogPage{}, err
	}
	defer rows.Close()
	var page LogPage
	for rows.Next() {
		var a Access
		var at int64
		var items string
		if err := rows.Scan(&page.Next, &a.Seq, &at, &a.Requester.Organisation, &a.Requester.Client, &a.Requester.Person,
			&a.Source.Registry, &a.Source.Service, &items, &a.Purpose, &a.ConsentID, &a.ExchangeID); err != nil {
			return LogPage{}, err
		}
		a.Subject, a.At = subject, fromMicro(at)
		if err := json.Unmarshal([]byte(items), &a.Items); err != nil {
			return LogPage{}, fmt.Errorf("stored access %d: %w", a.Seq, err)
		}
		page.Entries = append(page.Entries, a)
	}
	// Numbers are dense: a full page whose last entry is not number 1
	// has entries after it.
	if len(page.Entries) < limit || page.Next == 1 {
		page.Next = 0
	}
	return page, rows.Err()
}
