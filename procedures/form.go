package procedures

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/egovkit/egovkit/internal/jsonschema"
)

// The editors' form. Its fields are named by the JSON Pointer of the value
// they hold in the procedure document ("/steps/0/title/el"), so a
// violation the schema reports at a pointer lands beside the field that
// holds it. The form is read into the same generic tree the schema
// checks, without first fitting it to Go types: a cost of "twelve" reaches
// the schema as a string and comes back as "must be a number" beside the
// cost, with what was typed still in the box.

// Kinds of form field.
const (
	fieldText      = "text"
	fieldLong      = "textarea"
	fieldSelect    = "select"
	fieldChecks    = "checks"
	fieldNumber    = "number"
	fieldList      = "list" // several values in one box, separated by commas
	fieldBilingual = "bilingual"
)

// fieldSpec is a field of the form: its pointer relative to the document
// (or to an item of a group), the message key of its label, its kind,
// and for choices the values and the key prefix of their labels.
type fieldSpec struct {
	Path, Label, Kind string
	// Long makes a bilingual field two text areas rather than two boxes.
	Long     bool
	Options  []string
	OptLabel string
	Hint     string
	Short    bool
	// Optional adds "(optional)" to the label where the field is shown.
	Optional bool
}

// groupSpec is a repeatable group of the form: an array of the document
// whose items are objects (or texts) edited with the same fields.
type groupSpec struct {
	Key, Title, Item string
	Fields           []fieldSpec
}

var actors = []string{"applicant", "authority", "third_party"}
var channelKinds = []string{ChannelDigital, ChannelInPerson, ChannelVideoCall, ChannelPhone, ChannelPost}
var procedureTypes = []string{"certificate", "permit", "registration", "benefit", "declaration", "authorization", "document", "obligation", "other"}

// The form's sections, in the order the page shows them.
var formSections = []struct {
	Title  string
	Fields []fieldSpec
}{
	{"procedures.form.section.about", []fieldSpec{
		{Path: "/id", Label: "id", Kind: fieldText, Hint: "id", Short: true},
		{Path: "/title", Label: "title", Kind: fieldBilingual},
		{Path: "/description", Label: "description", Kind: fieldBilingual, Long: true},
		{Path: "/type", Label: "type", Kind: fieldSelect, Options: procedureTypes, OptLabel: "procedures.form.type."},
		{Path: "/categories", Label: "categories", Kind: fieldList, Hint: "categories", Optional: true},
		{Path: "/processing_time", Label: "processing_time", Kind: fieldText, Hint: "duration", Short: true, Optional: true},
	}},
	{"procedures.form.section.authority", []fieldSpec{
		{Path: "/authority/id", Label: "authority_id", Kind: fieldText, Hint: "id", Short: true},
		{Path: "/authority/name", Label: "authority_name", Kind: fieldBilingual},
		{Path: "/authority/url", Label: "authority_url", Kind: fieldText, Hint: "https", Optional: true},
	}},
	{"procedures.form.section.contact", []fieldSpec{
		{Path: "/contact/email", Label: "email", Kind: fieldText, Optional: true},
		{Path: "/contact/phone", Label: "phone", Kind: fieldText, Short: true, Optional: true},
		{Path: "/contact/url", Label: "contact_url", Kind: fieldText, Hint: "https", Optional: true},
	}},
}

