package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/sqlstore"
)

// Account errors, matched with errors.Is.
var (
	// ErrBadCredentials is the one answer to a failed password check,
	// whether the account exists or not.
	ErrBadCredentials = errkind.New(errkind.Unauthorized, "auth: wrong user name or password")
	ErrAccountExists  = errkind.New(errkind.Conflict, "auth: an account with this identifier exists")
	ErrAccountInvalid = errkind.New(errkind.Invalid, "auth: invalid account details")
	ErrNoSuchAccount  = errkind.New(errkind.NotFound, "auth: no such account")
	// ErrPasswordBusy means every password-hashing slot stayed taken for
	// as long as a request may wait: the server is at its limit, the
	// password was not checked, and the person should try again shortly.
	ErrPasswordBusy = errkind.New(errkind.Unavailable, "auth: too many password checks under way; try again shortly")
)

// Citizen is a person with one set of credentials for every service. They
// sign in with a user name; the Greek tax number is unique among citizens.
type Citizen struct {
	ID         string // stable subject identifier, random
	Username   string
	AFM        string
	AMKA       string
	GivenName  string
	FamilyName string
	FatherName string
	MotherName string
	BirthDate  string // YYYY-MM-DD
	Disabled   bool
	CreatedAt  time.Time
}

// Servant is a civil servant with work credentials.
type Servant struct {
	ID         string
	Username   string
	GivenName  string
	FamilyName string
	Disabled   bool
	CreatedAt  time.Time
}

// Authorization is what an agency lets a servant do: a role in one of its
// services, for a period. It appears in the servant's tokens while it is
// valid and not revoked.
type Authorization struct {
	ID         string
	ServantID  string
	Agency     string
	Service    string
	Role       string
	ValidFrom  time.Time
	ValidUntil time.Time // zero: no end
	GrantedBy  string
	RevokedAt  time.Time // zero: not revoked
}

// Accounts keeps citizen and servant accounts and servants'
// authorizations. Safe for concurrent use.
type Accounts struct {
	db     *sqlstore.DB
	now    func() time.Time
	log    *zap.Logger
	params PasswordParams
	ids    *ident.Registry
	// dummy is a hash at the configured cost, checked for unknown users so
	// that they take as long as known ones.
	dummy func() string
	// hashing holds one token per argon2id computation under way, so a
	// burst of sign-ins cannot take more memory than the slots allow.
	hashing  chan struct{}
	slots    int
	hashWait time.Duration

	// The reads of a citizen that every request with a citizen's token
	// makes (UserInfo, and services finding the account by tax number),
	// prepared once: on SQLite, parsing the SQL cost as much as running it.
	citizenStmt, citizenByAFMStmt *sql.Stmt
}

// WithPasswordParams sets the argon2id cost of new hashes; older hashes
// are upgraded at the next successful sign-in. NewAccounts takes it.
func WithPasswordParams(p PasswordParams) Option {
	return func(o *options) { o.mark("WithPasswordParams"); o.passwordParams = &p }
}

// DefaultPasswordWait is how long a password check waits for a hashing
// slot before it gives up with ErrPasswordBusy.
const DefaultPasswordWait = 2 * time.Second

// WithPasswordConcurrency bounds how many argon2id computations (password
// checks and new hashes) run at once, and how long one waits for a slot
// before failing with ErrPasswordBusy. Each computation holds the
// configured memory (19 MiB by default) for its duration, so the bound is
// what keeps a burst of sign-ins from exhausting memory. slots <= 0 keeps
// the default, [DefaultPasswordSlots]; wait <= 0 keeps
// DefaultPasswordWait. The cost of each hash is not changed. NewAccounts
// takes it.
func WithPasswordConcurrency(slots int, wait time.Duration) Option {
	return func(o *options) { o.mark("WithPasswordConcurrency"); o.slots, o.hashWait = slots, wait }
}

