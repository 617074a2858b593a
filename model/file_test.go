package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReadCouplingsAccepts(t *testing.T) {
	couplings := "# a comment line\n" +
		"0 1 0.5\r\n" + // CRLF line ending
		"\n" +
		"2\t0\t-1.25   # inline comment, pair given as (2,0)\n" +
		"   1 3 1e-3\n" +
		"3.000000000000000000e+00 4.0 7\n" // numpy.savetxt-style indices
	fields := "4 0.75\n# spin 0 has no field line\n1 -2\n"
	m, err := ReadCouplings(strings.NewReader(couplings), "c.txt", strings.NewReader(fields), "h.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 5 || m.Kind != "file" {
		t.Fatalf("N=%d kind=%q, want 5 file", m.N, m.Kind)
	}
	want := map[[2]int]float64{{0, 1}: 0.5, {0, 2}: -1.25, {1, 3}: 1e-3, {3, 4}: 7}
	for i := 0; i < 5; i++ {
		for j := 0; j < 5; j++ {
			w := want[[2]int{min(i, j), max(i, j)}]
			if m.Coupling(i, j) != w {
				t.Errorf("J[%d][%d]=%v, want %v", i, j, m.Coupling(i, j), w)
			}
		}
	}
	wantH := []float64{0, -2, 0, 0, 0.75}
	for i, h := range wantH {
		if m.H[i] != h {
			t.Errorf("h[%d]=%v, want %v", i, m.H[i], h)
		}
	}
	if !strings.Contains(m.Source, "c.txt") || !strings.Contains(m.Source, "h.txt") {
		t.Errorf("Source %q does not name both inputs", m.Source)
	}

	// An explicit larger N adds uncoupled spins; the fields file alone can
	// also raise N.
	m, err = ReadCouplings(strings.NewReader("0 1 1\n"), "c", nil, "", 7)
	if err != nil || m.N != 7 {
		t.Fatalf("n=7: N=%v err=%v", m, err)
	}
	m, err = ReadCouplings(strings.NewReader("0 1 1\n"), "c", strings.NewReader("9 0.5\n"), "h", 0)
	if err != nil || m.N != 10 || m.H[9] != 0.5 {
		t.Fatalf("fields raise N: %+v err=%v", m, err)
	}
}

// fileLine matches the "name:line: " prefix every rejection must carry.
var fileLine = regexp.MustCompile(`^[^:\n]+:[1-9][0-9]*: [^\n]+$`)

func TestReadCouplingsRejects(t *testing.T) {
	cases := []struct {
		name             string
		couplings, field string // field "" means no fields file
		n                int
		file             string
		line             int
		contains         string
	}{
		{"empty", "", "", 0, "c.txt", 1, "no data lines"},
		{"only comments", "# x\n\n  # y\n", "", 0, "c.txt", 3, "no data lines"},
		{"two fields", "0 1 1\n0 2\n", "", 0, "c.txt", 2, "expected 3 fields"},
		{"four fields", "0 1 1 5\n", "", 0, "c.txt", 1, "found more"},
		{"bad index", "0 x 1\n", "", 0, "c.txt", 1, "not a whole number"},
		{"fractional index", "0 1.5 1\n", "", 0, "c.txt", 1, "not a whole number"},
		{"bad value", "0 1 abc\n", "", 0, "c.txt", 1, "not a finite number"},
		{"nan", "0 1 1\n1 2 NaN\n", "", 0, "c.txt", 2, "not a finite number"},
		{"inf", "0 1 -Inf\n", "", 0, "c.txt", 1, "not a finite number"},
		{"overflow", "0 1 1e999\n", "", 0, "c.txt", 1, "not a finite number"},
		{"negative index", "0 1 1\n-1 2 1\n", "", 0, "c.txt", 2, "negative spin index"},
		{"index >= n", "0 1 1\n0 5 1\n", "", 5, "c.txt", 2, "out of range for N=5"},
		{"index too large", "0 20000 1\n", "", 0, "c.txt", 1, "at most 20000 spins"},
		{"self coupling", "0 1 1\n3 3 1\n", "", 0, "c.txt", 2, "self-coupling"},
		{"pair twice", "0 1 1\n1 2 1\n0 1 2\n", "", 0, "c.txt", 3, "already given at line 1"},
		{"pair twice reversed", "0 1 1\n\n2 1 1\n1 2 1\n", "", 0, "c.txt", 4, "already given at line 3"},
		{"field bad count", "0 1 1\n", "0 1 2\n", 0, "h.txt", 1, "expected 2 fields"},
		{"field nan", "0 1 1\n", "0 1\n1 nan\n", 0, "h.txt", 2, "not a finite number"},
		{"field negative", "0 1 1\n", "-3 1\n", 0, "h.txt", 1, "negative spin index"},
		{"field index >= n", "0 1 1\n", "2 1\n", 2, "h.txt", 1, "out of range for N=2"},
		{"field twice", "0 1 1\n", "1 1\n0 1\n1 2\n", 0, "h.txt", 3, "already given at line 1"},
		{"field empty", "0 1 1\n", "# nothing\n", 0, "h.txt", 1, "no data lines"},
		{"long line", strings.Repeat("1", maxLineBytes+10) + "\n", "", 0, "c.txt", 1, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fr *strings.Reader
			var m *Hamiltonian
			var err error
			if c.field != "" || strings.HasPrefix(c.name, "field") {
				fr = strings.NewReader(c.field)
				m, err = ReadCouplings(strings.NewReader(c.couplings), "c.txt", fr, "h.txt", c.n)
			} else {
				m, err = ReadCouplings(strings.NewReader(c.couplings), "c.txt", nil, "", c.n)
			}
			if err == nil {
				t.Fatalf("accepted bad input, N=%d", m.N)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *FileError", err, err)
			}
			if fe.File != c.file || fe.Line != c.line || !strings.Contains(fe.Msg, c.contains) {
				t.Errorf("got %s:%d %q, want %s:%d containing %q", fe.File, fe.Line, fe.Msg, c.file, c.line, c.contains)
			}
			if !fileLine.MatchString(err.Error()) {
				t.Errorf("message %q is not one 'file:line: msg' line", err.Error())
			}
		})
	}
}

