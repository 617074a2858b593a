package model

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// NPZError is a problem with a SciPy sparse-matrix file (.npz). Its message
// names the file and, when the problem lies in one array, the array.
type NPZError struct {
	// File is the name the caller gave the input.
	File string
	// Array is the archive member at fault ("data.npy", "indptr.npy", ...),
	// or "" for problems with the archive as a whole.
	Array string
	// Msg says what is wrong and, where it helps, what to do.
	Msg string
}

// Error returns "file: array: message" (or "file: message").
func (e *NPZError) Error() string {
	if e.Array == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Array + ": " + e.Msg
}

// ReadNPZCouplings reads a coupling matrix saved by scipy.sparse.save_npz
// (compressed or not): a zip archive of .npy arrays format.npy (b'csr',
// b'csc' or b'coo', as bytes or str), shape.npy (two integers) and data.npy,
// with indices.npy and indptr.npy for csr and csc, and row.npy and col.npy
// (or coords.npy of shape (2, nnz)) for coo. Other members, such as
// _is_array.npy of sparse arrays, are ignored.
//
// The matrix must be square. Each stored entry (i, j, v) sets J_ij = J_ji =
// v, so the upper triangle alone (the common case, e.g. scipy.sparse.triu(J,
// k=1)), the lower triangle alone, the full symmetric matrix, or any mix
// reads the same: when both (i, j) and (j, i) are stored their values must
// be equal, and the coupling is used once (the Hamiltonian counts each pair
// once, -Σ_{i<j} J_ij x_i x_j). Every other irregularity is an error naming
// the file and array: a stored diagonal entry (J_ii is always 0), the same
// (i, j) stored twice, a NaN or infinite value, an index outside the shape,
// an indptr that does not start at 0, decreases or points past the indices,
// arrays of inconsistent lengths, and dtypes other than float64/float32 or
// integer data, int32/int64 (or other integer) indices, in either byte
// order. Fortran-ordered arrays are read in their stored order. It never
// panics on malformed input.
//
// n ≤ 0 means N = the matrix dimension; n > 0 sets N, which must be at
// least the dimension (extra spins are uncoupled). All fields h_i are 0; the
// model has Kind "file" and a Source naming the file. size is the length of
// the input in bytes; name is used only in messages and the Source.
func ReadNPZCouplings(r io.ReaderAt, size int64, name string, n int) (*Hamiltonian, error) {
	return readNPZCouplings(r, size, name, n, MaxSpins)
}

// LoadNPZCouplings opens the file at path and reads it with
// ReadNPZCouplings.
func LoadNPZCouplings(path string, n int) (*Hamiltonian, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open couplings file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open couplings file: %w", err)
	}
	return ReadNPZCouplings(f, fi.Size(), path, n)
}

// npyArray is one decoded .npy member: its dtype, shape and raw bytes.
type npyArray struct {
	member  string // archive member name, for messages
	kind    byte   // numpy kind: 'f', 'i', 'u', 'b', 'S' or 'U'
	size    int    // bytes per item
	big     bool   // big-endian items
	fortran bool   // column-major storage
	shape   []int
	raw     []byte
}

// count returns the number of items.
func (a *npyArray) count() int { return len(a.raw) / a.size }

