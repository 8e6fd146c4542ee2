package auth

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Upstream is another identity provider people can sign in with instead of
// a password: a bank's OpenID Connect log-in, or a legacy OAuth2 service.
// The person is linked to their citizen account by the tax number the
// upstream vouches for. Build one with NewOIDCUpstream or
// NewLegacyUpstream, or implement it for another kind of provider.
type Upstream interface {
	// ID names the upstream in URLs and logs: letters, digits, '-'.
	ID() string
	// Name is shown on the sign-in page's button.
	Name() string
	// AuthURL is where to send the browser. redirectURI is the provider's
	// upstream callback; state, nonce and the PKCE verifier are fresh for
	// this sign-in.
	AuthURL(ctx context.Context, redirectURI, state, nonce, verifier string) (string, error)
	// Exchange turns the code the upstream sent back into the identity it
	// vouches for.
	Exchange(ctx context.Context, redirectURI, code, nonce, verifier string) (UpstreamIdentity, error)
}

// UpstreamIdentity is who an upstream says the person is.
type UpstreamIdentity struct {
	Subject    string // the upstream's own identifier
	AFM        string // the tax number, which links the citizen account
	GivenName  string
	FamilyName string
	FatherName string
	MotherName string
	BirthYear  string
	// ACR is the level of assurance in this provider's terms (already
	// mapped): LoALow or LoASubstantial.
	ACR string
	// AMR lists how the person authenticated upstream (RFC 8176).
	AMR []string
}

var upstreamIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// OIDCUpstreamConfig configures an upstream OpenID Connect provider.
type OIDCUpstreamConfig struct {
	ID, Name string
	// Issuer is the upstream's issuer URL; its endpoints and keys are
	// discovered from it.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes asked for besides "openid".
	Scopes []string
	// TaxIDClaim names the claim carrying the Greek tax number (AFM),
	// read from the ID token or else from UserInfo; empty means "afm".
	TaxIDClaim string
	// ACRMap maps the upstream's acr values to this provider's levels.
	// An acr not in the map, or none, counts as LoALow; nothing maps
	// above LoASubstantial.
	ACRMap map[string]string
	// HTTPClient talks to the upstream; nil means a client with a
	// 10-second timeout.
	HTTPClient *http.Client
}

type oidcUpstream struct {
	cfg      OIDCUpstreamConfig
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// NewOIDCUpstream discovers the upstream provider and returns it as an
// Upstream. The code flow uses PKCE (S256), state and nonce; the ID token
// is verified against the upstream's published keys.
func NewOIDCUpstream(ctx context.Context, cfg OIDCUpstreamConfig) (Upstream, error) {
	if !upstreamIDPattern.MatchString(cfg.ID) || cfg.Name == "" || cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("auth: an OIDC upstream needs an ID (a-z, 0-9, -), a Name, an Issuer and a ClientID")
	}
	if cfg.TaxIDClaim == "" {
		cfg.TaxIDClaim = "afm"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: upstream %s: %w", cfg.ID, err)
	}
	return &oidcUpstream{cfg: cfg, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID})}, nil
}

func (u *oidcUpstream) ID() string   { return u.cfg.ID }
func (u *oidcUpstream) Name() string { return u.cfg.Name }

func (u *oidcUpstream) oauth(redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: u.cfg.ClientID, ClientSecret: u.cfg.ClientSecret, Endpoint: u.provider.Endpoint(),
		RedirectURL: redirectURI, Scopes: append([]string{oidc.ScopeOpenID}, u.cfg.Scopes...)}
}

