package npy

import (
	"strconv"
	"strings"
)

// pyLit parses the subset of Python literals a .npy header uses: a dict
// with string keys whose values are strings, True/False, or tuples of
// integers (Python 2's 123L accepted).
type pyLit struct {
	s   string
	pos int
}

func (p *pyLit) space() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *pyLit) eat(c byte) bool {
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *pyLit) dict() (map[string]any, string) {
	if !p.eat('{') {
		return nil, "no '{'"
	}
	d := map[string]any{}
	for {
		if p.eat('}') {
			break
		}
		k, msg := p.str()
		if msg != "" {
			return nil, msg
		}
		if !p.eat(':') {
			return nil, "no ':' after key " + strconv.Quote(k)
		}
		v, msg := p.value()
		if msg != "" {
			return nil, msg
		}
		if _, dup := d[k]; dup {
			return nil, "key " + strconv.Quote(k) + " given twice"
		}
		d[k] = v
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return nil, "no ',' between items"
		}
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, "text after the dict"
	}
	return d, ""
}

func (p *pyLit) str() (string, string) {
	p.space()
	if p.pos >= len(p.s) || (p.s[p.pos] != '\'' && p.s[p.pos] != '"') {
		return "", "expected a quoted string"
	}
	q := p.s[p.pos]
	end := strings.IndexByte(p.s[p.pos+1:], q)
	if end < 0 {
		return "", "unterminated string"
	}
	v := p.s[p.pos+1 : p.pos+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", "escapes in strings are not supported"
	}
	p.pos += end + 2
	return v, ""
}

func (p *pyLit) value() (any, string) {
	p.space()
	if p.pos >= len(p.s) {
		return nil, "missing value"
	}
	switch c := p.s[p.pos]; {
	case c == '\'' || c == '"':
		return p.str()
	case strings.HasPrefix(p.s[p.pos:], "True"):
		p.pos += 4
		return true, ""
	case strings.HasPrefix(p.s[p.pos:], "False"):
		p.pos += 5
		return false, ""
	case c == '(':
		p.pos++
		var t []int64
		for {
			if p.eat(')') {
				return t, ""
			}
			p.space()
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
				p.pos++
			}
			v, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
			if err != nil {
				return nil, "a shape holds non-negative integers"
			}
			if p.pos < len(p.s) && p.s[p.pos] == 'L' {
				p.pos++
			}
			t = append(t, v)
			if p.eat(')') {
				return t, ""
			}
			if !p.eat(',') {
				return nil, "no ',' in tuple"
			}
		}
	case c == '[':
		return nil, "structured dtypes (lists) are not supported"
	}
	return nil, "unsupported value"
}
