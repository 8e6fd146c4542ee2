package httpsig

// The X-Road REST message protocol's request headers, and the two the
// gateway adds for consent-bound calls. The gateway sets and signs them;
// the provider middleware requires them signed and exposes them. Header
// names are case-insensitive; these are the spellings sent.
const (
	// HeaderClient identifies the calling client subsystem:
	// INSTANCE/CLASS/MEMBER/SUBSYSTEM.
	HeaderClient = "X-Road-Client"
	// HeaderMessageID is the unique id of the message, set by the
	// gateway when the client sent none.
	HeaderMessageID = "X-Road-Id"
	// HeaderUserID is the end user on whose behalf the client calls.
	HeaderUserID = "X-Road-UserId"
	// HeaderIssue is the case (file, issue) the call is part of.
	HeaderIssue = "X-Road-Issue"
	// HeaderConsentID is the consent under which the call is made, for
	// services that need one.
	HeaderConsentID = "Egovkit-Consent-Id"
	// HeaderCitizen is the pseudonym of the citizen the data is about:
	// never the citizen's identifier itself.
	HeaderCitizen = "Egovkit-Citizen-Pseudonym"
	// HeaderContentDigest is RFC 9530's Content-Digest.
	HeaderContentDigest = "Content-Digest"
	// HeaderSignatureInput and HeaderSignature carry RFC 9421 signatures.
	HeaderSignatureInput = "Signature-Input"
	HeaderSignature      = "Signature"
)

// GatewayComponents are the components the gateway covers in every
// forwarded request, and what the provider requires covered: the method,
// the target (authority, path, query), the body's digest, the calling
// client and the message id.
func GatewayComponents() []string {
	return []string{"@method", "@authority", "@path", "@query", "content-digest", "x-road-client", "x-road-id"}
}

// GatewayOptionalComponents are the headers the gateway covers whenever a
// request carries them, and the provider refuses uncovered: the user, the
// case, the consent and the citizen's pseudonym.
func GatewayOptionalComponents() []string {
	return []string{"x-road-userid", "x-road-issue", "egovkit-consent-id", "egovkit-citizen-pseudonym"}
}