var formGroups = []groupSpec{
	{Key: "conditions", Title: "conditions", Item: "condition", Fields: []fieldSpec{
		{Path: "", Label: "condition", Kind: fieldBilingual, Long: true},
	}},
	{Key: "steps", Title: "steps", Item: "step", Fields: []fieldSpec{
		{Path: "/title", Label: "title", Kind: fieldBilingual},
		{Path: "/description", Label: "description", Kind: fieldBilingual, Long: true, Optional: true},
		{Path: "/actor", Label: "actor", Kind: fieldSelect, Options: actors, OptLabel: "procedures.form.actor."},
		{Path: "/channel", Label: "channel", Kind: fieldSelect, Options: channelKinds, OptLabel: "procedures.channel."},
		{Path: "/max_duration", Label: "max_duration", Kind: fieldText, Hint: "duration", Short: true, Optional: true},
		{Path: "/url", Label: "step_url", Kind: fieldText, Hint: "step_url"},
	}},
	{Key: "evidence", Title: "evidence", Item: "document", Fields: []fieldSpec{
		{Path: "/id", Label: "id", Kind: fieldText, Hint: "id", Short: true},
		{Path: "/title", Label: "title", Kind: fieldBilingual},
		{Path: "/issued_by", Label: "issued_by", Kind: fieldBilingual, Optional: true},
		{Path: "/submission", Label: "submission", Kind: fieldChecks, Options: []string{"upload", "in_person", "post", "once_only"}, OptLabel: "procedures.form.submission."},
		{Path: "/interop_service", Label: "interop_service", Kind: fieldText, Hint: "interop_service", Optional: true},
	}},
	{Key: "costs", Title: "costs", Item: "cost", Fields: []fieldSpec{
		{Path: "/title", Label: "title", Kind: fieldBilingual},
		{Path: "/min", Label: "min", Kind: fieldNumber, Short: true},
		{Path: "/max", Label: "max", Kind: fieldNumber, Short: true},
		{Path: "/currency", Label: "currency", Kind: fieldText, Hint: "currency", Short: true},
		{Path: "/how_to_pay", Label: "how_to_pay", Kind: fieldBilingual, Long: true, Optional: true},
	}},
	{Key: "channels", Title: "channels", Item: "channel", Fields: []fieldSpec{
		{Path: "/type", Label: "channel", Kind: fieldSelect, Options: channelKinds, OptLabel: "procedures.channel."},
		{Path: "/title", Label: "channel_title", Kind: fieldBilingual, Optional: true},
		{Path: "/url", Label: "url", Kind: fieldText, Hint: "https", Optional: true},
	}},
	{Key: "legal_basis", Title: "legal_basis", Item: "rule", Fields: []fieldSpec{
		{Path: "/title", Label: "title", Kind: fieldBilingual},
		{Path: "/eli", Label: "eli", Kind: fieldText, Hint: "eli", Optional: true},
		{Path: "/url", Label: "url", Kind: fieldText, Hint: "https", Optional: true},
	}},
	{Key: "faq", Title: "faq", Item: "question", Fields: []fieldSpec{
		{Path: "/question", Label: "question", Kind: fieldBilingual},
		{Path: "/answer", Label: "answer", Kind: fieldBilingual, Long: true},
	}},
}

// formKeys are the top-level members the form edits; the others (life
// events, outputs, links, the application form) travel through the form
// unchanged in a hidden field, and are edited in the JSON view.
var formKeys = func() map[string]bool {
	m := map[string]bool{"version": true}
	for _, s := range formSections {
		for _, f := range s.Fields {
			m[strings.SplitN(f.Path, "/", 3)[1]] = true
		}
	}
	for _, g := range formGroups {
		m[g.Key] = true
	}
	return m
}()

// maxItems bounds the items of a group a form may post, above every
// maximum of the schema, so a forged count allocates nothing large.
const maxItems = 120

func groupByKey(key string) *groupSpec {
	for i := range formGroups {
		if formGroups[i].Key == key {
			return &formGroups[i]
		}
	}
	return nil
}

// errBadForm is a form the page did not send: a broken hidden field or an
// action on an item that is not there.
var errBadForm = errors.New("procedures: the form is not one this page sent")