// readNPZCouplings is ReadNPZCouplings with the largest admissible N as a
// parameter, so that fuzzing never allocates MaxSpins² matrices.
func readNPZCouplings(r io.ReaderAt, size int64, name string, n, maxN int) (*Hamiltonian, error) {
	fail := func(array, format string, args ...any) (*Hamiltonian, error) {
		return nil, &NPZError{File: name, Array: array, Msg: fmt.Sprintf(format, args...)}
	}
	if n > maxN {
		return fail("", "N=%d: at most %d spins are supported (dense couplings)", n, maxN)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fail("", "not an .npz (zip) archive as scipy.sparse.save_npz writes: %v", err)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := members[f.Name]; dup {
			return fail(f.Name, "appears twice in the archive")
		}
		members[f.Name] = f
	}
	load := func(member string, maxItems int) (*npyArray, error) {
		f, ok := members[member]
		if !ok {
			return nil, &NPZError{File: name, Array: member, Msg: "missing; is this a file from scipy.sparse.save_npz?"}
		}
		a, msg := readNPY(f, maxItems)
		if msg != "" {
			return nil, &NPZError{File: name, Array: member, Msg: msg}
		}
		return a, nil
	}

	// format and shape first: they bound every other array.
	fa, err := load("format.npy", 64)
	if err != nil {
		return nil, err
	}
	format, msg := npyString(fa)
	if msg != "" {
		return fail(fa.member, "%s", msg)
	}
	sa, err := load("shape.npy", 16)
	if err != nil {
		return nil, err
	}
	shape, msg := npyInts(sa)
	if msg == "" && (len(sa.shape) != 1 || len(shape) != 2) {
		msg = fmt.Sprintf("shape %v: want two integers (rows, columns)", sa.shape)
	}
	if msg != "" {
		return fail(sa.member, "%s", msg)
	}
	rows, cols := shape[0], shape[1]
	switch {
	case rows != cols:
		return fail(sa.member, "the matrix is %d×%d; a coupling matrix is square (N×N)", rows, cols)
	case rows < 1:
		return fail(sa.member, "the matrix is %d×%d; it needs at least one spin", rows, cols)
	case rows > int64(maxN):
		return fail(sa.member, "the matrix is %d×%d; at most %d spins are supported (dense couplings)", rows, cols, maxN)
	case n > 0 && int64(n) < rows:
		return fail(sa.member, "the matrix is %d×%d but N=%d was asked for; give N ≥ %d or none", rows, cols, n, rows)
	}
	dim := int(rows)
	maxNNZ := dim * dim // more entries than that must repeat a pair

	var ii, jj []int64 // row and column of each entry
	var iName, jName string
	da, err := load("data.npy", maxNNZ)
	if err != nil {
		return nil, err
	}
	switch format {
	case "csr", "csc":
		ind, err := load("indices.npy", maxNNZ)
		if err != nil {
			return nil, err
		}
		ptr, err := load("indptr.npy", dim+1)
		if err != nil {
			return nil, err
		}
		indices, msg := npyInts(ind)
		if msg == "" && len(ind.shape) != 1 {
			msg = fmt.Sprintf("shape %v: want a 1-d array", ind.shape)
		}
		if msg != "" {
			return fail(ind.member, "%s", msg)
		}
		indptr, msg := npyInts(ptr)
		if msg == "" && (len(ptr.shape) != 1 || len(indptr) != dim+1) {
			msg = fmt.Sprintf("shape %v: want (%d,), one more than the matrix dimension %d", ptr.shape, dim+1, dim)
		}
		if msg != "" {
			return fail(ptr.member, "%s", msg)
		}
		if indptr[0] != 0 {
			return fail(ptr.member, "starts at %d; indptr[0] must be 0", indptr[0])
		}
		for k := 1; k <= dim; k++ {
			if indptr[k] < indptr[k-1] {
				return fail(ptr.member, "decreases at position %d (%d after %d); indptr must be non-decreasing", k, indptr[k], indptr[k-1])
			}
		}
		if last := indptr[dim]; last > int64(len(indices)) {
			return fail(ptr.member, "ends at %d but indices.npy has only %d entries", last, len(indices))
		}
		if len(indices) != da.count() {
			return fail(da.member, "%d values but indices.npy has %d entries; they must match", da.count(), len(indices))
		}
		// Like scipy, ignore storage past indptr[-1] (it is not part of
		// the matrix).
		nnz := int(indptr[dim])
		outer := make([]int64, nnz)
		for k := 0; k < dim; k++ {
			for p := indptr[k]; p < indptr[k+1]; p++ {
				outer[p] = int64(k)
			}
		}
		ii, jj, iName, jName = outer, indices[:nnz], "indptr.npy", ind.member
		if format == "csc" {
			ii, jj, iName, jName = jj, ii, jName, iName
		}
	case "coo":
		if _, ok := members["coords.npy"]; ok {
			ca, err := load("coords.npy", 2*maxNNZ)
			if err != nil {
				return nil, err
			}
			coords, msg := npyInts(ca)
			if msg == "" && (len(ca.shape) != 2 || ca.shape[0] != 2) {
				msg = fmt.Sprintf("shape %v: want (2, nnz), the rows then the columns", ca.shape)
			}
			if msg != "" {
				return fail(ca.member, "%s", msg)
			}
			nnz := ca.shape[1]
			ii, jj = make([]int64, nnz), make([]int64, nnz)
			for k := 0; k < nnz; k++ {
				if ca.fortran {
					ii[k], jj[k] = coords[2*k], coords[2*k+1]
				} else {
					ii[k], jj[k] = coords[k], coords[nnz+k]
				}
			}
			iName, jName = ca.member, ca.member
		} else {
			ra, err := load("row.npy", maxNNZ)
			if err != nil {
				return nil, err
			}
			ca, err := load("col.npy", maxNNZ)
			if err != nil {
				return nil, err
			}
			for _, p := range []struct {
				a   *npyArray
				dst *[]int64
			}{{ra, &ii}, {ca, &jj}} {
				v, msg := npyInts(p.a)
				if msg == "" && len(p.a.shape) != 1 {
					msg = fmt.Sprintf("shape %v: want a 1-d array", p.a.shape)
				}
				if msg != "" {
					return fail(p.a.member, "%s", msg)
				}
				*p.dst = v
			}
			if len(ii) != len(jj) {
				return fail(ca.member, "%d entries but row.npy has %d; they must match", len(jj), len(ii))
			}
			iName, jName = ra.member, ca.member
		}
		if len(ii) != da.count() {
			return fail(da.member, "%d values for %d stored positions; they must match", da.count(), len(ii))
		}
	default:
		return fail(fa.member, "sparse format %q is not supported; save the matrix as csr, csc or coo (e.g. scipy.sparse.csr_matrix(J))", format)
	}
	if len(da.shape) != 1 {
		return fail(da.member, "shape %v: want a 1-d array", da.shape)
	}
	vals, msg := npyFloats(da)
	if msg != "" {
		return fail(da.member, "%s", msg)
	}

	N := dim
	if n > 0 {
		N = n
	}
	m := NewHamiltonian(N)
	// seen marks the ordered pairs (i, j) already stored, one bit each.
	seen := make([]uint64, (dim*dim+63)/64)
	for k := range ii {
		i, j := ii[k], jj[k]
		if i < 0 || i >= rows {
			return fail(iName, "entry %d: row index %d is outside 0..%d", k, i, dim-1)
		}
		if j < 0 || j >= rows {
			return fail(jName, "entry %d: column index %d is outside 0..%d", k, j, dim-1)
		}
		v := vals[k]
		if !finite(v) {
			return fail(da.member, "entry %d (%d, %d): value %v is not a finite number", k, i, j, v)
		}
		if i == j {
			return fail(da.member, "entry %d: diagonal element (%d, %d) = %v is stored; J_ii is always 0, so drop the diagonal (scipy.sparse.triu(J, k=1))", k, i, j, v)
		}
		p := int(i)*dim + int(j)
		if seen[p/64]&(1<<(p%64)) != 0 {
			return fail(jName, "entry %d: (%d, %d) is stored twice; call sum_duplicates() or store each pair once", k, i, j)
		}
		seen[p/64] |= 1 << (p % 64)
		q := int(j)*dim + int(i)
		if seen[q/64]&(1<<(q%64)) != 0 {
			if w := m.Coupling(int(i), int(j)); w != v {
				return fail(da.member, "entry %d: (%d, %d) = %v but (%d, %d) = %v; a coupling matrix is symmetric, so store equal values or one triangle only (scipy.sparse.triu(J, k=1))", k, i, j, v, j, i, w)
			}
			continue
		}
		m.SetCoupling(int(i), int(j), v)
	}
	m.Kind = "file"
	m.Source = "npz couplings=" + strconv.Quote(name)
	return m, nil
}

