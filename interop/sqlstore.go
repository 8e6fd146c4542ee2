package interop

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLStore keeps the registry in SQLite or PostgreSQL, in the caller's
// *sql.DB: every instance of a gateway that shares the database shares the
// registry, and sees every change at its next poll of the generation.
type SQLStore struct {
	db  *sqlstore.DB
	now func() time.Time
	log *zap.Logger
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore opens the registry in db, creating its tables. It takes
// WithLogger, WithClock and WithDBTimeout. A SQLite pool without the
// settings the stores need is refused (see package sqldb/sqlcheck).
func NewSQLStore(ctx context.Context, db *sql.DB, opts ...Option) (*SQLStore, error) {
	o, err := applyOptions("NewSQLStore", opts, "WithLogger", "WithClock", "WithDBTimeout")
	if err != nil {
		return nil, err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	sdb = sdb.WithTimeout(o.dbTimeout)
	if err := sdb.Migrate(ctx, "interop", migrations); err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	return &SQLStore{db: sdb, now: o.now, log: o.log}, nil
}

const bumpGeneration = `UPDATE interop_generation SET gen = gen + 1 WHERE id = 1`

const serviceColumns = `id, owner, title_el, title_en, upstream, items, consent_required, legal_basis,
	max_request_bytes, max_response_bytes, timeout_ns, rate_per_second, burst, disabled,
	revision, updated_by, created_at, updated_at`

func (st *SQLStore) stamp() int64 { return st.now().UnixMicro() }

// CreateService implements [Store].
func (st *SQLStore) CreateService(ctx context.Context, s Service) (Service, error) {
	if err := s.Validate(); err != nil {
		return Service{}, err
	}
	items, err := json.Marshal(itemsOrEmpty(s.Items))
	if err != nil {
		return Service{}, fmt.Errorf("interop: create service: %w", err)
	}
	now := st.stamp()
	err = st.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO interop_services (`+serviceColumns+`, openapi)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $16, $17)`,
			s.ID.String(), s.Owner.String(), s.Title.El, s.Title.En, s.Upstream, string(items),
			s.ConsentRequired, s.LegalBasis, s.Limits.MaxRequestBytes, s.Limits.MaxResponseBytes,
			int64(s.Limits.Timeout), s.Limits.RatePerSecond, int64(s.Limits.Burst), s.Disabled,
			s.UpdatedBy, now, string(s.OpenAPI))
		if err != nil {
			return sqlstore.MapError(err)
		}
		_, err = tx.ExecContext(ctx, bumpGeneration)
		return err
	})
	if errors.Is(err, sqlstore.ErrConflict) {
		return Service{}, fail(ErrExists, "service %s is registered already", s.ID)
	}
	if err != nil {
		return Service{}, fmt.Errorf("interop: create service %s: %w", s.ID, err)
	}
	st.log.Info("service registered", zap.String("service", s.ID.String()), zap.String("by", s.UpdatedBy))
	s.Revision = 1
	s.CreatedAt = time.UnixMicro(now).UTC()
	s.UpdatedAt = s.CreatedAt
	return s, nil
}

// UpdateService implements [Store].
func (st *SQLStore) UpdateService(ctx context.Context, s Service) (Service, error) {
	if err := s.Validate(); err != nil {
		return Service{}, err
	}
	items, err := json.Marshal(itemsOrEmpty(s.Items))
	if err != nil {
		return Service{}, fmt.Errorf("interop: update service: %w", err)
	}
	now := st.stamp()
	var created int64
	err = st.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE interop_services SET owner = $3, title_el = $4, title_en = $5,
			upstream = $6, items = $7, consent_required = $8, legal_basis = $9, max_request_bytes = $10,
			max_response_bytes = $11, timeout_ns = $12, rate_per_second = $13, burst = $14, disabled = $15,
			updated_by = $16, updated_at = $17, openapi = $18, revision = revision + 1
			WHERE id = $1 AND revision = $2 RETURNING created_at`,
			s.ID.String(), s.Revision, s.Owner.String(), s.Title.El, s.Title.En, s.Upstream, string(items),
			s.ConsentRequired, s.LegalBasis, s.Limits.MaxRequestBytes, s.Limits.MaxResponseBytes,
			int64(s.Limits.Timeout), s.Limits.RatePerSecond, int64(s.Limits.Burst), s.Disabled,
			s.UpdatedBy, now, string(s.OpenAPI)).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			var rev int64
			err := tx.QueryRowContext(ctx, `SELECT revision FROM interop_services WHERE id = $1`, s.ID.String()).Scan(&rev)
			if errors.Is(err, sql.ErrNoRows) {
				return fail(ErrNotFound, "no service %s", s.ID)
			}
			if err != nil {
				return err
			}
			return fail(ErrStale, "service %s is at revision %d, not %d", s.ID, rev, s.Revision)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, bumpGeneration)
		return err
	})
	var ie *Error
	if errors.As(err, &ie) {
		return Service{}, ie
	}
	if err != nil {
		return Service{}, fmt.Errorf("interop: update service %s: %w", s.ID, err)
	}
	st.log.Info("service updated", zap.String("service", s.ID.String()), zap.String("by", s.UpdatedBy), zap.Bool("disabled", s.Disabled))
	s.Revision++
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.UpdatedAt = time.UnixMicro(now).UTC()
	return s, nil
}