// readForm turns a posted form into a document tree.
func readForm(form url.Values) (map[string]any, error) {
	tree := map[string]any{}
	if extra := form.Get("extra"); extra != "" {
		d := json.NewDecoder(strings.NewReader(extra))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			return nil, errBadForm
		}
		for k, v := range m {
			if !formKeys[k] {
				tree[k] = v
			}
		}
	}
	for _, s := range formSections {
		for _, f := range s.Fields {
			readField(form, tree, "", f)
		}
	}
	for _, g := range formGroups {
		n, err := strconv.Atoi(form.Get("n/" + g.Key))
		if err != nil || n < 0 || n > maxItems {
			if form.Has("n/" + g.Key) {
				return nil, errBadForm
			}
			continue
		}
		items := make([]any, 0, n)
		for i := range n {
			prefix := "/" + g.Key + "/" + strconv.Itoa(i)
			item := map[string]any{}
			for _, f := range g.Fields {
				readField(form, item, prefix, f)
			}
			if g.Key == "conditions" {
				// A condition is a text itself, not an object holding one.
				items = append(items, item[""])
				continue
			}
			items = append(items, item)
		}
		tree[g.Key] = items
	}
	prune(tree)
	return tree, nil
}

// readField reads the field f, named prefix+f.Path, into obj at f.Path.
func readField(form url.Values, obj map[string]any, prefix string, f fieldSpec) {
	name := prefix + f.Path
	switch f.Kind {
	case fieldBilingual:
		text := map[string]any{}
		for _, lang := range []string{"el", "en"} {
			if v := strings.TrimSpace(form.Get(name + "/" + lang)); v != "" {
				text[lang] = v
			}
		}
		if f.Path == "" {
			obj[""] = text
			return
		}
		setPath(obj, f.Path, text)
	case fieldChecks:
		var vs []any
		for _, v := range form[name] {
			vs = append(vs, v)
		}
		if len(vs) > 0 {
			setPath(obj, f.Path, vs)
		}
	case fieldList:
		var vs []any
		for _, v := range strings.FieldsFunc(form.Get(name), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			vs = append(vs, v)
		}
		if len(vs) > 0 {
			setPath(obj, f.Path, vs)
		}
	case fieldNumber:
		v := strings.TrimSpace(form.Get(name))
		if v == "" {
			return
		}
		// A decimal comma is how Greek writes 12,50.
		if n, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64); err == nil {
			setPath(obj, f.Path, json.Number(strconv.FormatFloat(n, 'f', -1, 64)))
			return
		}
		setPath(obj, f.Path, v) // the schema says it is not a number
	default:
		if v := strings.TrimSpace(form.Get(name)); v != "" {
			setPath(obj, f.Path, v)
		}
	}
}

// setPath sets v at the pointer path below obj, making the objects on the
// way.
func setPath(obj map[string]any, path string, v any) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[parts[len(parts)-1]] = v
}

// prune drops empty objects below the top (an optional description left
// blank), but keeps the items of a group, so an item left blank is
// reported field by field rather than vanishing.
func prune(tree map[string]any) {
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for k, v := range m {
			switch x := v.(type) {
			case map[string]any:
				walk(x)
				if len(x) == 0 {
					delete(m, k)
				}
			case []any:
				for _, it := range x {
					if im, ok := it.(map[string]any); ok {
						walk(im)
					}
				}
			}
		}
	}
	walk(tree)
}

// lookup returns the value at the pointer path in tree, or nil.
func lookup(tree any, path string) any {
	if path == "" {
		return tree
	}
	for _, p := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		switch x := tree.(type) {
		case map[string]any:
			tree = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			tree = x[i]
		default:
			return nil
		}
	}
	return tree
}

// decodeTree reads a stored document into the tree the form shows.
func decodeTree(doc []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// encodeTree writes the tree as the document the registry checks.
func encodeTree(tree map[string]any) []byte {
	b, _ := json.MarshalIndent(tree, "", "  ")
	return b
}

// extraJSON is the part of tree the form does not edit, for its hidden
// field.
func extraJSON(tree map[string]any) string {
	m := map[string]any{}
	for k, v := range tree {
		if !formKeys[k] {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// formAction is one of the buttons that change the form's groups: add an
// item, remove one, move one up or down.
type formAction struct {
	Verb  string // add, remove, up, down
	Group string
	Index int
}

// parseAction reads an action button's value ("add:steps",
// "remove:steps:2"); ok is false for save and preview.
func parseAction(s string) (formAction, bool, error) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 2 && parts[0] == "add":
	case len(parts) == 3 && (parts[0] == "remove" || parts[0] == "up" || parts[0] == "down"):
	case len(parts) == 1:
		return formAction{}, false, nil
	default:
		return formAction{}, false, errBadForm
	}
	a := formAction{Verb: parts[0], Group: parts[1]}
	if groupByKey(a.Group) == nil {
		return a, false, errBadForm
	}
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			return a, false, errBadForm
		}
		a.Index = n
	}
	return a, true, nil
}

