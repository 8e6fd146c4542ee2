package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// signinState is a sign-in under way, kept in the database between the
// pages so that any instance can serve the next step.
type signinState struct {
	Params    string    `json:"params"` // the checked authorization request, URL-encoded
	Required  string    `json:"acr_required"`
	Step      string    `json:"step"` // stepPassword or stepCode
	Subject   string    `json:"sub,omitempty"`
	AMR       []string  `json:"amr,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	Challenge string    `json:"challenge,omitempty"`
	Method    string    `json:"method,omitempty"` // methodSMS or methodTOTP, at the code step
	Mobile    string    `json:"mobile,omitempty"` // masked, for the page
	SessionID string    `json:"sid,omitempty"`    // the session being stepped up
	// A sign-in through an upstream provider.
	Upstream   string `json:"upstream,omitempty"`
	UpState    string `json:"up_state,omitempty"`
	UpNonce    string `json:"up_nonce,omitempty"`
	UpVerifier string `json:"up_verifier,omitempty"`
}

const (
	stepPassword = "password"
	stepCode     = "code"

	methodSMS  = "sms"
	methodTOTP = "totp"
)

// session is a single sign-on session.
type session struct {
	SID      string
	Subject  string
	ACR      string
	AMR      []string
	AuthTime time.Time
	Expires  time.Time
}

// signinStore keeps the provider's browser-facing state: sign-ins under
// way, sessions, the clients each session signed in to, failure counts
// and pushed authorization requests.
type signinStore struct {
	db    *sqlstore.DB
	realm string
	now   func() time.Time

	// The statements every sign-in on a session runs, prepared once: on
	// SQLite, parsing the SQL cost as much as running it.
	sessionStmt, sessionClientStmt, addSessionClientStmt *sql.Stmt
}

func newSigninStore(ctx context.Context, db *sqlstore.DB, realm string, now func() time.Time) (*signinStore, error) {
	s := &signinStore{db: db, realm: realm, now: now}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.sessionStmt, `SELECT sid, subject, acr, amr, auth_time, expires_at FROM auth_sessions WHERE realm = $1 AND id_hash = $2`},
		{&s.sessionClientStmt, `SELECT subject FROM auth_session_clients WHERE sid = $1 AND client_id = $2`},
		{&s.addSessionClientStmt, `INSERT INTO auth_session_clients (sid, client_id, subject) VALUES ($1, $2, $3)
		 ON CONFLICT (sid, client_id) DO UPDATE SET subject = excluded.subject`},
	} {
		var err error
		if *p.st, err = db.PrepareContext(ctx, p.sql); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return s, nil
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var errNoSignin = errors.New("auth: sign-in unknown, expired or started in another browser")

func (s *signinStore) createSignin(ctx context.Context, bind string, st signinState, ttl time.Duration) (string, error) {
	id, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	doc, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_signins (realm, id_hash, bind_hash, doc, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.realm, hashID(id), hashID(bind), string(doc), s.now().Add(ttl).UnixMicro())
	if err != nil {
		return "", fmt.Errorf("auth: store sign-in: %w", err)
	}
	return id, nil
}

func (s *signinStore) signin(ctx context.Context, id, bind string) (signinState, error) {
	if id == "" || bind == "" || len(id) > 100 {
		return signinState{}, errNoSignin
	}
	var doc, bindHash string
	var expires int64
	err := s.db.QueryRowContext(ctx,
		`SELECT doc, bind_hash, expires_at FROM auth_signins WHERE realm = $1 AND id_hash = $2`,
		s.realm, hashID(id)).Scan(&doc, &bindHash, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return signinState{}, errNoSignin
	}
	if err != nil {
		return signinState{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	if bindHash != hashID(bind) || s.now().UnixMicro() >= expires {
		return signinState{}, errNoSignin
	}
	var st signinState
	if err := json.Unmarshal([]byte(doc), &st); err != nil {
		return signinState{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	return st, nil
}

func (s *signinStore) updateSignin(ctx context.Context, id string, st signinState) error {
	doc, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE auth_signins SET doc = $1 WHERE realm = $2 AND id_hash = $3`,
		string(doc), s.realm, hashID(id))
	if err != nil {
		return fmt.Errorf("auth: update sign-in: %w", err)
	}
	return nil
}

