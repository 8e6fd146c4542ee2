package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
)

// Subject types a client may be registered with.
const (
	SubjectPublic   = "public"
	SubjectPairwise = "pairwise"
)

// sector is the group of sites that see the same pairwise identifiers:
// the client's registered sector, else the host of its redirect URIs,
// else the client itself.
func sector(c Client) string {
	if c.SectorIdentifier != "" {
		return c.SectorIdentifier
	}
	for _, r := range c.RedirectURIs {
		if u, err := url.Parse(r); err == nil && u.Host != "" {
			return u.Hostname()
		}
	}
	return "client:" + c.ID
}

// subjectFor is how client c knows the account local: the account id
// itself, or for a pairwise client an identifier no other sector can link
// to it, remembered so that tokens can be traced back.
func (p *Provider) subjectFor(ctx context.Context, c Client, local string) (string, error) {
	if c.SubjectType != SubjectPairwise {
		return local, nil
	}
	if len(p.cfg.PairwiseSecret) < 32 {
		return "", errors.New("auth: a pairwise client needs ProviderConfig.PairwiseSecret (32 bytes or more)")
	}
	sec := sector(c)
	m := hmac.New(sha256.New, p.cfg.PairwiseSecret)
	m.Write([]byte(p.cfg.Realm + "\x00" + sec + "\x00" + local))
	sub := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	_, err := p.cfg.Clients.db.ExecContext(ctx,
		`INSERT INTO auth_pairwise (realm, sector, sub, subject) VALUES ($1, $2, $3, $4) ON CONFLICT (realm, sector, sub) DO NOTHING`,
		p.cfg.Realm, sec, sub, local)
	if err != nil {
		return "", fmt.Errorf("auth: pairwise subject: %w", err)
	}
	return sub, nil
}

// localSubject maps the subject of a token issued to clientID back to the
// account.
func (p *Provider) localSubject(ctx context.Context, clientID, sub string) (string, error) {
	c, err := p.cfg.Clients.Get(ctx, clientID)
	if err != nil && !errors.Is(err, ErrClientNotFound) {
		return "", err
	}
	if err != nil || c.SubjectType != SubjectPairwise {
		return sub, nil
	}
	var local string
	err = p.cfg.Clients.db.QueryRowContext(ctx,
		`SELECT subject FROM auth_pairwise WHERE realm = $1 AND sector = $2 AND sub = $3`, p.cfg.Realm, sector(c), sub).Scan(&local)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errInvalidToken
	}
	return local, err
}