// apply changes the tree's group as the action says.
func (a formAction) apply(tree map[string]any) error {
	items, _ := tree[a.Group].([]any)
	if a.Verb == "add" {
		if len(items) >= maxItems {
			return errBadForm
		}
		tree[a.Group] = append(items, map[string]any{})
		return nil
	}
	if a.Index < 0 || a.Index >= len(items) {
		return errBadForm
	}
	switch a.Verb {
	case "remove":
		tree[a.Group] = slices.Delete(items, a.Index, a.Index+1)
	case "up":
		if a.Index > 0 {
			items[a.Index-1], items[a.Index] = items[a.Index], items[a.Index-1]
		}
	case "down":
		if a.Index < len(items)-1 {
			items[a.Index+1], items[a.Index] = items[a.Index], items[a.Index+1]
		}
	}
	return nil
}

// The form as the template shows it.

type formOption struct {
	Value, Label string
	Selected     bool
}

type formField struct {
	// Label is what the page shows; Plain is the label without
	// "(optional)", for the summary of errors and the comparison.
	Name, ID, Label, Plain, Hint, HintID, Kind, Value, Error, Lang string
	Options                                                        []formOption
	Short, ReadOnly                                                bool
}

type formItem struct {
	ID, Legend, Error string
	// Index is the item's place; Up and Down are the places it moves to.
	Index, Up, Down int
	First, Last     bool
	Fields          []formField
	// Group is the group's key and GroupID its heading's id; FormURL is
	// where its buttons post, and the labels are theirs.
	Group, GroupID, FormURL string
	UpLabel, DownLabel      string
	RemoveLabel             string
}

type formGroup struct {
	Key, ID, Title, Add, Error string
	Items                      []formItem
	// Blank is the item an add makes, Legend the items' legend with {n}
	// for the place and Max the most items a form may post: what the
	// page's script needs to add an item without a round trip.
	Blank  formItem
	Legend string
	Max    int
}

type formSection struct {
	Title  string
	Fields []formField
}

// formError is one line of the summary above the form, linking to the
// field it concerns.
type formError struct{ Anchor, Text string }

type formView struct {
	Sections []formSection
	Groups   []formGroup
	Extra    string
	Errors   []formError
	// Other lists the members the form carries without showing them.
	Other []string
}

// fieldID makes an element id from a pointer.
func fieldID(ptr string) string {
	if ptr == "" {
		return "f"
	}
	return "f" + strings.NewReplacer("/", "-", "~", "_").Replace(ptr)
}

// formBuilder builds the form's view in one language.
type formBuilder struct {
	t      func(key string, args ...any) string
	url    string            // where the form posts
	errors map[string]string // field name → message
	fixed  bool              // the procedure's id can no longer change
}

func (b *formBuilder) label(key string) string { return b.t("procedures.form.f." + key) }

// optional marks the label of an optional field.
func (b *formBuilder) optional(f fieldSpec, label string) string {
	if f.Optional {
		return b.t("procedures.form.optional", "label", label)
	}
	return label
}

