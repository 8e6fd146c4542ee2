package consent

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/egovkit/egovkit/internal/keys"
)

// SigningKeys sign receipts; their public half is published as a JWK Set
// against which anyone verifies a receipt. NewSigningKeys returns them;
// the methods are those a Service calls, so a key service of your own
// (an HSM, a cloud KMS) can stand in.
type SigningKeys interface {
	// Sign returns a compact JWS of payload signed with the active key;
	// headers add protected headers, such as "typ".
	Sign(ctx context.Context, payload []byte, headers ...func(jws.Headers) error) ([]byte, error)
	// PublicSet returns the public keys verifiers should accept now.
	PublicSet(ctx context.Context) (jwk.Set, error)
	// JWKSHandler serves PublicSet as a JWK Set document.
	JWKSHandler() http.Handler
}

// Signature algorithms of NewSigningKeys (WithAlgorithm).
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// NewSigningKeys opens the key set "consent" in db, its private keys
// encrypted under the 32-byte key-encryption key kek and rotated with
// overlap; every instance sharing the database signs with the same keys.
// It takes WithAlgorithm and WithLogger.
func NewSigningKeys(ctx context.Context, db *sql.DB, kek []byte, opts ...Option) (SigningKeys, error) {
	o := collect(opts)
	var kopts []keys.Option
	switch o.alg {
	case "", ES256:
		kopts = append(kopts, keys.WithAlgorithm(keys.ES256))
	case EdDSA:
		kopts = append(kopts, keys.WithAlgorithm(keys.EdDSA))
	default:
		return nil, fmt.Errorf("consent: signature algorithm %q: ES256 or EdDSA", o.alg)
	}
	if o.logger != nil {
		kopts = append(kopts, keys.WithLogger(o.logger))
	}
	return keys.New(ctx, db, "consent", kek, kopts...)
}

// ReceiptType is the "typ" header of receipts.
const ReceiptType = "consent-receipt+jwt"

// ReceiptVersion is the Kantara Consent Receipt specification receipts
// follow.
const ReceiptVersion = "KI-CR-v1.1.0"

// Receipt is the payload of a signed receipt: the fields of the Kantara
// Initiative Consent Receipt Specification v1.1, with the JWT claims iss,
// iat and jti. The principal is the citizen's pseudonym, not their tax
// number, so a receipt shown to a third party discloses no identifier.
type Receipt struct {
	Issuer           string              `json:"iss"`
	IssuedAt         int64               `json:"iat"`
	JTI              string              `json:"jti"`
	Version          string              `json:"version"`
	Jurisdiction     string              `json:"jurisdiction"`
	ConsentTimestamp int64               `json:"consentTimestamp"`
	CollectionMethod string              `json:"collectionMethod"`
	ConsentReceiptID string              `json:"consentReceiptID"`
	Language         string              `json:"language"`
	PIIPrincipalID   string              `json:"piiPrincipalId"`
	PIIControllers   []ReceiptController `json:"piiControllers"`
	PolicyURL        string              `json:"policyUrl"`
	Services         []ReceiptService    `json:"services"`
	Sensitive        bool                `json:"sensitive"`
	SPICat           []string            `json:"spiCat"`
	// Beyond the specification: the consent's state when the receipt was
	// made, its validity window (Unix seconds) and its use limit (0 for
	// unlimited).
	State      State  `json:"state"`
	ValidFrom  int64  `json:"validFrom"`
	ValidUntil int64  `json:"validUntil"`
	MaxUses    int    `json:"maxUses"`
	LegalBasis string `json:"legalBasis"`
	NoticeHash string `json:"noticeHash"`
}

// ReceiptController is a PII controller of a receipt: the requester.
type ReceiptController struct {
	PIIController string `json:"piiController"`
	OnBehalf      bool   `json:"onBehalf"`
	Contact       string `json:"contact"`
}

// ReceiptService is a service of a receipt: the source, its purposes and
// the categories of data (the items).
type ReceiptService struct {
	Service  string           `json:"service"`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose is a purpose of a receipt's service.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty"`
}

// receipt builds the payload of r's receipt in lang.
func (s *Service) receipt(r *Record, lang string) Receipt {
	at := r.Evidence.At
	if at.IsZero() {
		at = r.CreatedAt
	}
	method := "online, signed in at " + r.Evidence.LoA
	thirdParty := ""
	for i, name := range r.Recipients {
		if i > 0 {
			thirdParty += ", "
		}
		thirdParty += name
	}
	maxUses := r.MaxUses
	if maxUses == Unlimited {
		maxUses = 0
	}
	return Receipt{
		Issuer: s.cfg.Issuer, IssuedAt: s.now().Unix(), JTI: r.ID,
		Version: ReceiptVersion, Jurisdiction: s.cfg.Jurisdiction, ConsentTimestamp: at.Unix(),
		CollectionMethod: method, ConsentReceiptID: r.ID, Language: lang, PIIPrincipalID: r.Subject,
		PIIControllers: []ReceiptController{{PIIController: r.Requester.Organisation, Contact: r.Requester.Client}},
		PolicyURL:      s.cfg.PolicyURL,
		Services: []ReceiptService{{
			Service: r.Source.Registry + " / " + r.Source.Service,
			Purposes: []ReceiptPurpose{{
				Purpose: r.Purpose.Text.In(lang), PurposeCategory: []string{r.Purpose.Code}, ConsentType: "EXPLICIT",
				PIICategory: r.ItemIDs(), PrimaryPurpose: true, Termination: r.Withdrawal,
				ThirdPartyDisclosure: len(r.Recipients) > 0, ThirdPartyName: thirdParty,
			}},
		}},
		SPICat: []string{}, State: r.State, ValidFrom: r.ValidFrom.Unix(), ValidUntil: r.ValidUntil.Unix(),
		MaxUses: maxUses, LegalBasis: r.LegalBasis, NoticeHash: r.Notice.Hash,
	}
}

// Receipt returns the signed receipt (a compact JWS of a Receipt, typ
// ReceiptType) of the citizen's consent id, in the language of the notice
// they read. Only a consent the citizen authorised has one: a request
// never answered or refused is a *StateError.
func (s *Service) Receipt(ctx context.Context, c Citizen, id string) (string, error) {
	if s.cfg.Keys == nil {
		return "", ErrNoKeys
	}
	r, err := s.Get(ctx, c, id)
	if err != nil {
		return "", err
	}
	if r.State == StateAwaitingAuthorisation || r.State == StateRejected {
		return "", &StateError{ID: id, State: r.State, Action: "receipt"}
	}
	lang := r.Notice.Language
	if lang == "" {
		lang = "el"
	}
	payload, err := json.Marshal(s.receipt(r, lang))
	if err != nil {
		return "", fmt.Errorf("consent: receipt: %w", err)
	}
	tok, err := s.cfg.Keys.Sign(ctx, payload, keys.WithType(ReceiptType))
	if err != nil {
		return "", fmt.Errorf("consent: receipt: %w", err)
	}
	return string(tok), nil
}

// JWKSHandler serves the public keys receipts are verified against, or
// 404 when the service has no signing keys.
func (s *Service) JWKSHandler() http.Handler {
	if s.cfg.Keys == nil {
		return http.NotFoundHandler()
	}
	return s.cfg.Keys.JWKSHandler()
}
