package procedures

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// What changed between two versions of a procedure, field by field, in
// the words of the editors' form: "Step 2: Title in English", not
// "/steps/1/title/en".

// diffRow is one field that differs: its label, its value in the
// published version and in the one under review, and the kind of change
// in words (added, removed, changed), so that colour is never the only
// sign.
type diffRow struct {
	Label, Old, New, Change string
}

// OldParts and NewParts are the values cut where a long address or
// identifier may break, so that a narrow screen wraps them.
func (d diffRow) OldParts() []string { return breakable(d.Old) }
func (d diffRow) NewParts() []string { return breakable(d.New) }

// breakable cuts s after the slashes, dots, hyphens and underscores of
// its runs of more than 10 characters without a space.
func breakable(s string) []string {
	var out []string
	start, run := 0, 0
	for i, r := range s {
		switch {
		case r == ' ' || r == '\n':
			run = 0
		case run > 10 && strings.ContainsRune("/.-_", r):
			out = append(out, s[start:i+1])
			start, run = i+1, 0
		default:
			run++
		}
	}
	return append(out, s[start:])
}

// flatField is one field of a version as the form shows it.
type flatField struct{ key, label, value string }

// flatten lists tree's fields in the form's order with their labels and
// shown values (a choice's label rather than its code).
func (b *formBuilder) flatten(tree map[string]any) []flatField {
	var out []flatField
	add := func(prefix, itemLabel string, f fieldSpec) {
		for _, ff := range b.fields(tree, prefix, f) {
			v := ff.Value
			if ff.Options != nil {
				var chosen []string
				for _, o := range ff.Options {
					if o.Selected && o.Value != "" {
						chosen = append(chosen, o.Label)
					}
				}
				v = strings.Join(chosen, ", ")
			}
			label := ff.Plain
			if itemLabel != "" {
				label = itemLabel + ": " + label
			}
			out = append(out, flatField{key: ff.Name, label: label, value: v})
		}
	}
	for _, s := range formSections {
		for _, f := range s.Fields {
			add("", "", f)
		}
	}
	for _, g := range formGroups {
		items, _ := tree[g.Key].([]any)
		for i := range items {
			legend := b.t("procedures.form.item."+g.Item, "n", i+1)
			for _, f := range g.Fields {
				add(fmt.Sprintf("/%s/%d", g.Key, i), legend, f)
			}
		}
	}
	var other []string
	for k := range tree {
		if !formKeys[k] {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	for _, k := range other {
		v, _ := json.Marshal(tree[k])
		out = append(out, flatField{key: "/" + k, label: b.t("procedures.form.other", "name", k), value: string(v)})
	}
	return out
}

// diff lists the fields that differ between old and new, in the order of
// the form (new's order, then what only old has), and how many are the
// same.
func (b *formBuilder) diff(old, new map[string]any) (rows []diffRow, same int) {
	before, after := b.flatten(old), b.flatten(new)
	oldBy := map[string]flatField{}
	for _, f := range before {
		oldBy[f.key] = f
	}
	seen := map[string]bool{}
	for _, f := range after {
		seen[f.key] = true
		o := oldBy[f.key]
		switch {
		case o.value == f.value:
			if f.value != "" {
				same++
			}
		case o.value == "":
			rows = append(rows, diffRow{Label: f.label, New: f.value, Change: b.t("procedures.diff.added")})
		case f.value == "":
			rows = append(rows, diffRow{Label: f.label, Old: o.value, Change: b.t("procedures.diff.removed")})
		default:
			rows = append(rows, diffRow{Label: f.label, Old: o.value, New: f.value, Change: b.t("procedures.diff.changed")})
		}
	}
	for _, o := range before {
		if !seen[o.key] && o.value != "" {
			rows = append(rows, diffRow{Label: o.label, Old: o.value, Change: b.t("procedures.diff.removed")})
		}
	}
	return rows, same
}