// finishSignin deletes the sign-in and reports whether this call did, so
// that a form posted twice completes once.
func (s *signinStore) finishSignin(ctx context.Context, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_signins WHERE realm = $1 AND id_hash = $2`, s.realm, hashID(id))
	if err != nil {
		return false, fmt.Errorf("auth: finish sign-in: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *signinStore) createSession(ctx context.Context, subject, acr string, amr []string, authTime time.Time, ttl time.Duration) (cookie string, sess session, err error) {
	cookie, err = newOpaqueToken()
	if err != nil {
		return "", session{}, err
	}
	sid := newTokenID()
	a, err := json.Marshal(amr)
	if err != nil {
		return "", session{}, err
	}
	now := s.now()
	sess = session{SID: sid, Subject: subject, ACR: acr, AMR: amr, AuthTime: authTime.Truncate(time.Second), Expires: now.Add(ttl)}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_sessions (realm, id_hash, sid, subject, acr, amr, auth_time, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.realm, hashID(cookie), sid, subject, acr, string(a), sess.AuthTime.Unix(), now.UnixMicro(), sess.Expires.UnixMicro())
	if err != nil {
		return "", session{}, fmt.Errorf("auth: store session: %w", err)
	}
	return cookie, sess, nil
}

func (s *signinStore) session(ctx context.Context, cookie string) (session, bool, error) {
	if cookie == "" || len(cookie) > 100 {
		return session{}, false, nil
	}
	var sess session
	var amr string
	var authTime, expires int64
	err := s.db.QueryRowStmt(ctx, s.sessionStmt, s.realm, hashID(cookie)).Scan(&sess.SID, &sess.Subject, &sess.ACR, &amr, &authTime, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return session{}, false, nil
	}
	if err != nil {
		return session{}, false, fmt.Errorf("auth: session: %w", err)
	}
	if s.now().UnixMicro() >= expires {
		return session{}, false, nil
	}
	if err := json.Unmarshal([]byte(amr), &sess.AMR); err != nil {
		return session{}, false, fmt.Errorf("auth: session: %w", err)
	}
	sess.AuthTime, sess.Expires = time.Unix(authTime, 0).UTC(), time.UnixMicro(expires).UTC()
	return sess, true, nil
}

// sessionClient is a client a session signed in to.
type sessionClient struct {
	ClientID string
	Subject  string // as the client knows the person
}

// addSessionClient records that the session signed in to the client, so
// that logout reaches it. A session signing in to a client again finds the
// row there and writes nothing: on SQLite a write waits for the single
// writer, a read does not. A logout that deleted the row before the read is
// answered by the insert, as when the row was never there.
func (s *signinStore) addSessionClient(ctx context.Context, sid, clientID, subject string) error {
	var known string
	err := s.db.QueryRowStmt(ctx, s.sessionClientStmt, sid, clientID).Scan(&known)
	if err == nil && known == subject {
		return nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("auth: session client: %w", err)
	}
	_, err = s.db.ExecStmt(ctx, s.addSessionClientStmt, sid, clientID, subject)
	if err != nil {
		return fmt.Errorf("auth: record session client: %w", err)
	}
	return nil
}

// endSession deletes the session with this sid and returns the clients it
// had signed in to; a session already ended returns none, so two logouts
// racing notify the clients once.
func (s *signinStore) endSession(ctx context.Context, sid string) ([]sessionClient, error) {
	var out []sessionClient
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		res, err := tx.ExecContext(ctx, `DELETE FROM auth_sessions WHERE realm = $1 AND sid = $2`, s.realm, sid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM auth_session_clients WHERE sid = $1 RETURNING client_id, subject`, sid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c sessionClient
			if err := rows.Scan(&c.ClientID, &c.Subject); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("auth: end session: %w", err)
	}
	return out, nil
}

// throttleRule limits failures of one kind of key.
type throttleRule struct {
	Limit  int           // failures within Window before a lock
	Window time.Duration // failures older than this are forgotten
	Lock   time.Duration // the first lock; each further failure doubles it
	Max    time.Duration // the longest lock
}

