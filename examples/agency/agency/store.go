package agency

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// dbTimeout bounds every call to the applications' table.
const dbTimeout = 5 * time.Second

// errNoApplication: no application has that id.
var errNoApplication = errors.New("agency: no such application")

// schema is the applications' table, in SQL that SQLite and PostgreSQL
// both take. A later change of shape would come as a numbered migration
// of its own; this example has had one shape.
const schema = `CREATE TABLE IF NOT EXISTS agency_applications (
	id                 TEXT PRIMARY KEY,
	owner              TEXT NOT NULL,
	tax_number         TEXT NOT NULL,
	created_at         TEXT NOT NULL,
	state              TEXT NOT NULL,
	why                TEXT NOT NULL DEFAULT '',
	consent_id         TEXT NOT NULL DEFAULT '',
	exchange_id        TEXT NOT NULL DEFAULT '',
	certificate        TEXT NOT NULL DEFAULT '',
	upload             TEXT NOT NULL DEFAULT '',
	declaration_id     TEXT NOT NULL DEFAULT '',
	declaration_number TEXT NOT NULL DEFAULT '',
	declaration_code   TEXT NOT NULL DEFAULT ''
)`

// authzSchema is the applications' authorizations, one at most each: a
// table of its own, so that databases made before it need no change.
const authzSchema = `CREATE TABLE IF NOT EXISTS agency_authorizations (
	application_id TEXT PRIMARY KEY,
	document_id    TEXT NOT NULL,
	grantee_afm    TEXT NOT NULL,
	grantee_name   TEXT NOT NULL,
	valid_until    TEXT NOT NULL,
	number         TEXT NOT NULL DEFAULT '',
	code           TEXT NOT NULL DEFAULT ''
)`

// store keeps the applications in the agency's database, so that a
// restart loses none.
type store struct{ db *sql.DB }

func newStore(ctx context.Context, db *sql.DB) (*store, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	for _, stmt := range []string{schema, authzSchema} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("agency: the applications' tables: %w", err)
		}
	}
	return &store{db: db}, nil
}

const columns = `id, owner, tax_number, created_at, state, why, consent_id, exchange_id, certificate, upload,
	declaration_id, declaration_number, declaration_code`

func (s *store) create(ctx context.Context, app *application) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	vals, err := app.values()
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO agency_applications (`+columns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, vals...)
	if err != nil {
		return fmt.Errorf("agency: store the application: %w", err)
	}
	return nil
}

func (s *store) get(ctx context.Context, id string) (*application, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var app application
	var created, cert, up string
	err := s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM agency_applications WHERE id = $1`, id).Scan(
		&app.ID, &app.Owner, &app.TaxNumber, &created, &app.State, &app.Why, &app.ConsentID, &app.Exchange,
		&cert, &up, &app.DeclarationID, &app.DeclarationNumber, &app.DeclarationCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoApplication
	}
	if err != nil {
		return nil, fmt.Errorf("agency: read the application: %w", err)
	}
	if app.Created, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return nil, fmt.Errorf("agency: the application's date: %w", err)
	}
	if cert != "" {
		app.Certificate = new(certificate)
		if err := json.Unmarshal([]byte(cert), app.Certificate); err != nil {
			return nil, fmt.Errorf("agency: the application's certificate: %w", err)
		}
	}
	if up != "" {
		app.Upload = new(upload)
		if err := json.Unmarshal([]byte(up), app.Upload); err != nil {
			return nil, fmt.Errorf("agency: the application's upload: %w", err)
		}
	}
	return &app, nil
}

// update writes app over the stored one if that one is still in state
// from, and says whether it was: of two requests that change the same
// application at once, one wins and the other learns so.
func (s *store) update(ctx context.Context, app *application, from string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	vals, err := app.values()
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE agency_applications SET state = $5, why = $6, consent_id = $7,
		exchange_id = $8, certificate = $9, upload = $10, declaration_id = $11, declaration_number = $12,
		declaration_code = $13 WHERE id = $1 AND owner = $2 AND tax_number = $3 AND created_at = $4 AND state = $14`,
		append(vals, from)...)
	if err != nil {
		return false, fmt.Errorf("agency: update the application: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("agency: update the application: %w", err)
	}
	return n == 1, nil
}

// values are app's columns in the order of columns.
func (app *application) values() ([]any, error) {
	var cert, up []byte
	var err error
	if app.Certificate != nil {
		if cert, err = json.Marshal(app.Certificate); err != nil {
			return nil, err
		}
	}
	if app.Upload != nil {
		if up, err = json.Marshal(app.Upload); err != nil {
			return nil, err
		}
	}
	return []any{app.ID, app.Owner, app.TaxNumber, app.Created.UTC().Format(time.RFC3339Nano), app.State, app.Why,
		app.ConsentID, app.Exchange, string(cert), string(up), app.DeclarationID, app.DeclarationNumber,
		app.DeclarationCode}, nil
}

// authorization returns the application's authorization, or nil when it
// has none.
func (s *store) authorization(ctx context.Context, appID string) (*authorization, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var z authorization
	var until string
	err := s.db.QueryRowContext(ctx, `SELECT document_id, grantee_afm, grantee_name, valid_until, number, code
		FROM agency_authorizations WHERE application_id = $1`, appID).Scan(
		&z.DocumentID, &z.GranteeAFM, &z.GranteeName, &until, &z.Number, &z.Code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agency: read the authorization: %w", err)
	}
	if z.ValidUntil, err = time.Parse(time.RFC3339, until); err != nil {
		return nil, fmt.Errorf("agency: the authorization's end: %w", err)
	}
	return &z, nil
}

// putAuthorization writes the application's authorization over the one
// it had, unless that one was issued: an issued authorization stays, and
// putting another is errAuthorizationIssued.
func (s *store) putAuthorization(ctx context.Context, appID string, z *authorization) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	res, err := s.db.ExecContext(ctx, `INSERT INTO agency_authorizations
		(application_id, document_id, grantee_afm, grantee_name, valid_until, number, code)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (application_id) DO UPDATE SET document_id = excluded.document_id,
			grantee_afm = excluded.grantee_afm, grantee_name = excluded.grantee_name,
			valid_until = excluded.valid_until, number = excluded.number, code = excluded.code
		WHERE agency_authorizations.number = '' OR agency_authorizations.document_id = excluded.document_id`,
		appID, z.DocumentID, z.GranteeAFM, z.GranteeName, z.ValidUntil.UTC().Format(time.RFC3339), z.Number, z.Code)
	if err != nil {
		return fmt.Errorf("agency: store the authorization: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errAuthorizationIssued
	}
	return nil
}

// errAuthorizationIssued: the application's authorization was issued
// meanwhile, by another tab.
var errAuthorizationIssued = errors.New("agency: the application's authorization is issued already")