// DefaultPasswordSlots is the default bound of WithPasswordConcurrency for
// hashes of cost p: one per processor (argon2id with one lane keeps one
// busy, so more only queue inside the scheduler), and no more than fit in
// a quarter of the Go memory limit (GOMEMLIMIT) when one is set, or in
// 256 MiB when none is. It is at least 1.
func DefaultPasswordSlots(p PasswordParams) int {
	n := runtime.GOMAXPROCS(0)
	budget := int64(256 << 20)
	if limit := debug.SetMemoryLimit(-1); limit > 0 && limit < math.MaxInt64 {
		budget = limit / 4
	}
	if per := int64(p.Memory) << 10; per > 0 {
		n = min(n, int(budget/per))
	}
	return max(n, 1)
}

// NewAccounts opens the accounts in db. Besides WithLogger (account
// changes are logged, identifiers masked), WithClock and WithDBTimeout it
// takes WithPasswordParams and WithPasswordConcurrency.
func NewAccounts(ctx context.Context, db *sql.DB, opts ...Option) (*Accounts, error) {
	o, err := collect("NewAccounts", opts, "WithPasswordParams", "WithPasswordConcurrency")
	if err != nil {
		return nil, err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := sdb.Migrate(ctx, "auth", migrations); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a := &Accounts{db: sdb.WithTimeout(o.dbTimeout), now: o.now, log: o.log, params: DefaultPasswordParams, ids: ident.Default(),
		slots: o.slots, hashWait: o.hashWait}
	if o.passwordParams != nil {
		a.params = *o.passwordParams
	}
	if a.slots <= 0 {
		a.slots = DefaultPasswordSlots(a.params)
	}
	if a.hashWait <= 0 {
		a.hashWait = DefaultPasswordWait
	}
	a.hashing = make(chan struct{}, a.slots)
	if a.citizenStmt, err = a.db.PrepareContext(ctx, `SELECT `+citizenColumns+` FROM auth_citizens WHERE id = $1`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if a.citizenByAFMStmt, err = a.db.PrepareContext(ctx, `SELECT `+citizenColumns+` FROM auth_citizens WHERE afm = $1`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a.dummy = sync.OnceValue(func() string {
		h, err := HashPassword("no account has this password", a.params)
		if err != nil {
			panic(err) // only crypto/rand can fail here
		}
		return h
	})
	return a, nil
}

// slot waits for a hashing slot, at most hashWait, and returns its
// release.
func (a *Accounts) slot(ctx context.Context) (release func(), err error) {
	select {
	case a.hashing <- struct{}{}:
		return func() { <-a.hashing }, nil
	default:
	}
	t := time.NewTimer(a.hashWait)
	defer t.Stop()
	select {
	case a.hashing <- struct{}{}:
		return func() { <-a.hashing }, nil
	case <-t.C:
		a.log.Warn("password hashing at capacity", zap.Int("slots", a.slots), zap.Duration("waited", a.hashWait))
		return nil, ErrPasswordBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashPassword is HashPassword in a hashing slot.
func (a *Accounts) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := a.slot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, a.params)
}

// verifyDummy spends the time a password check takes, for unknown users.
func (a *Accounts) verifyDummy(ctx context.Context, password string) error {
	release, err := a.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	_, _, _ = VerifyPassword(password, a.dummy(), a.params)
	return nil
}

func newAccountID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func invalidAccount(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrAccountInvalid, fmt.Sprintf(format, args...))
}

func nameOK(s string) bool { s = strings.TrimSpace(s); return s != "" && len(s) <= 100 }

// CreateCitizen registers a citizen with a password. The user name follows
// the servants' rule; the tax and social security numbers are validated
// (and normalised); names are required.
func (a *Accounts) CreateCitizen(ctx context.Context, c Citizen, password string) (Citizen, error) {
	c.Username = strings.ToLower(strings.TrimSpace(c.Username))
	if !usernamePattern.MatchString(c.Username) {
		return Citizen{}, invalidAccount("user name: 3 to 64 lower-case letters, digits, '.', '_' or '-'")
	}
	afm, err := a.ids.Normalize("gr-afm", c.AFM)
	if err != nil {
		return Citizen{}, fmt.Errorf("%w: %w", ErrAccountInvalid, err)
	}
	amka, err := a.ids.Normalize("gr-amka", c.AMKA)
	if err != nil {
		return Citizen{}, fmt.Errorf("%w: %w", ErrAccountInvalid, err)
	}
	if !nameOK(c.GivenName) || !nameOK(c.FamilyName) || !nameOK(c.FatherName) || !nameOK(c.MotherName) {
		return Citizen{}, invalidAccount("given, family, father's and mother's names are required, at most 100 bytes each")
	}
	if _, err := time.Parse(time.DateOnly, c.BirthDate); err != nil {
		return Citizen{}, invalidAccount("birth date must be YYYY-MM-DD")
	}
	if err := CheckPasswordRules(password); err != nil {
		return Citizen{}, err
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		return Citizen{}, err
	}
	now := a.now().UTC().Truncate(time.Microsecond)
	c.ID, c.AFM, c.AMKA, c.CreatedAt = newAccountID(), afm, amka, now
	_, err = a.db.ExecContext(ctx,
		`INSERT INTO auth_citizens (id, username, afm, amka, given_name, family_name, father_name, mother_name, birth_date, password_hash, disabled, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
		c.ID, c.Username, c.AFM, c.AMKA, c.GivenName, c.FamilyName, c.FatherName, c.MotherName, c.BirthDate, hash, c.Disabled, now.UnixMicro())
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return Citizen{}, ErrAccountExists
	} else if err != nil {
		return Citizen{}, fmt.Errorf("auth: create citizen: %w", err)
	}
	a.log.Info("citizen account created", zap.String("id", c.ID), zap.String("afm", ident.MaskAFM(c.AFM)))
	return c, nil
}

const citizenColumns = `id, username, afm, amka, given_name, family_name, father_name, mother_name, birth_date, disabled, created_at, password_hash`

func scanCitizen(row interface{ Scan(...any) error }) (Citizen, string, error) {
	var c Citizen
	var created int64
	var hash string
	err := row.Scan(&c.ID, &c.Username, &c.AFM, &c.AMKA, &c.GivenName, &c.FamilyName, &c.FatherName, &c.MotherName, &c.BirthDate, &c.Disabled, &created, &hash)
	c.CreatedAt = time.UnixMicro(created).UTC()
	return c, hash, err
}

// Citizen returns the citizen with the given id.
func (a *Accounts) Citizen(ctx context.Context, id string) (Citizen, error) {
	c, _, err := scanCitizen(a.db.QueryRowStmt(ctx, a.citizenStmt, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Citizen{}, ErrNoSuchAccount
	}
	return c, err
}

// CitizenByAFM returns the citizen with the given tax number, as federation
// links an identity from another provider by its tax-number claim.
func (a *Accounts) CitizenByAFM(ctx context.Context, afm string) (Citizen, error) {
	norm, err := a.ids.Normalize("gr-afm", afm)
	if err != nil {
		return Citizen{}, ErrNoSuchAccount
	}
	c, _, err := scanCitizen(a.db.QueryRowStmt(ctx, a.citizenByAFMStmt, norm))
	if errors.Is(err, sql.ErrNoRows) {
		return Citizen{}, ErrNoSuchAccount
	}
	return c, err
}

// CheckCitizenPassword signs a citizen in with user name and password. Any
// failure (unknown user, wrong password, disabled account) is
// ErrBadCredentials and takes as long, so the answer reveals nothing about
// which accounts exist. A hash made with a lower cost than configured is
// replaced on success.
func (a *Accounts) CheckCitizenPassword(ctx context.Context, username, password string) (Citizen, error) {
	c, hash, err := scanCitizen(a.db.QueryRowContext(ctx, `SELECT `+citizenColumns+` FROM auth_citizens WHERE username = $1`,
		strings.ToLower(strings.TrimSpace(username))))
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			return Citizen{}, fmt.Errorf("auth: sign in: %w", err)
		}
		if err := a.verifyDummy(ctx, password); err != nil {
			return Citizen{}, err
		}
		return Citizen{}, ErrBadCredentials
	}
	if err := a.checkPassword(ctx, "auth_citizens", c.ID, hash, password, c.Disabled); err != nil {
		return Citizen{}, err
	}
	return c, nil
}

func (a *Accounts) checkPassword(ctx context.Context, table, id, hash, password string, disabled bool) error {
	release, err := a.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	ok, rehash, err := VerifyPassword(password, hash, a.params)
	if err != nil {
		a.log.Error("stored password hash unreadable", zap.String("table", table), zap.String("id", id), zap.Error(err))
		return ErrBadCredentials
	}
	if !ok || disabled {
		return ErrBadCredentials
	}
	if rehash {
		if h, err := HashPassword(password, a.params); err == nil {
			// The table name is one of two constants, never input.
			_, _ = a.db.ExecContext(ctx, `UPDATE `+table+` SET password_hash = $1, updated_at = $2 WHERE id = $3`, h, a.now().UnixMicro(), id)
		}
	}
	return nil
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// CreateServant registers a civil servant with a work user name (3 to 64
// lower-case letters, digits, '.', '_', '-') and password.
func (a *Accounts) CreateServant(ctx context.Context, s Servant, password string) (Servant, error) {
	s.Username = strings.ToLower(strings.TrimSpace(s.Username))
	if !usernamePattern.MatchString(s.Username) {
		return Servant{}, invalidAccount("user name: 3 to 64 lower-case letters, digits, '.', '_' or '-'")
	}
	if !nameOK(s.GivenName) || !nameOK(s.FamilyName) {
		return Servant{}, invalidAccount("given and family names are required, at most 100 bytes each")
	}
	if err := CheckPasswordRules(password); err != nil {
		return Servant{}, err
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		return Servant{}, err
	}
	now := a.now().UTC().Truncate(time.Microsecond)
	s.ID, s.CreatedAt = newAccountID(), now
	_, err = a.db.ExecContext(ctx,
		`INSERT INTO auth_servants (id, username, given_name, family_name, password_hash, disabled, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
		s.ID, s.Username, s.GivenName, s.FamilyName, hash, s.Disabled, now.UnixMicro())
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConflict) {
		return Servant{}, ErrAccountExists
	} else if err != nil {
		return Servant{}, fmt.Errorf("auth: create servant: %w", err)
	}
	a.log.Info("servant account created", zap.String("id", s.ID), zap.String("username", s.Username))
	return s, nil
}

// Servant returns the servant with the given id.
func (a *Accounts) Servant(ctx context.Context, id string) (Servant, error) {
	var s Servant
	var created int64
	err := a.db.QueryRowContext(ctx,
		`SELECT id, username, given_name, family_name, disabled, created_at FROM auth_servants WHERE id = $1`, id).
		Scan(&s.ID, &s.Username, &s.GivenName, &s.FamilyName, &s.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Servant{}, ErrNoSuchAccount
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	return s, err
}

// CheckServantPassword signs a servant in; failures are ErrBadCredentials,
// as for citizens.
func (a *Accounts) CheckServantPassword(ctx context.Context, username, password string) (Servant, error) {
	var s Servant
	var created int64
	var hash string
	err := a.db.QueryRowContext(ctx,
		`SELECT id, username, given_name, family_name, disabled, created_at, password_hash FROM auth_servants WHERE username = $1`,
		strings.ToLower(strings.TrimSpace(username))).Scan(&s.ID, &s.Username, &s.GivenName, &s.FamilyName, &s.Disabled, &created, &hash)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			return Servant{}, fmt.Errorf("auth: sign in: %w", err)
		}
		if err := a.verifyDummy(ctx, password); err != nil {
			return Servant{}, err
		}
		return Servant{}, ErrBadCredentials
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	if err := a.checkPassword(ctx, "auth_servants", s.ID, hash, password, s.Disabled); err != nil {
		return Servant{}, err
	}
	return s, nil
}

// Grant records an authorization for a servant.
func (a *Accounts) Grant(ctx context.Context, z Authorization) (Authorization, error) {
	if z.ServantID == "" || !nameOK(z.Agency) || !nameOK(z.Service) || !nameOK(z.Role) || !nameOK(z.GrantedBy) {
		return Authorization{}, invalidAccount("servant, agency, service, role and grantor are required")
	}
	if z.ValidFrom.IsZero() {
		z.ValidFrom = a.now()
	}
	if !z.ValidUntil.IsZero() && !z.ValidUntil.After(z.ValidFrom) {
		return Authorization{}, invalidAccount("an authorization must end after it starts")
	}
	z.ID, z.RevokedAt = newAccountID(), time.Time{}
	z.ValidFrom = z.ValidFrom.UTC().Truncate(time.Microsecond)
	until := int64(0)
	if !z.ValidUntil.IsZero() {
		z.ValidUntil = z.ValidUntil.UTC().Truncate(time.Microsecond)
		until = z.ValidUntil.UnixMicro()
	}
	_, err := a.db.ExecContext(ctx,
		`INSERT INTO auth_servant_authorizations (id, servant_id, agency, service, role, valid_from, valid_until, granted_by, revoked_at, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)`,
		z.ID, z.ServantID, z.Agency, z.Service, z.Role, z.ValidFrom.UnixMicro(), until, z.GrantedBy, a.now().UnixMicro())
	if err = sqlstore.MapError(err); errors.Is(err, sqlstore.ErrConstraint) {
		return Authorization{}, ErrNoSuchAccount
	} else if err != nil {
		return Authorization{}, fmt.Errorf("auth: grant: %w", err)
	}
	a.log.Info("authorization granted", zap.String("servant_id", z.ServantID), zap.String("agency", z.Agency),
		zap.String("service", z.Service), zap.String("role", z.Role), zap.String("granted_by", z.GrantedBy))
	return z, nil
}

// RevokeAuthorization ends an authorization at once; it is absent from the
// next token and from introspection on every instance.
func (a *Accounts) RevokeAuthorization(ctx context.Context, id string) error {
	res, err := a.db.ExecContext(ctx,
		`UPDATE auth_servant_authorizations SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, a.now().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("auth: revoke authorization: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSuchAccount
	}
	a.log.Info("authorization revoked", zap.String("id", id))
	return nil
}

// ActiveAuthorizations lists the servant's authorizations valid at t and
// not revoked, ordered by agency, service and role (byte order, the same on
// every engine whatever the database's collation).
func (a *Accounts) ActiveAuthorizations(ctx context.Context, servantID string, t time.Time) ([]Authorization, error) {
	at := t.UnixMicro()
	rows, err := a.db.QueryContext(ctx,
		`SELECT id, agency, service, role, valid_from, valid_until, granted_by FROM auth_servant_authorizations
		 WHERE servant_id = $1 AND revoked_at = 0 AND valid_from <= $2 AND (valid_until = 0 OR valid_until > $2)
		`, servantID, at)
	if err != nil {
		return nil, fmt.Errorf("auth: authorizations: %w", err)
	}
	defer rows.Close()
	var out []Authorization
	for rows.Next() {
		z := Authorization{ServantID: servantID}
		var from, until int64
		if err := rows.Scan(&z.ID, &z.Agency, &z.Service, &z.Role, &from, &until, &z.GrantedBy); err != nil {
			return nil, err
		}
		z.ValidFrom = time.UnixMicro(from).UTC()
		if until != 0 {
			z.ValidUntil = time.UnixMicro(until).UTC()
		}
		out = append(out, z)
	}
	slices.SortFunc(out, func(x, y Authorization) int {
		return cmp.Or(strings.Compare(x.Agency, y.Agency), strings.Compare(x.Service, y.Service), strings.Compare(x.Role, y.Role))
	})
	return out, rows.Err()
}