// attempt counts one sign-in attempt against key before the password is
// checked, and says whether it may go ahead: wait is zero when it may,
// and how long the key stays locked when it may not. The count and the
// decision are one transaction holding the key's row, so parallel
// attempts, on one instance or on several sharing the database, are let
// through at most rule.Limit times in a window: the attempt that reaches
// the limit locks the key for the next ones, and after a lock ends one
// more attempt goes through and, counted too, locks for twice as long. A
// refused attempt is not counted. An attempt that succeeds is given back
// with refund (or the key forgotten), so the count is of failures and of
// attempts still being checked.
func (s *signinStore) attempt(ctx context.Context, key string, rule throttleRule) (wait time.Duration, err error) {
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		wait = 0
		var count int
		var windowStart, lockedUntil int64
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO auth_throttle (realm, key_hash, failures, window_start) VALUES ($1, $2, 0, $3)
			 ON CONFLICT (realm, key_hash) DO UPDATE SET key_hash = excluded.key_hash
			 RETURNING failures, window_start, locked_until`,
			s.realm, hashID(key), now.UnixMicro()).Scan(&count, &windowStart, &lockedUntil); err != nil {
			return err
		}
		if d := time.UnixMicro(lockedUntil).Sub(now); d > 0 {
			wait = (d + time.Second - 1).Truncate(time.Second)
			return nil
		}
		if windowStart < now.Add(-rule.Window).UnixMicro() {
			count, windowStart = 0, now.UnixMicro()
		}
		count++
		if count >= rule.Limit {
			lock := rule.Lock
			for i := rule.Limit; i < count && lock < rule.Max; i++ {
				lock *= 2
			}
			lockedUntil = now.Add(min(lock, rule.Max)).UnixMicro()
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE auth_throttle SET failures = $1, window_start = $2, locked_until = $3 WHERE realm = $4 AND key_hash = $5`,
			count, windowStart, lockedUntil, s.realm, hashID(key))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("auth: throttle: %w", err)
	}
	return wait, nil
}

// refund gives back an attempt that did not fail: the password was right,
// or it was never checked. A lock the attempt set is lifted with it when
// the failures left are under the limit.
func (s *signinStore) refund(ctx context.Context, key string, rule throttleRule) error {
	_, err := s.db.ExecContext(ctx,
		`UPDATE auth_throttle SET failures = failures - 1,
		   locked_until = CASE WHEN failures - 1 < $1 THEN 0 ELSE locked_until END
		 WHERE realm = $2 AND key_hash = $3 AND failures > 0`,
		rule.Limit, s.realm, hashID(key))
	if err != nil {
		return fmt.Errorf("auth: throttle: %w", err)
	}
	return nil
}

func (s *signinStore) forget(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM auth_throttle WHERE realm = $1 AND key_hash = $2`, s.realm, hashID(key))
	return err
}

// RequestURIPrefix starts every request_uri the PAR endpoint returns.
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

func (s *signinStore) pushRequest(ctx context.Context, clientID, params string, ttl time.Duration) (string, error) {
	id, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_pushed_requests (realm, id_hash, client_id, params, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.realm, hashID(id), clientID, params, s.now().Add(ttl).UnixMicro())
	if err != nil {
		return "", fmt.Errorf("auth: store pushed request: %w", err)
	}
	return RequestURIPrefix + id, nil
}

var errNoPushedRequest = errors.New("auth: request_uri unknown, expired, used, or pushed by another client")

// takeRequest returns a pushed request's parameters once.
func (s *signinStore) takeRequest(ctx context.Context, requestURI, clientID string) (string, error) {
	id, ok := strings.CutPrefix(requestURI, RequestURIPrefix)
	if !ok || id == "" || len(id) > 100 {
		return "", errNoPushedRequest
	}
	var params, owner string
	var expires int64
	found := false
	err := s.db.WriteRows(ctx,
		`DELETE FROM auth_pushed_requests WHERE realm = $1 AND id_hash = $2 RETURNING client_id, params, expires_at`,
		[]any{s.realm, hashID(id)}, func(rows *sql.Rows) error {
			found = true
			return rows.Scan(&owner, &params, &expires)
		})
	if err != nil {
		return "", fmt.Errorf("auth: pushed request: %w", err)
	}
	if !found {
		return "", errNoPushedRequest
	}
	if owner != clientID || s.now().UnixMicro() >= expires {
		return "", errNoPushedRequest
	}
	return params, nil
}

// purge deletes expired sign-ins, sessions and pushed requests, and
// failure counts whose window started before staleBefore with no lock
// running.
func (s *signinStore) purge(ctx context.Context, before, staleBefore time.Time) (int64, error) {
	var total int64
	b := before.UnixMicro()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM auth_signins WHERE realm = $1 AND expires_at < $2`, []any{s.realm, b}},
		{`DELETE FROM auth_session_clients WHERE sid IN (SELECT sid FROM auth_sessions WHERE realm = $1 AND expires_at < $2)`, []any{s.realm, b}},
		{`DELETE FROM auth_sessions WHERE realm = $1 AND expires_at < $2`, []any{s.realm, b}},
		{`DELETE FROM auth_pushed_requests WHERE realm = $1 AND expires_at < $2`, []any{s.realm, b}},
		{`DELETE FROM auth_throttle WHERE realm = $1 AND locked_until < $2 AND window_start < $3`, []any{s.realm, b, staleBefore.UnixMicro()}},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.args...)
		if err != nil {
			return total, fmt.Errorf("auth: purge: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
