package httpsig

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// This file holds the part of RFC 8941 (Structured Field Values) that the
// Signature-Input and Signature fields need: a dictionary whose members
// are items or inner lists, each with parameters, and the bare item types
// integer, decimal, string, token, byte sequence and boolean.

// sfToken is a bare token (RFC 8941 section 3.3.4), kept apart from a
// string so that it serializes without quotes.
type sfToken string

// sfDecimal is a decimal (RFC 8941 section 3.3.2) in thousandths, exact.
type sfDecimal int64

// sfParam is one parameter; val is int64, sfDecimal, string, sfToken,
// []byte or bool.
type sfParam struct {
	key string
	val any
}

type sfItem struct {
	val    any
	params []sfParam
}

// sfMember is one dictionary member: an item, or an inner list with its
// parameters in params.
type sfMember struct {
	key     string
	isInner bool
	item    sfItem   // when !isInner
	inner   []sfItem // when isInner
	params  []sfParam
}

var errSF = errors.New("not a structured field dictionary")

// sfParser is the RFC 8941 section 4.2 parsing algorithm over one field
// value (the field lines joined with ", ").
type sfParser struct {
	s string
	i int
}

func (p *sfParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// parseDictionary parses a whole field value as a dictionary. A key that
// repeats keeps its last value in its first position (section 4.2.2).
func parseDictionary(s string) ([]sfMember, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var out []sfMember
	index := map[string]int{}
	for !p.eof() {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var m sfMember
		if p.peek() == '=' {
			p.i++
			m, err = p.itemOrInner()
			if err != nil {
				return nil, err
			}
		} else {
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			m = sfMember{item: sfItem{val: true, params: params}}
		}
		m.key = key
		if j, ok := index[key]; ok {
			out[j] = m
		} else {
			index[key] = len(out)
			out = append(out, m)
		}
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, errSF
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, errSF // trailing comma
		}
	}
	return out, nil
}

func (p *sfParser) itemOrInner() (sfMember, error) {
	if p.peek() != '(' {
		it, err := p.item()
		return sfMember{item: it}, err
	}
	p.i++
	var items []sfItem
	for {
		p.skipSP()
		if p.eof() {
			return sfMember{}, errSF
		}
		if p.peek() == ')' {
			p.i++
			params, err := p.params()
			return sfMember{isInner: true, inner: items, params: params}, err
		}
		it, err := p.item()
		if err != nil {
			return sfMember{}, err
		}
		items = append(items, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return sfMember{}, errSF
		}
	}
}

func (p *sfParser) item() (sfItem, error) {
	v, err := p.bare()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.params()
	return sfItem{val: v, params: params}, err
}

func (p *sfParser) params() ([]sfParam, error) {
	var out []sfParam
	var index map[string]int // keys seen, made on the first parameter
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var val any = true
		if p.peek() == '=' {
			p.i++
			if val, err = p.bare(); err != nil {
				return nil, err
			}
		}
		if j, ok := index[key]; ok {
			out[j].val = val
			continue
		}
		if index == nil {
			index = map[string]int{}
		}
		index[key] = len(out)
		out = append(out, sfParam{key: key, val: val})
	}
	return out, nil
}

func (p *sfParser) key() (string, error) {
	start := p.i
	c := p.peek()
	if !(c >= 'a' && c <= 'z') && c != '*' {
		return "", errSF
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) bare() (any, error) {
	c := p.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		p.i++
		switch p.peek() {
		case '1':
			p.i++
			return true, nil
		case '0':
			p.i++
			return false, nil
		}
		return nil, errSF
	case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*':
		start := p.i
		p.i++
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		return sfToken(p.s[start:p.i]), nil
	}
	return nil, errSF
}

func isTokenChar(c byte) bool {
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:/", c) >= 0
}

