package procedures

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// CPSVAPContext is the published JSON-LD context of CPSV-AP 3.2.0, which
// the export names first.
const CPSVAPContext = "https://semiceu.github.io/CPSV-AP/releases/3.2.0/context/cpsv-ap.jsonld"

// Codelists of the EU Publications Office the export refers to.
const (
	countryGreece    = "http://publications.europa.eu/resource/authority/country/GRC"
	currencyCodelist = "http://publications.europa.eu/resource/authority/currency/"
)

// exportContext adds the prefixes the export writes its terms with.
var exportContext = []any{CPSVAPContext, map[string]any{
	"cpsv": "http://purl.org/vocab/cpsv#",
	"cv":   "http://data.europa.eu/m8g/",
	"dct":  "http://purl.org/dc/terms/",
	"skos": "http://www.w3.org/2004/02/skos/core#",
	"foaf": "http://xmlns.com/foaf/0.1/",
	"eli":  "http://data.europa.eu/eli/ontology#",
	"xsd":  "http://www.w3.org/2001/XMLSchema#",
}}

// exporter builds the graph of one or more procedures; nodes shared
// between procedures (authorities, codelist concepts, events) are written
// once.
type exporter struct {
	base  string
	graph []map[string]any
	seen  map[string]bool
}

func langs(t Text) []any {
	out := []any{map[string]any{"@language": "el", "@value": t.EL}}
	if t.EN != "" {
		out = append(out, map[string]any{"@language": "en", "@value": t.EN})
	}
	return out
}

func ref(id string) map[string]any { return map[string]any{"@id": id} }

func (x *exporter) add(node map[string]any) {
	id, _ := node["@id"].(string)
	if x.seen[id] {
		return
	}
	x.seen[id] = true
	x.graph = append(x.graph, node)
}

// concept adds a SKOS concept (typed, so that the shapes' class checks
// hold) and returns a reference to it.
func (x *exporter) concept(id string, label Text) map[string]any {
	node := map[string]any{"@id": id, "@type": "skos:Concept"}
	if label.EL != "" {
		node["skos:prefLabel"] = langs(label)
	}
	x.add(node)
	return ref(id)
}

// eventTitle names a life or business event from the last part of its
// codelist URI.
func eventTitle(uri string) Text {
	name := strings.ReplaceAll(eventName(uri), "-", " ")
	return Text{EL: name, EN: name}
}

// eventName is the last segment of a life event's URI, such as
// "having-a-child": the key of its label in the catalogues.
func eventName(uri string) string {
	u, err := url.Parse(uri)
	if err == nil && u.Path != "" {
		parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
		return parts[len(parts)-1]
	}
	return uri
}

var channelTypes = map[string]Text{
	ChannelDigital:   {EL: "Ψηφιακά", EN: "Digital"},
	ChannelInPerson:  {EL: "Αυτοπροσώπως", EN: "In person"},
	ChannelVideoCall: {EL: "Με βιντεοκλήση", EN: "By video call"},
	ChannelPhone:     {EL: "Τηλεφωνικά", EN: "By phone"},
	ChannelPost:      {EL: "Ταχυδρομικά", EN: "By post"},
}

