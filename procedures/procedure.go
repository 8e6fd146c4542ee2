package procedures

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/problem"
)

// Text is a text in Greek and, where written, English.
type Text struct {
	EL string `json:"el"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang, falling back to Greek.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.EL
}

// Authority is the body competent for a procedure.
type Authority struct {
	ID   string `json:"id"`
	Name Text   `json:"name"`
	URL  string `json:"url,omitempty"`
}

// Rule is a piece of the legal basis, identified by ELI where it has one.
type Rule struct {
	Title Text   `json:"title"`
	ELI   string `json:"eli,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Channels through which a step is taken or a procedure is available.
const (
	ChannelDigital   = "digital"
	ChannelInPerson  = "in_person"
	ChannelVideoCall = "video_call"
	ChannelPhone     = "phone"
	ChannelPost      = "post"
)

// Step is one step of a procedure, in order.
type Step struct {
	Title       Text   `json:"title"`
	Description *Text  `json:"description,omitempty"`
	Actor       string `json:"actor"` // applicant, authority, third_party
	Channel     string `json:"channel"`
	MaxDuration string `json:"max_duration,omitempty"` // ISO 8601
	URL         string `json:"url,omitempty"`          // where a digital step is taken
}

// Evidence is a document the applicant must provide.
type Evidence struct {
	ID          string   `json:"id"`
	Title       Text     `json:"title"`
	Description *Text    `json:"description,omitempty"`
	IssuedBy    *Text    `json:"issued_by,omitempty"`
	Submission  []string `json:"submission"` // upload, in_person, post, once_only
	// InteropService is the interoperability service through which the
	// issuing agency supplies the document: the applicant need not.
	InteropService string `json:"interop_service,omitempty"`
}

// Cost is a fee, as a range.
type Cost struct {
	Title    Text    `json:"title"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Currency string  `json:"currency"`
	HowToPay *Text   `json:"how_to_pay,omitempty"`
}

// Output is what the procedure gives the applicant.
type Output struct {
	Title   Text `json:"title"`
	Digital bool `json:"digital,omitempty"`
}

// Channel is a way to go through the procedure.
type Channel struct {
	Type  string `json:"type"`
	Title *Text  `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Contact says where to ask.
type Contact struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	URL   string `json:"url,omitempty"`
}

// FAQ is a question and its answer.
type FAQ struct {
	Question Text `json:"question"`
	Answer   Text `json:"answer"`
}

// Link is a useful link.
type Link struct {
	Title Text   `json:"title"`
	URL   string `json:"url"`
}

// Procedure is an administrative procedure, as the schema in
// schema/procedure.json describes it.
type Procedure struct {
	ID              string          `json:"id"`
	Version         int             `json:"version,omitempty"`
	Title           Text            `json:"title"`
	Description     Text            `json:"description"`
	Authority       Authority       `json:"authority"`
	Type            string          `json:"type"`
	Categories      []string        `json:"categories,omitempty"`
	LifeEvents      []string        `json:"life_events,omitempty"`
	BusinessEvents  []string        `json:"business_events,omitempty"`
	LegalBasis      []Rule          `json:"legal_basis,omitempty"`
	Conditions      []Text          `json:"conditions,omitempty"`
	Steps           []Step          `json:"steps"`
	Evidence        []Evidence      `json:"evidence,omitempty"`
	Costs           []Cost          `json:"costs,omitempty"`
	Outputs         []Output        `json:"outputs,omitempty"`
	Channels        []Channel       `json:"channels"`
	ProcessingTime  string          `json:"processing_time,omitempty"`
	Contact         *Contact        `json:"contact,omitempty"`
	FAQ             []FAQ           `json:"faq,omitempty"`
	Links           []Link          `json:"links,omitempty"`
	ApplicationForm json.RawMessage `json:"application_form,omitempty"`
}

//go:embed schema/procedure.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft-07) of a procedure.
func Schema() []byte { return bytes.Clone(schemaJSON) }

var procedureSchema = jsonschema.MustCompile(schemaJSON)

// maxDocument bounds a procedure document.
const maxDocument = 512 << 10

// Parse checks a procedure document as [Validate] does and returns it.
func Parse(doc []byte) (*Procedure, error) { return parse(doc, addressPolicy{}) }

func parse(doc []byte, policy addressPolicy) (*Procedure, error) {
	if err := validate(doc, policy); err != nil {
		return nil, err
	}
	var p Procedure
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, &jsonschema.ValidationError{Violations: []jsonschema.Violation{{
			Kind: "invalid_json", Message: err.Error(), MessageEL: "μη έγκυρο JSON"}}}
	}
	return &p, nil
}