func (p *sfParser) number() (any, error) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	start := p.i
	dot := -1
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' {
			p.i++
		} else if c == '.' && dot < 0 {
			dot = p.i
			p.i++
		} else {
			break
		}
	}
	num := p.s[start:p.i]
	if num == "" || num[0] == '.' {
		return nil, errSF
	}
	if dot < 0 {
		if len(num) > 15 {
			return nil, errSF
		}
		n, _ := strconv.ParseInt(num, 10, 64)
		if neg {
			n = -n
		}
		return n, nil
	}
	intPart, frac := p.s[start:dot], p.s[dot+1:p.i]
	if len(intPart) > 12 || len(frac) == 0 || len(frac) > 3 {
		return nil, errSF
	}
	for len(frac) < 3 {
		frac += "0"
	}
	n, _ := strconv.ParseInt(intPart+frac, 10, 64)
	if neg {
		n = -n
	}
	return sfDecimal(n), nil
}

func (p *sfParser) str() (string, error) {
	p.i++ // opening quote
	// The usual string has no escapes: a slice of the input.
	for j := p.i; j < len(p.s); j++ {
		c := p.s[j]
		if c == '"' {
			v := p.s[p.i:j]
			p.i = j + 1
			return v, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 || c > 0x7e {
			return "", errSF
		}
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() {
				return "", errSF
			}
			n := p.s[p.i]
			if n != '"' && n != '\\' {
				return "", errSF
			}
			b.WriteByte(n)
			p.i++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", errSF
		default:
			b.WriteByte(c)
		}
	}
	return "", errSF
}

func (p *sfParser) bytes() ([]byte, error) {
	p.i++ // opening colon
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return nil, errSF
	}
	enc := p.s[p.i : p.i+end]
	p.i += end + 1
	for k := 0; k < len(enc); k++ {
		c := enc[k]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=') {
			return nil, errSF
		}
	}
	// Padding is optional on parsing (section 4.2.7).
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil {
		return nil, errSF
	}
	return b, nil
}

// Serialization (RFC 8941 section 4.1).

func writeDictionary(b *strings.Builder, members []sfMember) {
	for i, m := range members {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.key)
		if m.isInner {
			b.WriteByte('=')
			writeInner(b, m.inner, m.params)
			continue
		}
		if v, ok := m.item.val.(bool); ok && v {
			writeParams(b, m.item.params)
			continue
		}
		b.WriteByte('=')
		writeItem(b, m.item)
	}
}

func writeInner(b *strings.Builder, items []sfItem, params []sfParam) {
	b.WriteByte('(')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeItem(b, it)
	}
	b.WriteByte(')')
	writeParams(b, params)
}

func writeItem(b *strings.Builder, it sfItem) {
	writeBare(b, it.val)
	writeParams(b, it.params)
}

func writeParams(b *strings.Builder, params []sfParam) {
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		if v, ok := p.val.(bool); ok && v {
			continue
		}
		b.WriteByte('=')
		writeBare(b, p.val)
	}
}

func writeBare(b *strings.Builder, v any) {
	switch v := v.(type) {
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case sfDecimal:
		n := int64(v)
		if n < 0 {
			b.WriteByte('-')
			n = -n
		}
		b.WriteString(strconv.FormatInt(n/1000, 10))
		frac := strings.TrimRight(strconv.FormatInt(1000+n%1000, 10)[1:], "0")
		if frac == "" {
			frac = "0"
		}
		b.WriteByte('.')
		b.WriteString(frac)
	case string:
		b.WriteByte('"')
		for k := 0; k < len(v); k++ {
			if v[k] == '"' || v[k] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[k])
		}
		b.WriteByte('"')
	case sfToken:
		b.WriteString(string(v))
	case []byte:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteByte(':')
	case bool:
		if v {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	}
}

// validString reports whether s can be serialized as an sf-string:
// printable ASCII only.
func validString(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] < 0x20 || s[k] > 0x7e {
			return false
		}
	}
	return true
}

// validKey reports whether s is an sf-key.
func validKey(s string) bool {
	p := &sfParser{s: s}
	k, err := p.key()
	return err == nil && k == s
}