// sameModel reports the first difference between two models' N, J and h,
// comparing values with == (so +0 and -0 count as equal).
func sameModel(a, b *Hamiltonian) error {
	if a.N != b.N {
		return fmt.Errorf("N %d vs %d", a.N, b.N)
	}
	for k := range a.J {
		if a.J[k] != b.J[k] {
			return fmt.Errorf("J[%d][%d] %v vs %v", k/a.N, k%a.N, a.J[k], b.J[k])
		}
	}
	for i := range a.H {
		if a.H[i] != b.H[i] {
			return fmt.Errorf("h[%d] %v vs %v", i, a.H[i], b.H[i])
		}
	}
	return nil
}

func TestCouplingsRoundTrip(t *testing.T) {
	sk, err := SherringtonKirkpatrick(30, 1.3, 0.1, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Awkward values: subnormal, largest float, a value needing 17 digits,
	// and zero couplings on the last spin so that N must come from the
	// explicitly written (N-2, N-1) pair.
	sk.SetCoupling(0, 1, 5e-324)
	sk.SetCoupling(0, 2, -math.MaxFloat64)
	sk.SetCoupling(0, 3, 0.1+0.2)
	for i := 0; i < 29; i++ {
		sk.SetCoupling(i, 29, 0)
	}
	sk.H[3] = -1e-300
	dir := t.TempDir()
	cp, hp := filepath.Join(dir, "c.txt"), filepath.Join(dir, "h.txt")
	var cb, hb bytes.Buffer
	if err := sk.WriteCouplings(&cb); err != nil {
		t.Fatal(err)
	}
	if err := sk.WriteFields(&hb); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hp, hb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCouplings(cp, hp, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameModel(sk, back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != "file" || !strings.Contains(back.Source, cp) {
		t.Errorf("kind %q source %q", back.Kind, back.Source)
	}
	// Only nonzero couplings are written, plus the (N-2, N-1) pair.
	lines := strings.Count(cb.String(), "\n") - 1
	nonzero := 0
	for i := 0; i < 30; i++ {
		for j := i + 1; j < 30; j++ {
			if sk.Coupling(i, j) != 0 {
				nonzero++
			}
		}
	}
	if lines != nonzero+1 {
		t.Errorf("wrote %d coupling lines, want %d nonzero + 1", lines, nonzero)
	}
	if _, err := LoadCouplings(filepath.Join(dir, "missing"), "", 0); err == nil {
		t.Error("missing file accepted")
	}
	one := NewHamiltonian(1)
	if err := one.WriteCouplings(&cb); err == nil {
		t.Error("N=1 WriteCouplings succeeded; there is nothing to write")
	}
}

// fuzzMaxN keeps fuzzed models small: the reader is the same code with a
// smaller largest N.
const fuzzMaxN = 64

// checkFuzzResult asserts the contract for any input: a rejection is one
// "file:line: msg" line, an acceptance round-trips exactly.
func checkFuzzResult(t *testing.T, m *Hamiltonian, err error, n int) {
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) && !strings.Contains(err.Error(), "spins are supported") {
			t.Fatalf("rejection %v is %T, not a *FileError", err, err)
		}
		if fe != nil && !fileLine.MatchString(err.Error()) {
			t.Fatalf("rejection %q does not have the form file:line: msg", err.Error())
		}
		return
	}
	if m.N < 2 || m.N > fuzzMaxN || (n > 0 && m.N != n) {
		t.Fatalf("accepted with N=%d (n=%d)", m.N, n)
	}
	for i := 0; i < m.N; i++ {
		if m.Coupling(i, i) != 0 {
			t.Fatalf("J_%d%d = %v", i, i, m.Coupling(i, i))
		}
		for j := 0; j < m.N; j++ {
			if v := m.Coupling(i, j); v != m.Coupling(j, i) || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("J[%d][%d]=%v J[%d][%d]=%v", i, j, v, j, i, m.Coupling(j, i))
			}
		}
	}
	var cb, hb bytes.Buffer
	if err := m.WriteCouplings(&cb); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFields(&hb); err != nil {
		t.Fatal(err)
	}
	back, err := readCouplings(&cb, "w", &hb, "wh", 0, fuzzMaxN)
	if err != nil {
		t.Fatalf("written model does not read back: %v\n%s", err, cb.String())
	}
	if err := sameModel(m, back); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadCouplings(f *testing.F) {
	for _, s := range []string{
		"0 1 1\n", "0 1 0.5\n2 0 -1\n# c\n\n1 2 3e-5 # x\n", "0 0 1\n", "0 1 1\n1 0 1\n",
		"", "# only\n", "0 1 NaN\n", "0 1\n", "-1 2 3\n", "0 63 1\n", "0 64 1\n",
		"1.0 2.0e0 0x1p-3\n", "0 1 -0\n", "0 1 1e400\n", "0\t1\t1\r\n", "3 1 5e-324\n",
	} {
		f.Add(s, 0)
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= fuzzMaxN + 2 // also exercise n just above the limit
		m, err := readCouplings(strings.NewReader(s), "c.txt", nil, "", n, fuzzMaxN)
		checkFuzzResult(t, m, err, n)
	})
}