// Service implements [Store].
func (st *SQLStore) Service(ctx context.Context, id ServiceID) (Service, error) {
	row := st.db.QueryRowContext(ctx, `SELECT `+serviceColumns+`, openapi FROM interop_services WHERE id = $1`, id.String())
	var doc string
	s, err := scanService(row, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Service{}, fail(ErrNotFound, "no service %s", id)
	}
	if err != nil {
		return Service{}, fmt.Errorf("interop: service %s: %w", id, sqlstore.MapError(err))
	}
	if doc != "" {
		s.OpenAPI = json.RawMessage(doc)
	}
	return s, nil
}

// Services implements [Store].
func (st *SQLStore) Services(ctx context.Context) ([]Service, error) {
	out, err := queryServices(ctx, st.db)
	if err != nil {
		return nil, fmt.Errorf("interop: services: %w", err)
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryServices(ctx context.Context, q querier) ([]Service, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+serviceColumns+` FROM interop_services`)
	if err != nil {
		return nil, sqlstore.MapError(err)
	}
	defer rows.Close()
	var out []Service
	for rows.Next() {
		s, err := scanService(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlstore.MapError(err)
	}
	// Ordered here rather than in SQL, so that both engines order alike
	// whatever PostgreSQL's collation.
	sortServices(out)
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanService(row scanner, openapi *string) (Service, error) {
	var (
		s                 Service
		id, owner, items  string
		timeout, burst    int64
		created, updated  int64
		consent, disabled bool
		dest              []any
	)
	dest = append(dest, &id, &owner, &s.Title.El, &s.Title.En, &s.Upstream, &items, &consent, &s.LegalBasis,
		&s.Limits.MaxRequestBytes, &s.Limits.MaxResponseBytes, &timeout, &s.Limits.RatePerSecond, &burst, &disabled,
		&s.Revision, &s.UpdatedBy, &created, &updated)
	if openapi != nil {
		dest = append(dest, openapi)
	}
	if err := row.Scan(dest...); err != nil {
		return Service{}, err
	}
	var err error
	if s.ID, err = ParseServiceID(id); err != nil {
		return Service{}, fmt.Errorf("stored service identifier %q: %w", id, err)
	}
	if s.Owner, err = ParseClientID(owner); err != nil {
		return Service{}, fmt.Errorf("stored owner of %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(items), &s.Items); err != nil {
		return Service{}, fmt.Errorf("stored data items of %s: %w", id, err)
	}
	if len(s.Items) == 0 {
		s.Items = nil
	}
	s.ConsentRequired, s.Disabled = consent, disabled
	s.Limits.Timeout = time.Duration(timeout)
	s.Limits.Burst = int(burst)
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.UpdatedAt = time.UnixMicro(updated).UTC()
	return s, nil
}

func itemsOrEmpty(items []DataItem) []DataItem {
	if items == nil {
		return []DataItem{}
	}
	return items
}

// GrantRight implements [Store].
func (st *SQLStore) GrantRight(ctx context.Context, r Right) (Right, error) {
	if err := r.Validate(); err != nil {
		return Right{}, err
	}
	r.ID = newRightID()
	now := st.stamp()
	r.NotBefore, r.NotAfter = truncTime(r.NotBefore), truncTime(r.NotAfter)
	err := st.db.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM interop_services WHERE id = $1`, r.Service.String()).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fail(ErrNotFound, "no service %s", r.Service)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO interop_rights
			(id, consumer, service, method, path, not_before, not_after, granted_by, granted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, r.Consumer.String(), r.Service.String(), r.Method, r.Path,
			micros(r.NotBefore), micros(r.NotAfter), r.GrantedBy, now)
		if err != nil {
			return sqlstore.MapError(err)
		}
		_, err = tx.ExecContext(ctx, bumpGeneration)
		return err
	})
	var ie *Error
	switch {
	case errors.As(err, &ie):
		return Right{}, ie
	case errors.Is(err, sqlstore.ErrConflict):
		return Right{}, fail(ErrExists, "%s has this right to %s already", r.Consumer, r.Service)
	case err != nil:
		return Right{}, fmt.Errorf("interop: grant right: %w", err)
	}
	st.log.Info("right granted", zap.String("right", r.ID), zap.String("consumer", r.Consumer.String()),
		zap.String("service", r.Service.String()), zap.String("by", r.GrantedBy))
	r.GrantedAt = time.UnixMicro(now).UTC()
	return r, nil
}

// RevokeRight implements [Store].
func (st *SQLStore) RevokeRight(ctx context.Context, id string) error {
	if !validRightID(id) {
		return fail(ErrNotFound, "no right %s", id)
	}
	err := st.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM interop_rights WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fail(ErrNotFound, "no right %s", id)
		}
		_, err = tx.ExecContext(ctx, bumpGeneration)
		return err
	})
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	if err != nil {
		return fmt.Errorf("interop: revoke right %s: %w", id, err)
	}
	st.log.Info("right revoked", zap.String("right", id))
	return nil
}

// Rights implements [Store].
func (st *SQLStore) Rights(ctx context.Context, f RightFilter) ([]Right, error) {
	q := `SELECT id, consumer, service, method, path, not_before, not_after, granted_by, granted_at FROM interop_rights`
	var args []any
	switch {
	case !f.Service.IsZero() && !f.Consumer.IsZero():
		q += ` WHERE service = $1 AND consumer = $2`
		args = append(args, f.Service.String(), f.Consumer.String())
	case !f.Service.IsZero():
		q += ` WHERE service = $1`
		args = append(args, f.Service.String())
	case !f.Consumer.IsZero():
		q += ` WHERE consumer = $1`
		args = append(args, f.Consumer.String())
	}
	out, err := queryRights(ctx, st.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("interop: rights: %w", err)
	}
	return out, nil
}

func queryRights(ctx context.Context, q querier, query string, args ...any) ([]Right, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, sqlstore.MapError(err)
	}
	defer rows.Close()
	out := []Right{}
	for rows.Next() {
		var (
			r                      Right
			consumer, service      string
			notBefore, notAfter, g int64
		)
		if err := rows.Scan(&r.ID, &consumer, &service, &r.Method, &r.Path, &notBefore, &notAfter, &r.GrantedBy, &g); err != nil {
			return nil, sqlstore.MapError(err)
		}
		if r.Consumer, err = ParseClientID(consumer); err != nil {
			return nil, fmt.Errorf("stored consumer of right %s: %w", r.ID, err)
		}
		if r.Service, err = ParseServiceID(service); err != nil {
			return nil, fmt.Errorf("stored service of right %s: %w", r.ID, err)
		}
		r.NotBefore, r.NotAfter, r.GrantedAt = fromMicros(notBefore), fromMicros(notAfter), time.UnixMicro(g).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlstore.MapError(err)
	}
	sortRights(out)
	return out, nil
}

// Generation implements [Store]: one read of one row.
func (st *SQLStore) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := st.db.QueryRowContext(ctx, `SELECT gen FROM interop_generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("interop: generation: %w", sqlstore.MapError(err))
	}
	return g, nil
}

// Snapshot implements [Store]: the generation, the services and the
// rights are read in one read-only transaction (repeatable read on
// PostgreSQL), so they belong together.
func (st *SQLStore) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := st.db.TxWith(ctx, sqlstore.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT gen FROM interop_generation WHERE id = 1`).Scan(&snap.Generation); err != nil {
			return err
		}
		var err error
		if snap.Services, err = queryServices(ctx, tx); err != nil {
			return err
		}
		snap.Rights, err = queryRights(ctx, tx, `SELECT id, consumer, service, method, path, not_before, not_after, granted_by, granted_at FROM interop_rights`)
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("interop: snapshot: %w", sqlstore.MapError(err))
	}
	return snap, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