func (b *formBuilder) fields(tree any, prefix string, f fieldSpec) []formField {
	name := prefix + f.Path
	var hint string
	if f.Hint != "" {
		hint = b.t("procedures.form.hint." + f.Hint)
	}
	if f.Kind == fieldBilingual {
		var out []formField
		for _, lang := range []string{"el", "en"} {
			n := name + "/" + lang
			kind := fieldText
			if f.Long {
				kind = fieldLong
			}
			plain := b.t("procedures.form.in_"+lang, "label", b.label(f.Label))
			out = append(out, formField{Name: n, ID: fieldID(n), Kind: kind, Label: b.optional(f, plain), Plain: plain,
				Value: str(lookup(tree, n)), Error: b.errors[n], Lang: lang})
		}
		return out
	}
	ff := formField{Name: name, ID: fieldID(name), Kind: f.Kind, Label: b.optional(f, b.label(f.Label)), Plain: b.label(f.Label),
		Hint: hint, Error: b.errors[name], Short: f.Short}
	if hint != "" {
		ff.HintID = ff.ID + "-hint"
	}
	v := lookup(tree, name)
	switch f.Kind {
	case fieldSelect, fieldChecks:
		chosen := map[string]bool{}
		switch x := v.(type) {
		case string:
			chosen[x] = true
		case []any:
			for _, s := range x {
				chosen[str(s)] = true
			}
		}
		if f.Kind == fieldSelect {
			ff.Options = append(ff.Options, formOption{Value: "", Label: b.t("procedures.form.choose"), Selected: len(chosen) == 0})
		}
		for _, o := range f.Options {
			ff.Options = append(ff.Options, formOption{Value: o, Label: b.t(f.OptLabel + o), Selected: chosen[o]})
		}
		if s, ok := v.(string); ok && !slices.Contains(f.Options, s) {
			// A value the list does not have is shown, so that the
			// schema's refusal has something to point at.
			ff.Options = append(ff.Options, formOption{Value: s, Label: s, Selected: true})
		}
	case fieldList:
		if xs, ok := v.([]any); ok {
			var ss []string
			for _, x := range xs {
				ss = append(ss, str(x))
			}
			ff.Value = strings.Join(ss, ", ")
		} else {
			ff.Value = str(v)
		}
	default:
		ff.Value = str(v)
	}
	if name == "/id" && b.fixed {
		ff.ReadOnly = true
	}
	return []formField{ff}
}