// npyMaxHeader bounds a .npy header; numpy's own headers are well below a
// kilobyte, and numpy refuses headers above 10000 bytes by default.
const npyMaxHeader = 1 << 16

// npyMaxTrailing bounds the bytes a member may hold after its array data.
const npyMaxTrailing = 1 << 16

// readNPY decodes one .npy member holding at most maxItems items. It
// returns a message instead of an error so that the caller can name the
// file and array.
func readNPY(f *zip.File, maxItems int) (*npyArray, string) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Sprintf("cannot read from the archive: %v", err)
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return nil, "not a .npy array (no \\x93NUMPY magic)"
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, "truncated .npy header"
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, "truncated .npy header"
		}
		h := binary.LittleEndian.Uint32(b[:])
		if h > npyMaxHeader {
			return nil, fmt.Sprintf(".npy header of %d bytes is too long", h)
		}
		hlen = int(h)
	default:
		return nil, fmt.Sprintf(".npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", pre[6], pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, "truncated .npy header"
	}
	if pre[6] < 3 && !isASCII(hdr) || !utf8.Valid(hdr) {
		return nil, ".npy header is not text"
	}
	a := &npyArray{member: f.Name}
	if msg := parseNPYHeader(string(hdr), a); msg != "" {
		return nil, msg
	}
	count := 1
	for _, d := range a.shape {
		if d < 0 {
			return nil, fmt.Sprintf("negative dimension in shape %v", a.shape)
		}
		if d > 0 && count > maxItems/d {
			return nil, fmt.Sprintf("shape %v holds more than the %d items an array here can have", a.shape, maxItems)
		}
		count *= d
	}
	if count > maxItems {
		return nil, fmt.Sprintf("shape %v holds more than the %d items an array here can have", a.shape, maxItems)
	}
	nbytes := int64(count) * int64(a.size)
	if f.UncompressedSize64 < uint64(nbytes) {
		return nil, fmt.Sprintf("truncated: shape %v needs %d data bytes, the member holds fewer", a.shape, nbytes)
	}
	// Grow the buffer as the data arrives rather than trusting the
	// declared sizes: a small file claiming a huge array then costs only
	// what it really holds.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, nbytes); err != nil {
		return nil, fmt.Sprintf("truncated: shape %v needs %d data bytes: %v", a.shape, nbytes, err)
	}
	a.raw = buf.Bytes()
	// Read to the end of the member so that archive/zip verifies its
	// CRC-32, as numpy does: a corrupted file must not load as numbers.
	// numpy ignores bytes after the data, and so do we, up to a bound.
	if k, err := io.CopyN(io.Discard, r, npyMaxTrailing+1); err != nil && err != io.EOF {
		return nil, fmt.Sprintf("damaged archive member: %v", err)
	} else if k > npyMaxTrailing {
		return nil, fmt.Sprintf("more than %d bytes after the data of shape %v; not a .npy array", npyMaxTrailing, a.shape)
	}
	return a, ""
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// parseNPYHeader reads the Python dict literal of a .npy header into a.
func parseNPYHeader(h string, a *npyArray) string {
	p := &pyLit{s: h}
	d, msg := p.dict()
	if msg != "" {
		return "malformed .npy header: " + msg
	}
	descr, ok := d["descr"].(string)
	if !ok {
		if _, isList := d["descr"].([]int64); isList || d["descr"] == nil {
			return "structured or missing dtype ('descr'); save plain numeric arrays"
		}
		return "'descr' is not a dtype string"
	}
	fortran, ok := d["fortran_order"].(bool)
	if !ok {
		return "'fortran_order' is missing or not True/False"
	}
	shape, ok := d["shape"].([]int64)
	if !ok {
		return "'shape' is missing or not a tuple of integers"
	}
	a.fortran = fortran
	for _, v := range shape {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Sprintf("dimension %d in shape %v is out of range", v, shape)
		}
		a.shape = append(a.shape, int(v))
	}
	if len(descr) < 3 {
		return fmt.Sprintf("dtype %q is not supported", descr)
	}
	switch descr[0] {
	case '<', '|':
	case '>':
		a.big = true
	default:
		return fmt.Sprintf("dtype %q: byte order %q is not one of < > |", descr, descr[0])
	}
	a.kind = descr[1]
	sz, err := strconv.Atoi(descr[2:])
	if err != nil || sz <= 0 {
		return fmt.Sprintf("dtype %q is not supported", descr)
	}
	ok = false
	switch a.kind {
	case 'f':
		ok = sz == 4 || sz == 8
	case 'i', 'u':
		ok = sz == 1 || sz == 2 || sz == 4 || sz == 8
	case 'b':
		ok = sz == 1
	case 'S':
		ok = sz <= 1024
	case 'U':
		ok = sz <= 1024
		sz *= 4 // UCS-4 code units
	}
	if !ok {
		return fmt.Sprintf("dtype %q is not supported (float32/64, integers, bytes or str)", descr)
	}
	a.size = sz
	return ""
}

