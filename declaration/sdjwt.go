package declaration

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Every issued document is also an SD-JWT VC (RFC 9901 and the SD-JWT VC
// draft that the EU digital identity wallet follows): the issuer signs
// digests of the claims, each claim travels as a separate disclosure, and
// the citizen's wallet presents only the disclosures a verifier needs,
// such as the protocol number and the names without the text.

// SDJWTType is the "typ" of the SD-JWT VC form of a document.
const SDJWTType = "dc+sd-jwt"

// StatusListType is the "typ" of the status list token.
const StatusListType = "statuslist+jwt"

// VCT is the credential type of a kind of document ("vct").
func (s *Service) VCT(d *Document) string {
	if d.Draft.Kind == KindTemplate {
		return s.cfg.BaseURL + "/vct/template/" + d.Draft.Template
	}
	return s.cfg.BaseURL + "/vct/" + d.Draft.Kind
}

// disclosable lists a document's claims in the order they are disclosed.
func (s *Service) disclosable(d *Document) [][2]any {
	var out [][2]any
	add := func(name string, v any) {
		if str, ok := v.(string); ok && str == "" {
			return
		}
		out = append(out, [2]any{name, v})
	}
	p := d.Declarant
	add("issuer_name", d.Issuer)
	add("kind", d.Draft.Kind)
	add("protocol", d.Protocol)
	add("verification_code", d.Code)
	add("given_name", p.GivenName)
	add("family_name", p.FamilyName)
	add("father_name", p.FatherName)
	add("mother_name", p.MotherName)
	add("birthdate", p.BirthDate)
	add("afm", p.AFM)
	add("id_card", p.IDCard)
	add("lang", d.Draft.Lang)
	add("recipient", d.Draft.Recipient)
	if d.Draft.Kind == KindSolemn {
		add("statutory", StatutoryWording.In(d.Draft.Lang))
	}
	add("text", d.Draft.Text)
	if g := d.Draft.Grantee; g != nil {
		add("grantee_afm", g.AFM)
		add("grantee_name", g.Name)
	}
	if !d.Draft.ValidUntil.IsZero() {
		add("valid_until", d.Draft.ValidUntil.UTC().Format(time.RFC3339))
	}
	if d.Draft.Template != "" {
		add("template", d.Draft.Template)
		if len(d.Draft.Fields) > 0 {
			add("fields", d.Draft.Fields)
		}
	}
	return out
}

// sdJWT signs the document as an SD-JWT VC with its status-list index and
// returns the compact form with every disclosure: issuer-signed JWT, then
// "~disclosure" for each claim, then "~".
func (s *Service) sdJWT(ctx context.Context, d *Document, statusIdx int64) (string, error) {
	claims := s.disclosable(d)
	salts := make([]byte, 16*len(claims))
	if _, err := rand.Read(salts); err != nil {
		return "", err
	}
	discs := make([]string, 0, len(claims))
	digests := make([]string, 0, len(claims))
	for i, c := range claims {
		salt := base64.RawURLEncoding.EncodeToString(salts[16*i : 16*i+16])
		var b []byte
		var err error
		if text, ok := c[1].(string); ok {
			b, err = json.Marshal([3]string{salt, c[0].(string), text})
		} else {
			b, err = json.Marshal([3]any{salt, c[0], c[1]})
		}
		if err != nil {
			return "", err
		}
		disc := base64.RawURLEncoding.EncodeToString(b)
		sum := sha256.Sum256([]byte(disc))
		discs = append(discs, disc)
		digests = append(digests, base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	slices.Sort(digests) // the order must not tell which digest is which claim
	payload := sdPayload{Iss: s.cfg.BaseURL, Iat: d.IssuedAt.Unix(), Vct: s.VCT(d), SDAlg: "sha-256", SD: digests}
	payload.Status.StatusList.Idx, payload.Status.StatusList.URI = statusIdx, s.cfg.StatusListURL
	if !d.Draft.ValidUntil.IsZero() {
		payload.Exp = d.Draft.ValidUntil.Unix()
	}
	jwt, err := s.signJSON(ctx, payload, SDJWTType)
	if err != nil {
		return "", err
	}
	return jwt + "~" + strings.Join(discs, "~") + "~", nil
}

// sdPayload is what the issuer signs of an SD-JWT VC: the digests of the
// disclosures and the claims that are always visible.
type sdPayload struct {
	Iss    string   `json:"iss"`
	Iat    int64    `json:"iat"`
	Exp    int64    `json:"exp,omitempty"`
	Vct    string   `json:"vct"`
	SDAlg  string   `json:"_sd_alg"`
	SD     []string `json:"_sd"`
	Status struct {
		StatusList struct {
			Idx int64  `json:"idx"`
			URI string `json:"uri"`
		} `json:"status_list"`
	} `json:"status"`
}

// StatusListTTL is how long a verifier may keep a status list.
const StatusListTTL = time.Minute

// StatusList returns the issuer's status list as a signed token (Token
// Status List, one bit per issued document: 1 means revoked), which
// wallets and verifiers of the SD-JWT VC fetch from Config.StatusListURL.
// It is made afresh on every call, so a revocation shows at once.
func (s *Service) StatusList(ctx context.Context) (string, error) {
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT last FROM declaration_status WHERE issuer = $1`, s.cfg.Issuer).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("declaration: status list: %w", err)
	}
	bits := make([]byte, (last+7)/8+1)
	rows, err := s.db.QueryContext(ctx, `SELECT status_idx FROM declaration_documents WHERE issuer = $1 AND state = $2 AND status_idx >= 0`,
		s.cfg.Issuer, StateRevoked)
	if err != nil {
		return "", fmt.Errorf("declaration: status list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx); err != nil {
			return "", fmt.Errorf("declaration: status list: %w", err)
		}
		if idx/8 < int64(len(bits)) {
			bits[idx/8] |= 1 << (idx % 8)
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("declaration: status list: %w", err)
	}
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(bits)
	w.Close()
	now := s.now()
	tok, err := s.signJSON(ctx, map[string]any{
		"iss": s.cfg.BaseURL, "sub": s.cfg.StatusListURL, "iat": now.Unix(),
		"exp": now.Add(24 * time.Hour).Unix(), "ttl": int(StatusListTTL.Seconds()),
		"status_list": map[string]any{"bits": 1, "lst": base64.RawURLEncoding.EncodeToString(z.Bytes())},
	}, StatusListType)
	if err != nil {
		return "", fmt.Errorf("declaration: status list: %w", err)
	}
	return tok, nil
}
