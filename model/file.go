package model

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/h2arnn/h2arnn/internal/decimal"
	"io"
	"math"
	"os"
	"strconv"
)

// FileError is a problem with one line of a couplings or fields file. Its
// message says what is wrong and what to do about it.
type FileError struct {
	// File is the name the caller gave the input (usually its path).
	File string
	// Line is the 1-based line number. Problems with the file as a whole
	// (no data lines, a read failure) carry the line where reading stopped.
	Line int
	// Msg describes the problem and its fix, without the file:line prefix.
	Msg string
}

// Error returns "file:line: message".
func (e *FileError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// maxLineBytes bounds one line of an input file; real lines are a few dozen
// bytes, so a longer one means the input is not a couplings file.
const maxLineBytes = 1 << 20

// ReadCouplings reads a model in the text format of SPEC §1 "From file".
//
// The couplings input has one coupling per line: `i j J_ij`, two 0-based
// spin indices and a number, separated by blanks or tabs; each unordered pair
// appears at most once and i ≠ j. Text after `#` is a comment; blank lines
// are ignored. Indices are whole numbers, written as integers or as floats
// with an integral value (e.g. "3" or "3.000e+00", as numpy.savetxt writes
// them). fields, when non-nil, is read the same way with lines `i h_i`, each
// index at most once; spins not listed have h_i = 0.
//
// n ≤ 0 means N = 1 + the largest index in either input; n > 0 fixes N and
// every index must then be below n. N is at most MaxSpins; a larger n is a
// plain error, the only one without a line. Every problem in the inputs — a
// malformed line, a negative or too large index, a pair given twice (in
// either order), a self-coupling, a NaN or infinite value, an input without
// data lines — is reported as a *FileError naming the input and line. The
// names are used only in messages and in the model's Source.
func ReadCouplings(couplings io.Reader, couplingsName string, fields io.Reader, fieldsName string, n int) (*Hamiltonian, error) {
	return readCouplings(couplings, couplingsName, fields, fieldsName, n, MaxSpins)
}

// LoadCouplings opens and reads the couplings file and, if fieldsPath is not
// empty, the fields file, as ReadCouplings does. The model has Kind "file"
// and a Source naming the files.
func LoadCouplings(couplingsPath, fieldsPath string, n int) (*Hamiltonian, error) {
	return LoadCouplingsMax(couplingsPath, fieldsPath, n, MaxSpins)
}

// LoadCouplingsMax is LoadCouplings admitting at most maxN spins (at most
// MaxSpins): a caller that can only use a model up to some size (a memory
// budget, an exponential method) refuses a larger file before its dense
// N×N matrix is allocated. Too large a file gives the errors of an n above
// MaxSpins, with maxN in their text ("at most maxN spins").
func LoadCouplingsMax(couplingsPath, fieldsPath string, n, maxN int) (*Hamiltonian, error) {
	cf, err := os.Open(couplingsPath)
	if err != nil {
		return nil, fmt.Errorf("cannot open the couplings file: %w; check the path", err)
	}
	defer cf.Close()
	var fr io.Reader
	if fieldsPath != "" {
		ff, err := os.Open(fieldsPath)
		if err != nil {
			return nil, fmt.Errorf("cannot open the fields file: %w; check the path", err)
		}
		defer ff.Close()
		fr = ff
	}
	return readCouplings(cf, couplingsPath, fr, fieldsPath, n, min(maxN, MaxSpins))
}

// entry is one data line: a coupling (i, j, v) or a field (i, -, v).
type entry struct {
	i, j, line int32
	v          float64
}

// entryChunk is the number of entries per block of an entryList.
const entryChunk = 1 << 14

// entryList stores the entries of a file in fixed-size blocks, so that
// reading a large file never copies what it has already stored.
type entryList struct{ blocks [][]entry }

func (l *entryList) add(e entry) {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == entryChunk {
		l.blocks = append(l.blocks, make([]entry, 0, entryChunk))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, e)
}

func (l *entryList) empty() bool { return len(l.blocks) == 0 }

// firstPair returns the line of the first entry with the unordered pair
// {lo, hi}.
func (l *entryList) firstPair(lo, hi int32) int32 {
	for _, b := range l.blocks {
		for _, e := range b {
			if min(e.i, e.j) == lo && max(e.i, e.j) == hi {
				return e.line
			}
		}
	}
	return 0
}

// readCouplings is ReadCouplings with the largest admissible N as a
// parameter, so that fuzz tests can explore the format without allocating
// MaxSpins² matrices.
func readCouplings(couplings io.Reader, cname string, fields io.Reader, fname string, n, maxN int) (*Hamiltonian, error) {
	if n > maxN {
		return nil, argErr("ReadCouplings", "N", n, "at most %d spins are supported (the couplings are a dense N×N matrix)", maxN)
	}
	limit := maxN
	if n > 0 {
		limit = n
	}
	cs, cmax, err := readEntries(couplings, cname, 3, n, limit)
	if err != nil {
		return nil, err
	}
	var fs entryList
	fmax := -1
	if fields != nil {
		fs, fmax, err = readEntries(fields, fname, 2, n, limit)
		if err != nil {
			return nil, err
		}
	}
	N := n
	if N <= 0 {
		N = 1 + max(cmax, fmax)
	}
	m := NewHamiltonian(N)
	// seen marks the upper-triangle pairs already given; one bit per pair
	// index lo*N+hi keeps the check at N²/8 bytes even for large N.
	seen := make([]uint64, (N*N+63)/64)
	for _, b := range cs.blocks {
		for _, e := range b {
			lo, hi := min(e.i, e.j), max(e.i, e.j)
			p := int(lo)*N + int(hi)
			if seen[p/64]&(1<<(p%64)) != 0 {
				return nil, &FileError{cname, int(e.line), fmt.Sprintf("pair (%d, %d) was already given at line %d; give each pair once, in either order", lo, hi, cs.firstPair(lo, hi))}
			}
			seen[p/64] |= 1 << (p % 64)
			m.SetCoupling(int(lo), int(hi), e.v)
		}
	}
	if fields != nil {
		firstLine := make([]int32, N)
		for _, b := range fs.blocks {
			for _, e := range b {
				if l := firstLine[e.i]; l != 0 {
					return nil, &FileError{fname, int(e.line), fmt.Sprintf("field of spin %d was already given at line %d; give each spin's field once", e.i, l)}
				}
				firstLine[e.i] = e.line
				m.H[e.i] = e.v
			}
		}
	}
	m.Kind = "file"
	m.Source = "file couplings=" + strconv.Quote(cname)
	if fields != nil {
		m.Source += " fields=" + strconv.Quote(fname)
	}
	return m, nil
}

// readEntries parses the data lines of one input with nf fields each (3 for
// couplings, 2 for fields). It returns the entries and the largest index.
// n > 0 is the N the caller fixed; limit is the bound every index must stay
// below (n, or the largest supported N).
func readEntries(r io.Reader, name string, nf, n, limit int) (entryList, int, error) {
	what := "`i j J_ij` (two 0-based spin indices and a coupling)"
	if nf == 2 {
		what = "`i h_i` (a 0-based spin index and a field)"
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var out entryList
	maxIdx := -1
	line := 0
	var tok [4][]byte
	for sc.Scan() {
		line++
		b := sc.Bytes()
		for k, c := range b {
			if c == '#' {
				b = b[:k]
				break
			}
		}
		cnt := splitFields(b, &tok)
		if cnt == 0 {
			continue
		}
		if cnt != nf {
			found := strconv.Itoa(cnt)
			if cnt > nf {
				found = "more"
			}
			return out, 0, &FileError{name, line, fmt.Sprintf("expected %d fields %s, found %s; write one entry per line, comments after #", nf, what, found)}
		}
		if line > math.MaxInt32 {
			return out, 0, &FileError{name, line, "more than 2³¹ lines; this is not a couplings file of a supported size"}
		}
		e := entry{line: int32(line)}
		for k := 0; k < nf-1; k++ {
			idx, msg := parseIndex(tok[k], n, limit)
			if msg != "" {
				return out, 0, &FileError{name, line, msg}
			}
			maxIdx = max(maxIdx, idx)
			if k == 0 {
				e.i = int32(idx)
			} else {
				e.j = int32(idx)
			}
		}
		if nf == 3 && e.i == e.j {
			return out, 0, &FileError{name, line, fmt.Sprintf("self-coupling %d %d: J_ii is always zero; remove the line", e.i, e.j)}
		}
		v, err := decimal.Parse(string(tok[nf-1]))
		if err != nil {
			kind := "coupling"
			if nf == 2 {
				kind = "field"
			}
			return out, 0, &FileError{name, line, fmt.Sprintf("%s %s is not a finite number; write a decimal number such as -0.25 or 1.5e-3", kind, quoteToken(tok[nf-1]))}
		}
		e.v = v
		out.add(e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return out, 0, &FileError{name, line + 1, fmt.Sprintf("line longer than %d bytes; this is not a %s file", maxLineBytes, what)}
		}
		return out, 0, &FileError{name, line + 1, fmt.Sprintf("read failed: %v", err)}
	}
	if out.empty() {
		return out, 0, &FileError{name, max(line, 1), fmt.Sprintf("no data lines (the input is empty or only comments); give lines %s", what)}
	}
	return out, maxIdx, nil
}

// splitFields stores up to len(tok) blank-separated fields of b in tok and
// returns their number, or len(tok) if there are at least that many.
func splitFields(b []byte, tok *[4][]byte) int {
	cnt := 0
	k := 0
	for k < len(b) {
		for k < len(b) && isBlank(b[k]) {
			k++
		}
		if k == len(b) {
			break
		}
		start := k
		for k < len(b) && !isBlank(b[k]) {
			k++
		}
		if cnt == len(tok) {
			return cnt
		}
		tok[cnt] = b[start:k]
		cnt++
	}
	return cnt
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// parseIndex parses a spin index and checks 0 ≤ index < limit. It returns a
// message saying what is wrong, or "".
func parseIndex(t []byte, n, limit int) (int, string) {
	// Plain digits, or (as numpy.savetxt writes integer columns) a decimal
	// number with a whole value; never Go literal syntax such as 1_0 or 0x10.
	v, err := decimal.ParseIndex(string(t))
	if err != nil {
		return 0, fmt.Sprintf("spin index %s is not a whole number; indices are 0-based integers", quoteToken(t))
	}
	if v < 0 {
		return 0, fmt.Sprintf("negative spin index %d; indices are 0-based (the first spin is 0)", v)
	}
	if v >= int64(limit) {
		if n > 0 {
			return 0, fmt.Sprintf("spin index %d is out of range for N=%d (indices run 0..%d); give a larger N or fix the index", v, n, n-1)
		}
		return 0, fmt.Sprintf("spin index %d: at most %d spins are supported (dense couplings)", v, limit)
	}
	return int(v), ""
}

// quoteToken quotes a field for a message, shortened so that a garbage
// input still gives a readable one-line error.
func quoteToken(t []byte) string {
	const keep = 40
	if len(t) > keep {
		return strconv.Quote(string(t[:keep])) + "..."
	}
	return strconv.Quote(string(t))
}

// WriteCouplings writes the model in the format ReadCouplings reads: a
// comment line, then `i j J_ij` with i < j for every nonzero coupling, in
// row-major order, with the shortest decimal form that parses back to the
// same float64 (strconv 'g', -1). The last pair (N-2, N-1) is always written,
// even when zero, so that the file alone fixes N. It fails for N < 2, which
// has no pairs.
func (m *Hamiltonian) WriteCouplings(w io.Writer) error {
	if m.N < 2 {
		return fmt.Errorf("a model of N=%d spins has no couplings to write", m.N)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "# i j J_ij (0-based spin indices, i < j), N=%d\n", m.N)
	var buf []byte
	for i := 0; i < m.N; i++ {
		row := m.Row(i)
		for j := i + 1; j < m.N; j++ {
			if row[j] == 0 && (i != m.N-2 || j != m.N-1) {
				continue
			}
			buf = strconv.AppendInt(buf[:0], int64(i), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(j), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, row[j], 'g', -1, 64)
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// WriteFields writes `i h_i` for every spin (zeros included, so the file is
// never empty), with the same exact number format as WriteCouplings.
func (m *Hamiltonian) WriteFields(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "# i h_i (0-based spin index), N=%d\n", m.N)
	var buf []byte
	for i, h := range m.H {
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, h, 'g', -1, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