func (u *oidcUpstream) AuthURL(_ context.Context, redirectURI, state, nonce, verifier string) (string, error) {
	return u.oauth(redirectURI).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

func (u *oidcUpstream) Exchange(ctx context.Context, redirectURI, code, nonce, verifier string) (UpstreamIdentity, error) {
	ctx = oidc.ClientContext(ctx, u.cfg.HTTPClient)
	conf := u.oauth(redirectURI)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: token: %w", u.cfg.ID, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := u.verifier.Verify(ctx, raw)
	if err != nil {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: ID token: %w", u.cfg.ID, err)
	}
	if idt.Nonce != nonce {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: ID token nonce does not match", u.cfg.ID)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return UpstreamIdentity{}, err
	}
	if _, ok := claims[u.cfg.TaxIDClaim]; !ok {
		info, err := u.provider.UserInfo(ctx, conf.TokenSource(ctx, tok))
		if err != nil {
			return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: userinfo: %w", u.cfg.ID, err)
		}
		more := map[string]any{}
		if err := info.Claims(&more); err != nil {
			return UpstreamIdentity{}, err
		}
		if info.Subject != idt.Subject {
			return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: userinfo is about another subject", u.cfg.ID)
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	str := func(k string) string { s, _ := claims[k].(string); return strings.TrimSpace(s) }
	id := UpstreamIdentity{Subject: idt.Subject, AFM: str(u.cfg.TaxIDClaim), GivenName: str("given_name"),
		FamilyName: str("family_name"), FatherName: str("father_name"), MotherName: str("mother_name"), ACR: LoALow}
	if b := str("birthdate"); len(b) >= 4 {
		id.BirthYear = b[:4]
	}
	if mapped, ok := u.cfg.ACRMap[str("acr")]; ok && (mapped == LoALow || mapped == LoASubstantial) {
		id.ACR = mapped
	}
	if list, ok := claims["amr"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				id.AMR = append(id.AMR, s)
			}
		}
	}
	return id, nil
}

// LegacyUpstreamConfig configures a legacy OAuth2 provider whose user
// information is an XML document, in the shape of the Greek tax
// administration's (TAXISnet) service:
//
//	<root><userinfo userid="…" taxid="…" lastname="…" firstname="…"
//	  fathername="…" mothername="…" birthyear="…"/></root>
type LegacyUpstreamConfig struct {
	ID, Name     string
	AuthURL      string
	TokenURL     string
	UserInfoURL  string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// ACR is the level a sign-in there counts as; empty means LoALow.
	ACR        string
	HTTPClient *http.Client
}

type legacyUpstream struct{ cfg LegacyUpstreamConfig }

// NewLegacyUpstream returns a legacy OAuth2 provider as an Upstream: the
// code flow (with state, and PKCE sent too, which such providers ignore),
// then a GET of the XML user document with the access token.
func NewLegacyUpstream(cfg LegacyUpstreamConfig) (Upstream, error) {
	if !upstreamIDPattern.MatchString(cfg.ID) || cfg.Name == "" || cfg.AuthURL == "" || cfg.TokenURL == "" || cfg.UserInfoURL == "" || cfg.ClientID == "" {
		return nil, errors.New("auth: a legacy upstream needs an ID, a Name, the three URLs and a ClientID")
	}
	switch cfg.ACR {
	case "":
		cfg.ACR = LoALow
	case LoALow, LoASubstantial:
	default:
		return nil, fmt.Errorf("auth: legacy upstream %s: ACR must be LoALow or LoASubstantial", cfg.ID)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &legacyUpstream{cfg: cfg}, nil
}

func (u *legacyUpstream) ID() string   { return u.cfg.ID }
func (u *legacyUpstream) Name() string { return u.cfg.Name }

func (u *legacyUpstream) oauth(redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: u.cfg.ClientID, ClientSecret: u.cfg.ClientSecret, RedirectURL: redirectURI, Scopes: u.cfg.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: u.cfg.AuthURL, TokenURL: u.cfg.TokenURL}}
}

func (u *legacyUpstream) AuthURL(_ context.Context, redirectURI, state, _, verifier string) (string, error) {
	return u.oauth(redirectURI).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

// legacyUserInfo is the XML user document.
type legacyUserInfo struct {
	XMLName  xml.Name `xml:"root"`
	UserInfo struct {
		UserID     string `xml:"userid,attr"`
		TaxID      string `xml:"taxid,attr"`
		LastName   string `xml:"lastname,attr"`
		FirstName  string `xml:"firstname,attr"`
		FatherName string `xml:"fathername,attr"`
		MotherName string `xml:"mothername,attr"`
		BirthYear  string `xml:"birthyear,attr"`
	} `xml:"userinfo"`
}

func (u *legacyUpstream) Exchange(ctx context.Context, redirectURI, code, _, verifier string) (UpstreamIdentity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, u.cfg.HTTPClient)
	tok, err := u.oauth(redirectURI).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: token: %w", u.cfg.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.cfg.UserInfoURL, nil)
	if err != nil {
		return UpstreamIdentity{}, err
	}
	tok.SetAuthHeader(req)
	resp, err := u.cfg.HTTPClient.Do(req)
	if err != nil {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: userinfo: %w", u.cfg.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: userinfo answered %s", u.cfg.ID, resp.Status)
	}
	var doc legacyUserInfo
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc); err != nil {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: userinfo: %w", u.cfg.ID, err)
	}
	ui := doc.UserInfo
	id := UpstreamIdentity{
		Subject: strings.TrimSpace(ui.UserID), AFM: strings.TrimSpace(ui.TaxID),
		GivenName: strings.TrimSpace(ui.FirstName), FamilyName: strings.TrimSpace(ui.LastName),
		FatherName: strings.TrimSpace(ui.FatherName), MotherName: strings.TrimSpace(ui.MotherName),
		BirthYear: strings.TrimSpace(ui.BirthYear), ACR: u.cfg.ACR, AMR: []string{amrPassword},
	}
	if id.Subject == "" || id.AFM == "" {
		return UpstreamIdentity{}, fmt.Errorf("auth: upstream %s: the user document has no userid or taxid", u.cfg.ID)
	}
	return id, nil
}