// str writes a scalar of the tree for a form box.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// build makes the form's view of tree, with the violations beside their
// fields and in the summary.
func (b *formBuilder) build(tree map[string]any, violations []jsonschema.Violation, lang string) formView {
	var v formView
	b.errors = map[string]string{}
	// Every field's name, in the order of the page, with its label for
	// the summary; items and groups take what no field of theirs holds.
	type place struct{ name, label string }
	var places []place
	itemErr, groupErr := map[string]string{}, map[string]string{}
	for _, s := range formSections {
		for _, f := range s.Fields {
			for _, ff := range b.fields(tree, "", f) {
				places = append(places, place{ff.Name, ff.Plain})
			}
		}
	}
	for _, g := range formGroups {
		items, _ := tree[g.Key].([]any)
		for i := range items {
			prefix := fmt.Sprintf("/%s/%d", g.Key, i)
			legend := b.t("procedures.form.item."+g.Item, "n", i+1)
			for _, f := range g.Fields {
				for _, ff := range b.fields(tree, prefix, f) {
					places = append(places, place{ff.Name, legend + ": " + ff.Plain})
				}
			}
		}
	}
	type placed struct {
		order int
		err   formError
	}
	var found []placed
	for _, vi := range violations {
		if vi.Kind == "condition_then" && slices.ContainsFunc(violations, func(o jsonschema.Violation) bool {
			return strings.HasPrefix(o.Pointer, vi.Pointer+"/")
		}) {
			// A conditional's failure comes with what it requires, said
			// field by field.
			continue
		}
		msg := b.message(vi, lang)
		order, label, anchor := len(places), "", ""
		// The field at the pointer, or the first field of the object at
		// the pointer (a text's Greek), unless that object is an item of
		// a group; else the nearest item or group above it.
		item := isItem(vi.Pointer)
		for i, p := range places {
			if p.name == vi.Pointer || !item && vi.Pointer != "" && strings.HasPrefix(p.name, vi.Pointer+"/") {
				order, label, anchor = i, p.label, fieldID(p.name)
				b.errors[p.name] = joinMsg(b.errors[p.name], msg)
				break
			}
		}
		for ptr := vi.Pointer; anchor == ""; ptr = ptr[:strings.LastIndex(ptr, "/")] {
			parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
			if g := groupByKey(parts[0]); g != nil && ptr != "" {
				if len(parts) >= 2 {
					n, _ := strconv.Atoi(parts[1])
					key := "/" + g.Key + "/" + parts[1]
					itemErr[key] = joinMsg(itemErr[key], msg)
					label, anchor = b.t("procedures.form.item."+g.Item, "n", n+1), fieldID(key)
					for i, p := range places {
						if strings.HasPrefix(p.name, key+"/") {
							order = i
							break
						}
					}
				} else {
					groupErr[g.Key] = joinMsg(groupErr[g.Key], msg)
					label, anchor = b.t("procedures.form.group."+g.Title), fieldID("/"+g.Key)
				}
				break
			}
			if !strings.Contains(ptr, "/") || ptr == "" || strings.LastIndex(ptr, "/") == 0 {
				label, anchor, order = b.t("procedures.form.whole"), "form-top", -1
				break
			}
		}
		found = append(found, placed{order, formError{Anchor: anchor, Text: label + ": " + msg}})
	}
	// The summary reads in the order of the page.
	slices.SortStableFunc(found, func(a, b placed) int { return a.order - b.order })
	for _, f := range found {
		v.Errors = append(v.Errors, f.err)
	}
	for _, s := range formSections {
		sec := formSection{Title: b.t(s.Title)}
		for _, f := range s.Fields {
			sec.Fields = append(sec.Fields, b.fields(tree, "", f)...)
		}
		v.Sections = append(v.Sections, sec)
	}
	for _, g := range formGroups {
		fg := formGroup{Key: g.Key, ID: fieldID("/" + g.Key), Title: b.t("procedures.form.group." + g.Title),
			Add: b.t("procedures.form.add." + g.Item), Error: groupErr[g.Key],
			Legend: b.t("procedures.form.item."+g.Item, "n", "{n}"), Max: maxItems}
		items, _ := tree[g.Key].([]any)
		for i := range items {
			fg.Items = append(fg.Items, b.item(tree, g, i, len(items), itemErr))
		}
		fg.Blank = b.item(tree, g, len(items), len(items)+1, itemErr)
		v.Groups = append(v.Groups, fg)
	}
	v.Extra = extraJSON(tree)
	for k := range tree {
		if !formKeys[k] {
			v.Other = append(v.Other, k)
		}
	}
	slices.Sort(v.Other)
	return v
}

// item is the view of the item at place i of group g, of n items; at
// i == len(items), the blank item an add makes.
func (b *formBuilder) item(tree map[string]any, g groupSpec, i, n int, itemErr map[string]string) formItem {
	prefix := fmt.Sprintf("/%s/%d", g.Key, i)
	it := formItem{ID: fieldID(prefix), Index: i, Up: i - 1, Down: i + 1, Legend: b.t("procedures.form.item."+g.Item, "n", i+1),
		First: i == 0, Last: i == n-1, Error: itemErr[prefix], Group: g.Key, GroupID: fieldID("/" + g.Key), FormURL: b.url,
		UpLabel: b.t("procedures.form.up"), DownLabel: b.t("procedures.form.down"), RemoveLabel: b.t("procedures.form.remove")}
	for _, f := range g.Fields {
		it.Fields = append(it.Fields, b.fields(tree, prefix, f)...)
	}
	return it
}

// isItem says whether ptr is an item of a group, such as /steps/0.
func isItem(ptr string) bool {
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	if len(parts) != 2 || groupByKey(parts[0]) == nil {
		return false
	}
	_, err := strconv.Atoi(parts[1])
	return err == nil
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// message says what is wrong in the editor's language, as a sentence.
func (b *formBuilder) message(v jsonschema.Violation, lang string) string {
	if k := "procedures.form.error." + v.Kind; b.t(k) != k {
		return b.t(k)
	}
	msg := v.Message
	if lang == "el" && v.MessageEL != "" {
		msg = v.MessageEL
	}
	return sentence(msg)
}

// sentence starts s with a capital and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