func (x *exporter) procedure(p *Procedure) {
	svc := x.base + "/procedures/" + p.ID
	node := map[string]any{
		"@id": svc, "@type": "cpsv:PublicService",
		"dct:identifier": p.ID, "dct:title": langs(p.Title), "dct:description": langs(p.Description),
		"dct:type": x.concept(x.base+"/types/"+p.Type, Text{EL: p.Type, EN: p.Type}),
	}

	auth := x.base + "/authorities/" + p.Authority.ID
	x.add(map[string]any{"@id": auth, "@type": "cv:PublicOrganisation", "skos:prefLabel": langs(p.Authority.Name),
		"dct:spatial": map[string]any{"@id": countryGreece, "@type": "dct:Location"}})
	node["cv:hasCompetentAuthority"] = ref(auth)

	if p.ProcessingTime != "" {
		node["cv:processingTime"] = map[string]any{"@value": p.ProcessingTime, "@type": "xsd:duration"}
	}
	var themes []any
	for _, c := range p.Categories {
		themes = append(themes, x.concept(x.base+"/categories/"+c, Text{EL: c, EN: c}))
	}
	if len(themes) > 0 {
		node["cv:thematicArea"] = themes
	}
	// Events carry cv:Event beside their own class: the shapes check the
	// class a node is typed with and know nothing of subclasses.
	var events []any
	for _, e := range p.LifeEvents {
		x.add(map[string]any{"@id": e, "@type": []any{"cv:LifeEvent", "cv:Event"}, "dct:identifier": e, "dct:title": langs(eventTitle(e))})
		events = append(events, ref(e))
	}
	for _, e := range p.BusinessEvents {
		x.add(map[string]any{"@id": e, "@type": []any{"cv:BusinessEvent", "cv:Event"}, "dct:identifier": e, "dct:title": langs(eventTitle(e))})
		events = append(events, ref(e))
	}
	if len(events) > 0 {
		node["cv:isGroupedBy"] = events
	}

	var rules []any
	for i, r := range p.LegalBasis {
		id := fmt.Sprintf("%s/rules/%d", svc, i+1)
		rule := map[string]any{"@id": id, "@type": "cpsv:Rule", "dct:identifier": fmt.Sprintf("%s-rule-%d", p.ID, i+1),
			"dct:title": langs(r.Title), "dct:description": langs(r.Title)}
		if r.ELI != "" {
			x.add(map[string]any{"@id": r.ELI, "@type": "eli:LegalResource"})
			rule["cpsv:implements"] = ref(r.ELI)
		}
		x.add(rule)
		rules = append(rules, ref(id))
	}
	if len(rules) > 0 {
		node["cpsv:follows"] = rules
	}

	var inputs []any
	for _, e := range p.Evidence {
		id := svc + "/evidence/" + e.ID
		ev := map[string]any{"@id": id, "@type": "cv:Evidence", "dct:identifier": p.ID + "-" + e.ID, "dct:title": langs(e.Title)}
		if e.Description != nil {
			ev["dct:description"] = langs(*e.Description)
		}
		x.add(ev)
		inputs = append(inputs, ref(id))
	}
	if len(inputs) > 0 {
		node["cpsv:hasInput"] = inputs
	}

	var costs []any
	for i, c := range p.Costs {
		id := fmt.Sprintf("%s/costs/%d", svc, i+1)
		cost := map[string]any{"@id": id, "@type": "cv:Cost", "dct:identifier": fmt.Sprintf("%s-cost-%d", p.ID, i+1),
			"dct:description": langs(c.Title),
			"cv:hasValue":     map[string]any{"@value": strconv.FormatFloat(c.Max, 'f', -1, 64), "@type": "xsd:double"},
			"cv:currency":     x.concept(currencyCodelist+c.Currency, Text{EL: c.Currency, EN: c.Currency})}
		x.add(cost)
		costs = append(costs, ref(id))
	}
	if len(costs) > 0 {
		node["cv:hasCost"] = costs
	}

	var outputs []any
	for i, o := range p.Outputs {
		id := fmt.Sprintf("%s/outputs/%d", svc, i+1)
		x.add(map[string]any{"@id": id, "@type": "cv:Output", "dct:identifier": fmt.Sprintf("%s-output-%d", p.ID, i+1), "dct:title": langs(o.Title)})
		outputs = append(outputs, ref(id))
	}
	if len(outputs) > 0 {
		node["cpsv:produces"] = outputs
	}

	var channels []any
	for i, c := range p.Channels {
		id := fmt.Sprintf("%s/channels/%d", svc, i+1)
		ch := map[string]any{"@id": id, "@type": "cv:Channel", "dct:identifier": fmt.Sprintf("%s-channel-%d", p.ID, i+1),
			"dct:type": x.concept(x.base+"/channel-types/"+c.Type, channelTypes[c.Type])}
		if c.Title != nil {
			ch["dct:description"] = langs(*c.Title)
		}
		x.add(ch)
		channels = append(channels, ref(id))
	}
	node["cv:hasChannel"] = channels

	if p.Contact != nil {
		id := svc + "/contact"
		cp := map[string]any{"@id": id, "@type": "cv:ContactPoint"}
		if p.Contact.Email != "" {
			cp["cv:email"] = p.Contact.Email
		}
		if p.Contact.Phone != "" {
			cp["cv:telephone"] = p.Contact.Phone
		}
		if p.Contact.URL != "" {
			x.add(map[string]any{"@id": p.Contact.URL, "@type": "foaf:Document"})
			cp["cv:contactPage"] = ref(p.Contact.URL)
		}
		x.add(cp)
		node["cv:contactPoint"] = ref(id)
	}
	x.add(node)
}

// ExportCPSVAP writes procedures as one JSON-LD document in the EU's Core
// Public Service Vocabulary Application Profile 3.2.0: each procedure a
// cpsv:PublicService with its competent authority, evidence, costs,
// outputs, channels, rules, events and contact point, and the codelist
// concepts typed so that the profile's SHACL shapes hold. base is the
// absolute URL the nodes' identifiers are made from.
func ExportCPSVAP(base string, ps ...*Procedure) ([]byte, error) {
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() {
		return nil, errors.New("procedures: the export needs an absolute base URL")
	}
	x := &exporter{base: strings.TrimSuffix(base, "/"), seen: map[string]bool{}}
	for _, p := range ps {
		x.procedure(p)
	}
	return json.Marshal(map[string]any{"@context": exportContext, "@graph": x.graph})
}

// ExportCatalogue writes every published procedure as CPSV-AP JSON-LD.
func (r *Registry) ExportCatalogue(ctx context.Context, base string) ([]byte, error) {
	vs, err := r.ListPublished(ctx)
	if err != nil {
		return nil, err
	}
	ps := make([]*Procedure, len(vs))
	for i, v := range vs {
		ps[i] = v.Procedure
	}
	return ExportCPSVAP(base, ps...)
}