// ValidationError lists every way a document fails the schema (or an
// application form's schema), ordered by JSON Pointer; over HTTP it is a
// 422 problem with one field error per Violation. It is
// problem.ValidationError, which every package that validates documents
// returns; errors.Is(err, problem.ErrInvalidDocument) holds for it.
type ValidationError = problem.ValidationError

// Violation is one way a document fails: its JSON Pointer, the rule, and a
// message in English and in Greek.
type Violation = problem.Violation

// Validate checks a procedure document against the schema and the rules a
// schema cannot state (a cost's minimum is not above its maximum; the
// application form is itself a valid schema; every link people follow is
// https, every identifier http or https, so that no javascript: or data:
// address is stored and republished). Every violation is reported, as a
// *ValidationError, with its JSON Pointer and a message in Greek and
// English.
func Validate(doc []byte) error { return validate(doc, addressPolicy{}) }

func validate(doc []byte, policy addressPolicy) error {
	if len(doc) > maxDocument {
		return &jsonschema.ValidationError{Violations: []jsonschema.Violation{{
			Kind: "too_large", Message: fmt.Sprintf("the document is larger than %d bytes", maxDocument),
			MessageEL: fmt.Sprintf("το έγγραφο ξεπερνά τα %d bytes", maxDocument)}}}
	}
	tree, err := procedureSchema.Decode(doc)
	if err != nil {
		return err
	}
	// The schema has passed: the document is an object and costs, where
	// present, are objects with numeric min and max.
	root := tree.(map[string]any)
	vs := checkAddresses(root, policy)
	costs, _ := root["costs"].([]any)
	for i, c := range costs {
		c := c.(map[string]any)
		lo, _ := c["min"].(json.Number).Float64()
		hi, _ := c["max"].(json.Number).Float64()
		if lo > hi {
			vs = append(vs, jsonschema.Violation{Pointer: fmt.Sprintf("/costs/%d/min", i), Kind: "range",
				Message: "the minimum cost is above the maximum", MessageEL: "το ελάχιστο κόστος ξεπερνά το μέγιστο"})
		}
	}
	if form, ok := root["application_form"]; ok {
		b, _ := json.Marshal(form)
		if _, err := jsonschema.Compile(b); err != nil {
			vs = append(vs, jsonschema.Violation{Pointer: "/application_form", Kind: "schema",
				Message:   "the application form is not a valid JSON Schema: " + err.Error(),
				MessageEL: "η αίτηση δεν είναι έγκυρο JSON Schema"})
		}
	}
	if len(vs) > 0 {
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].Pointer < vs[j].Pointer })
		return &jsonschema.ValidationError{Violations: vs}
	}
	return nil
}

// ValidateApplication checks a citizen's application against the
// procedure's application form, the same way: every violation with its
// pointer and messages in Greek and English. A procedure without a form
// accepts nothing.
func (p *Procedure) ValidateApplication(application []byte) error {
	if len(p.ApplicationForm) == 0 {
		return ErrNoApplicationForm
	}
	s, err := jsonschema.Compile(p.ApplicationForm)
	if err != nil {
		return err
	}
	return s.Validate(application)
}