// item returns the bytes of item k, most significant byte first.
func (a *npyArray) item(k int, buf *[8]byte) []byte {
	b := a.raw[k*a.size : (k+1)*a.size]
	if a.big {
		return b
	}
	for t := range b {
		buf[len(b)-1-t] = b[t]
	}
	return buf[:len(b)]
}

// beUint reads a big-endian unsigned integer of 1 to 8 bytes.
func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// npyInts decodes an integer array in storage order.
func npyInts(a *npyArray) ([]int64, string) {
	if a.kind != 'i' && a.kind != 'u' {
		return nil, fmt.Sprintf("dtype kind %q: want integers (int32 or int64)", a.kind)
	}
	out := make([]int64, a.count())
	var buf [8]byte
	bits := 8 * a.size
	for k := range out {
		u := beUint(a.item(k, &buf))
		if a.kind == 'i' {
			out[k] = int64(u<<(64-bits)) >> (64 - bits) // sign-extend
		} else {
			if u > math.MaxInt64 {
				return nil, fmt.Sprintf("entry %d: %d is too large", k, u)
			}
			out[k] = int64(u)
		}
	}
	return out, ""
}

// npyFloats decodes a float or integer array in storage order; integers
// must be exactly representable (|v| ≤ 2^53).
func npyFloats(a *npyArray) ([]float64, string) {
	switch a.kind {
	case 'f':
		out := make([]float64, a.count())
		var buf [8]byte
		for k := range out {
			u := beUint(a.item(k, &buf))
			if a.size == 4 {
				out[k] = float64(math.Float32frombits(uint32(u)))
			} else {
				out[k] = math.Float64frombits(u)
			}
		}
		return out, ""
	case 'i', 'u':
		v, msg := npyInts(a)
		if msg != "" {
			return nil, msg
		}
		out := make([]float64, len(v))
		for k, x := range v {
			if x > 1<<53 || x < -(1<<53) {
				return nil, fmt.Sprintf("entry %d: integer %d is not exactly a float64", k, x)
			}
			out[k] = float64(x)
		}
		return out, ""
	}
	return nil, fmt.Sprintf("dtype kind %q: want float64, float32 or integer values", a.kind)
}