func FuzzReadFields(f *testing.F) {
	for _, s := range []string{
		"0 1\n", "0 1\n3 -0.5 # x\n", "0 1\n0 2\n", "", "1 inf\n", "1 2 3\n", "-1 0\n", "70 1\n", "2.0 1e-308\n",
	} {
		f.Add("0 1 1\n", s, 0)
		f.Add("0 2 1\n1 2 -1\n", s, 4)
	}
	f.Fuzz(func(t *testing.T, c, s string, n int) {
		n %= fuzzMaxN + 2
		m, err := readCouplings(strings.NewReader(c), "c.txt", strings.NewReader(s), "h.txt", n, fuzzMaxN)
		checkFuzzResult(t, m, err, n)
	})
}

// denseFile writes every pair of an N-spin SK instance, the size of the
// largest files the project expects (N=1000: 499,500 lines).
func denseFile(tb testing.TB, n int) []byte {
	sk, err := SherringtonKirkpatrick(n, 1, 0, 1)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := sk.WriteCouplings(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func BenchmarkReadCouplingsDense1000(b *testing.B) {
	data := denseFile(b, 1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadCouplings(bytes.NewReader(data), "bench", nil, "", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadCouplingsLargeDuplicate: the duplicate check and its "first given
// at" line work across the reader's storage blocks (entryChunk entries).
func TestReadCouplingsLargeDuplicate(t *testing.T) {
	data := denseFile(t, 200) // a comment line and 19,900 pairs
	lines := strings.Count(string(data), "\n")
	if lines-1 <= entryChunk {
		t.Fatalf("file of %d pairs does not span two blocks of %d", lines-1, entryChunk)
	}
	first := strings.SplitN(string(data), "\n", 3)[1] // "0 1 v"
	f := strings.Fields(first)
	dup := append(data, []byte(f[1]+" "+f[0]+" 1\n")...)
	_, err := ReadCouplings(bytes.NewReader(dup), "big.txt", nil, "", 0)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != lines+1 || !strings.Contains(fe.Msg, "(0, 1) was already given at line 2") {
		t.Fatalf("got %v, want big.txt:%d naming line 2", err, lines+1)
	}
	m, err := ReadCouplings(bytes.NewReader(data), "big.txt", nil, "", 0)
	if err != nil || m.N != 200 {
		t.Fatalf("N=%v err=%v", m, err)
	}
}
