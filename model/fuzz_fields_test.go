package model

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fieldsOracle is an independent reading of a fields file against the
// documented format (ReadCouplings and issue 16 item 11): lines split at
// '\n', text from '#' on ignored, tokens separated by ASCII blanks; a data
// line is `i h_i`, i written in plain digits or as a decimal number with a
// whole value (at most 2^53), 0 ≤ i < limit, each i at most once; h_i a
// finite decimal number — never Go literal syntax (0x1p-1, 1_0, inf, nan).
// It returns the fields by index and, for a file the reader must refuse,
// the line it must name (0 if the oracle does not predict the line).
type fieldsOracle struct {
	h       map[int]float64
	maxIdx  int
	badLine int
	refuse  bool
}

var (
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	digitsRE  = regexp.MustCompile(`^[0-9]+$`)
)

func oracleValue(tok string) (float64, bool) {
	if !decimalRE.MatchString(tok) {
		return 0, false
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		panic(err) // the regexp admits only what ParseFloat reads
	}
	return v, !math.IsInf(v, 0)
}

func oracleIndex(tok string, limit int) (int, bool) {
	if digitsRE.MatchString(tok) {
		v, err := strconv.ParseInt(tok, 10, 64)
		return int(v), err == nil && v < int64(limit)
	}
	v, ok := oracleValue(tok)
	if !ok || v != math.Trunc(v) || math.Abs(v) > 1<<53 || v < 0 || v >= float64(limit) {
		return 0, false
	}
	return int(v), true
}

func readFieldsOracle(s string, limit int) fieldsOracle {
	o := fieldsOracle{h: map[int]float64{}, maxIdx: -1}
	first := map[int]int{}
	dupLine := 0
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for k, l := range lines {
		if len(strings.TrimSuffix(l, "\r")) > maxLineBytes {
			o.refuse = true // the scanner stops there; the line is not predicted
			return o
		}
		if c := strings.IndexByte(l, '#'); c >= 0 {
			l = l[:c]
		}
		tok := strings.FieldsFunc(l, func(r rune) bool { return strings.ContainsRune(" \t\r\v\f", r) })
		if len(tok) == 0 {
			continue
		}
		i, iok := 0, false
		v, vok := 0.0, false
		if len(tok) == 2 {
			i, iok = oracleIndex(tok[0], limit)
			v, vok = oracleValue(tok[1])
		}
		if !iok || !vok {
			o.refuse, o.badLine = true, k+1
			return o
		}
		if _, dup := first[i]; dup && dupLine == 0 {
			dupLine = k + 1
		}
		first[i] = k + 1
		o.h[i] = v
		o.maxIdx = max(o.maxIdx, i)
	}
	switch {
	case dupLine > 0:
		o.refuse, o.badLine = true, dupLine
	case len(first) == 0:
		o.refuse, o.badLine = true, max(len(lines), 1)
	}
	return o
}

// FuzzFieldsFile: the reader of -fields files (with a fixed two-spin
// couplings file) accepts exactly what the oracle accepts; a refusal is one
// line "h.txt:LINE: message" naming the line the oracle names; an
// acceptance has N = n (or 1 + the largest index), every h_i as written
// and 0 for the spins not listed, and reads back from what WriteFields
// writes.
func FuzzFieldsFile(f *testing.F) {
	for _, s := range []string{
		"0 1\n", "1 -0.25 # comment\n0 1.5e-3\n", "0 1\n0 2\n", "", "# only\n\n", "1\n", "1 2 3\n",
		"0 0_5\n", "1_0 2\n", "0x1 1\n", "0 0x1p-1\n", "0 inf\n", "0 NaN\n", "0 1e400\n", "0 1e-400\n",
		"9999999999999999999 1\n", "3.0e0 1\n", "3.5 1\n", "-0 1\n", "+1 1\n", "-1 1\n", "1 +.5e-3\n", "1 5.\n",
		"63 1\n", "64 1\n", "1e1 1\n", "9007199254740993.0 1\n", "0\v1\f\r\n", "0 1\r\n1 2", "\xff 1\n", "0 \x001\n",
		"0 1#x\n1 2 # 3 4\n", "2 1\n0 1\n2 1\n", "0 1e\n", "0 .\n", "0 -.e1\n", "0 1e+\n",
	} {
		for _, n := range []int{0, 2, 5, fuzzMaxN, fuzzMaxN + 1} {
			f.Add(s, n)
		}
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= fuzzMaxN + 2 // also n just above the limit
		if n == 1 || n < 0 {
			n = 0 // the couplings file below needs N ≥ 2
		}
		m, err := readCouplings(strings.NewReader("0 1 0.5\n"), "c.txt", strings.NewReader(s), "h.txt", n, fuzzMaxN)
		if n > fuzzMaxN {
			if err == nil || !strings.Contains(err.Error(), "spins are supported") {
				t.Fatalf("n = %d above the limit: %v", n, err)
			}
			return
		}
		limit := fuzzMaxN
		if n > 0 {
			limit = n
		}
		o := readFieldsOracle(s, limit)
		if o.refuse {
			var fe *FileError
			if err == nil || !errors.As(err, &fe) || fe.File != "h.txt" || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("oracle refuses (line %d), reader: %v, %q", o.badLine, m != nil, err)
			}
			if o.badLine > 0 && fe.Line != o.badLine {
				t.Fatalf("refusal names line %d, want %d: %v", fe.Line, o.badLine, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("oracle accepts, reader refuses: %v", err)
		}
		wantN := n
		if n == 0 {
			wantN = 1 + max(1, o.maxIdx)
		}
		if m.N != wantN || len(m.H) != wantN || m.Coupling(0, 1) != 0.5 {
			t.Fatalf("N = %d (%d fields), J01 = %v; want N = %d", m.N, len(m.H), m.Coupling(0, 1), wantN)
		}
		for i, h := range m.H {
			// -0 written is -0 read; a spin not listed has +0.
			if want := o.h[i]; math.Float64bits(h) != math.Float64bits(want) {
				t.Fatalf("h_%d = %v, want %v", i, h, want)
			}
		}
		var hb strings.Builder
		if err := m.WriteFields(&hb); err != nil {
			t.Fatal(err)
		}
		back, err := readCouplings(strings.NewReader("0 1 0.5\n"), "c.txt", strings.NewReader(hb.String()), "wh", m.N, fuzzMaxN)
		if err != nil {
			t.Fatalf("written fields do not read back: %v\n%s", err, hb.String())
		}
		if err := sameModel(m, back); err != nil {
			t.Fatal(fmt.Errorf("fields round trip: %w", err))
		}
	})
}