// npyString decodes a one-item bytes or str array (format.npy).
func npyString(a *npyArray) (string, string) {
	if a.count() != 1 {
		return "", fmt.Sprintf("shape %v: want a single string such as b'csr'", a.shape)
	}
	switch a.kind {
	case 'S':
		return string(bytes.TrimRight(a.raw, "\x00")), ""
	case 'U':
		var sb strings.Builder
		for k := 0; k < a.size/4; k++ {
			c := binary.LittleEndian.Uint32(a.raw[4*k:])
			if a.big {
				c = binary.BigEndian.Uint32(a.raw[4*k:])
			}
			if c == 0 {
				break // numpy pads short strings with NULs
			}
			if c > utf8.MaxRune {
				return "", "not a valid str"
			}
			sb.WriteRune(rune(c))
		}
		return sb.String(), ""
	}
	return "", fmt.Sprintf("dtype kind %q: want a bytes or str scalar such as b'csr'", a.kind)
}

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

// WriteNPZ writes the couplings in the format scipy.sparse.load_npz reads:
// an uncompressed zip archive holding a CSR matrix of shape (N, N) with the
// upper triangle's nonzero couplings, J_ij for i < j in row-major order
// (indices.npy and indptr.npy int32, data.npy float64, shape.npy int64,
// format.npy the bytes scalar b'csr'), all little-endian, .npy format 1.0.
// The fields h are not part of the file. Reading it back with
// ReadNPZCouplings gives the same couplings, bit for bit. The output is the
// same bytes for the same model.
func (m *Hamiltonian) WriteNPZ(w io.Writer) error {
	n := m.N
	var indices []int32
	var data []float64
	indptr := make([]int32, 1, n+1)
	for i := 0; i < n; i++ {
		row := m.Row(i)
		for j := i + 1; j < n; j++ {
			if row[j] != 0 {
				if len(indices) == math.MaxInt32 {
					return fmt.Errorf("write npz: more than %d couplings do not fit int32 indices", math.MaxInt32)
				}
				indices = append(indices, int32(j))
				data = append(data, row[j])
			}
		}
		indptr = append(indptr, int32(len(indices)))
	}
	zw := zip.NewWriter(w)
	// The member order is the one scipy writes.
	members := []struct {
		name, descr, shape string
		body               func(*bytes.Buffer)
	}{
		{"indices.npy", "<i4", "(" + strconv.Itoa(len(indices)) + ",)", func(b *bytes.Buffer) { binary.Write(b, binary.LittleEndian, indices) }},
		{"indptr.npy", "<i4", "(" + strconv.Itoa(len(indptr)) + ",)", func(b *bytes.Buffer) { binary.Write(b, binary.LittleEndian, indptr) }},
		{"format.npy", "|S3", "()", func(b *bytes.Buffer) { b.WriteString("csr") }},
		{"shape.npy", "<i8", "(2,)", func(b *bytes.Buffer) { binary.Write(b, binary.LittleEndian, []int64{int64(n), int64(n)}) }},
		{"data.npy", "<f8", "(" + strconv.Itoa(len(data)) + ",)", func(b *bytes.Buffer) { binary.Write(b, binary.LittleEndian, data) }},
	}
	var b bytes.Buffer
	for _, mb := range members {
		b.Reset()
		b.Write(npyHeaderV1(mb.descr, mb.shape))
		mb.body(&b)
		fw, err := zw.CreateHeader(&zip.FileHeader{
			Name:     mb.name,
			Method:   zip.Store,
			Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), // fixed: same model, same bytes
		})
		if err != nil {
			return fmt.Errorf("write npz: %w", err)
		}
		if _, err := fw.Write(b.Bytes()); err != nil {
			return fmt.Errorf("write npz: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write npz: %w", err)
	}
	return nil
}

// npyHeaderV1 returns a .npy version 1.0 header for a C-ordered array,
// padded with spaces and a final newline to a multiple of 64 bytes as numpy
// writes it. shape is the Python tuple literal, e.g. "(3,)" or "()".
func npyHeaderV1(descr, shape string) []byte {
	dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	const pre = 10
	pad := (64 - (pre+len(dict)+1)%64) % 64
	hlen := len(dict) + pad + 1
	out := make([]byte, 0, pre+hlen)
	out = append(out, "\x93NUMPY\x01\x00"...)
	out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
	out = append(out, dict...)
	out = append(out, bytes.Repeat([]byte{' '}, pad)...)
	return append(out, '\n')
}
