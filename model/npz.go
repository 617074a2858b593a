package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/internal/npy"
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
	return LoadNPZCouplingsMax(path, n, MaxSpins)
}

// LoadNPZCouplingsMax is LoadNPZCouplings admitting at most maxN spins (at
// most MaxSpins), as LoadCouplingsMax: a larger matrix is refused from its
// declared shape, before anything is inflated or allocated.
func LoadNPZCouplingsMax(path string, n, maxN int) (*Hamiltonian, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open couplings file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open couplings file: %w", err)
	}
	return readNPZCouplings(f, fi.Size(), path, n, min(maxN, MaxSpins))
}

// readNPZCouplings is ReadNPZCouplings with the largest admissible N as a
// parameter, so that fuzzing never allocates MaxSpins² matrices. It reads
// the format and the shape, lets the loader of that format produce the
// stored entries, and assembles the matrix from them.
func readNPZCouplings(r io.ReaderAt, size int64, name string, n, maxN int) (*Hamiltonian, error) {
	if n > maxN {
		return nil, &NPZError{File: name, Msg: fmt.Sprintf("N=%d: at most %d spins are supported (dense couplings)", n, maxN)}
	}
	zr, err := npy.OpenArchive(r, size)
	if err != nil {
		return nil, npzErr(name, err, "not an .npz (zip) archive as scipy.sparse.save_npz writes")
	}
	z := &npzReader{ar: zr, name: name}
	format, dim, err := z.formatAndShape(n, maxN)
	if err != nil {
		return nil, err
	}
	if err := z.checkDeclared(format, dim); err != nil {
		return nil, err
	}
	var e *sparseEntries
	switch format {
	case "csr", "csc":
		e, err = z.compressed(format, dim)
	case "coo":
		e, err = z.coo(dim)
	default:
		return nil, z.fail("format.npy", "sparse format %q is not supported; save the matrix as csr, csc or coo (e.g. scipy.sparse.csr_matrix(J))", format)
	}
	if err != nil {
		return nil, err
	}
	N := dim
	if n > 0 {
		N = n
	}
	m, err := z.assemble(e, dim, N)
	if err != nil {
		return nil, err
	}
	m.Kind = "file"
	m.Source = "npz couplings=" + strconv.Quote(name)
	return m, nil
}

// npzErr turns an error of package npy into an *NPZError naming the file
// and, for a member's problem, the member. what replaces a whole-archive
// error's own wording.
func npzErr(name string, err error, what string) error {
	var me *npy.MemberError
	if errors.As(err, &me) {
		return &NPZError{File: name, Array: me.Member, Msg: me.Err.Error()}
	}
	if what != "" {
		return &NPZError{File: name, Msg: fmt.Sprintf("%s: %v", what, err)}
	}
	return &NPZError{File: name, Msg: err.Error()}
}

// npzReader reads the members of one scipy.sparse archive, with messages
// naming the file and member.
type npzReader struct {
	ar   *npy.Archive
	name string
}

func (z *npzReader) fail(member, format string, args ...any) error {
	return &NPZError{File: z.name, Array: member, Msg: fmt.Sprintf(format, args...)}
}

// load reads member, an array of at most maxItems items.
func (z *npzReader) load(member string, maxItems int) (*npy.Array, error) {
	if !z.ar.Has(member) {
		return nil, z.fail(member, "missing; is this a file from scipy.sparse.save_npz?")
	}
	a, err := z.ar.Read(member, maxItems)
	if err != nil {
		return nil, npzErr(z.name, err, "")
	}
	return a, nil
}

// ints reads member as a 1-d integer array of at most maxItems items.
func (z *npzReader) ints(member string, maxItems int) ([]int64, *npy.Array, error) {
	a, err := z.load(member, maxItems)
	if err != nil {
		return nil, nil, err
	}
	v, err := a.Ints()
	if err == nil && len(a.Shape) != 1 {
		err = fmt.Errorf("shape %v: want a 1-d array", a.Shape)
	}
	if err != nil {
		return nil, nil, z.fail(member, "%v", err)
	}
	return v, a, nil
}

// formatAndShape reads format.npy and shape.npy, which bound every other
// array, and returns the format and the matrix dimension.
func (z *npzReader) formatAndShape(n, maxN int) (format string, dim int, err error) {
	fa, err := z.load("format.npy", 64)
	if err != nil {
		return "", 0, err
	}
	if format, err = fa.Text(); err != nil {
		return "", 0, z.fail("format.npy", "%v", err)
	}
	sa, err := z.load("shape.npy", 16)
	if err != nil {
		return "", 0, err
	}
	shape, err := sa.Ints()
	if err == nil && (len(sa.Shape) != 1 || len(shape) != 2) {
		err = fmt.Errorf("shape %v: want two integers (rows, columns)", sa.Shape)
	}
	if err != nil {
		return "", 0, z.fail("shape.npy", "%v", err)
	}
	rows, cols := shape[0], shape[1]
	switch {
	case rows != cols:
		return "", 0, z.fail("shape.npy", "the matrix is %d×%d; a coupling matrix is square (N×N)", rows, cols)
	case rows < 1:
		return "", 0, z.fail("shape.npy", "the matrix is %d×%d; it needs at least one spin", rows, cols)
	case rows > int64(maxN):
		return "", 0, z.fail("shape.npy", "the matrix is %d×%d; at most %d spins are supported (dense couplings)", rows, cols, maxN)
	case n > 0 && int64(n) < rows:
		return "", 0, z.fail("shape.npy", "the matrix is %d×%d but N=%d was asked for; give N ≥ %d or none", rows, cols, n, rows)
	}
	return format, int(rows), nil
}

// checkDeclared compares the shapes the members declare with each other
// and with the matrix dimension before any member's data is decompressed.
// A small compressed file can declare a huge array (400 million zeros
// deflate to 3 MB); an archive whose arrays cannot fit together is refused
// for the cost of reading a few headers, not of inflating gigabytes. The
// messages are those of the checks on the decoded arrays. An unknown
// format is left to the caller.
func (z *npzReader) checkDeclared(format string, dim int) error {
	maxNNZ := dim * dim
	header := func(member string, dims, maxItems int) (*npy.Header, error) {
		if !z.ar.Has(member) {
			return nil, z.fail(member, "missing; is this a file from scipy.sparse.save_npz?")
		}
		h, err := z.ar.Header(member)
		if err != nil {
			return nil, npzErr(z.name, err, "")
		}
		if n := h.Items(); n < 0 || n > maxItems {
			return nil, z.fail(member, "shape %v holds more than the %d items an array here can have", h.Shape, maxItems)
		}
		if dims == 1 && len(h.Shape) != 1 {
			return nil, z.fail(member, "shape %v: want a 1-d array", h.Shape)
		}
		return h, nil
	}
	var stored int // entries the index arrays declare
	var what string
	switch format {
	case "csr", "csc":
		hi, err := header("indices.npy", 1, maxNNZ)
		if err != nil {
			return err
		}
		hp, err := header("indptr.npy", 1, dim+1)
		if err != nil {
			return err
		}
		if hp.Shape[0] != dim+1 {
			return z.fail("indptr.npy", "shape %v: want (%d,), one more than the matrix dimension %d", hp.Shape, dim+1, dim)
		}
		stored, what = hi.Shape[0], fmt.Sprintf("but indices.npy has %d entries", hi.Shape[0])
	case "coo":
		if z.ar.Has("coords.npy") {
			hc, err := header("coords.npy", 2, 2*maxNNZ)
			if err != nil {
				return err
			}
			if len(hc.Shape) != 2 || hc.Shape[0] != 2 {
				return z.fail("coords.npy", "shape %v: want (2, nnz), the rows then the columns", hc.Shape)
			}
			stored = hc.Shape[1]
		} else {
			hr, err := header("row.npy", 1, maxNNZ)
			if err != nil {
				return err
			}
			hc, err := header("col.npy", 1, maxNNZ)
			if err != nil {
				return err
			}
			if hr.Shape[0] != hc.Shape[0] {
				return z.fail("col.npy", "%d entries but row.npy has %d; they must match", hc.Shape[0], hr.Shape[0])
			}
			stored = hr.Shape[0]
		}
		what = fmt.Sprintf("for %d stored positions", stored)
	default:
		return nil
	}
	hd, err := header("data.npy", 0, maxNNZ)
	if err != nil {
		return err
	}
	if hd.Items() != stored {
		return z.fail("data.npy", "%d values %s; they must match", hd.Items(), what)
	}
	if len(hd.Shape) != 1 {
		return z.fail("data.npy", "shape %v: want a 1-d array", hd.Shape)
	}
	return nil
}

// sparseEntries are the stored entries of a sparse matrix: entry k is
// (i[k], j[k], v[k]); iName and jName are the members the indices came
// from, for messages.
type sparseEntries struct {
	i, j         []int64
	v            []float64
	iName, jName string
}

// values reads data.npy: count values, 1-d, float or integer.
func (z *npzReader) values(count, maxItems int, what string) ([]float64, error) {
	da, err := z.load("data.npy", maxItems)
	if err != nil {
		return nil, err
	}
	if da.Len() != count {
		return nil, z.fail("data.npy", "%d values %s; they must match", da.Len(), what)
	}
	if len(da.Shape) != 1 {
		return nil, z.fail("data.npy", "shape %v: want a 1-d array", da.Shape)
	}
	v, err := da.Floats()
	if err != nil {
		return nil, z.fail("data.npy", "%v", err)
	}
	return v, nil
}

// compressed loads a csr or csc matrix: indptr (dim+1 offsets) and
// indices. Like scipy, storage past indptr[-1] is not part of the matrix.
func (z *npzReader) compressed(format string, dim int) (*sparseEntries, error) {
	maxNNZ := dim * dim // more entries than that must repeat a pair
	indices, _, err := z.ints("indices.npy", maxNNZ)
	if err != nil {
		return nil, err
	}
	indptr, ptr, err := z.ints("indptr.npy", dim+1)
	if err == nil && len(indptr) != dim+1 {
		err = z.fail("indptr.npy", "shape %v: want (%d,), one more than the matrix dimension %d", ptr.Shape, dim+1, dim)
	}
	if err != nil {
		return nil, err
	}
	if indptr[0] != 0 {
		return nil, z.fail("indptr.npy", "starts at %d; indptr[0] must be 0", indptr[0])
	}
	for k := 1; k <= dim; k++ {
		if indptr[k] < indptr[k-1] {
			return nil, z.fail("indptr.npy", "decreases at position %d (%d after %d); indptr must be non-decreasing", k, indptr[k], indptr[k-1])
		}
	}
	if last := indptr[dim]; last > int64(len(indices)) {
		return nil, z.fail("indptr.npy", "ends at %d but indices.npy has only %d entries", last, len(indices))
	}
	vals, err := z.values(len(indices), maxNNZ, fmt.Sprintf("but indices.npy has %d entries", len(indices)))
	if err != nil {
		return nil, err
	}
	nnz := int(indptr[dim])
	outer := make([]int64, nnz)
	for k := 0; k < dim; k++ {
		for p := indptr[k]; p < indptr[k+1]; p++ {
			outer[p] = int64(k)
		}
	}
	e := &sparseEntries{i: outer, j: indices[:nnz], v: vals[:nnz], iName: "indptr.npy", jName: "indices.npy"}
	if format == "csc" {
		e.i, e.j, e.iName, e.jName = e.j, e.i, e.jName, e.iName
	}
	return e, nil
}

// coo loads a coo matrix: row.npy and col.npy, or coords.npy of shape
// (2, nnz) as newer scipy writes for sparse arrays.
func (z *npzReader) coo(dim int) (*sparseEntries, error) {
	maxNNZ := dim * dim
	e := &sparseEntries{}
	if z.ar.Has("coords.npy") {
		ca, err := z.load("coords.npy", 2*maxNNZ)
		if err != nil {
			return nil, err
		}
		coords, err := ca.Ints()
		if err == nil && (len(ca.Shape) != 2 || ca.Shape[0] != 2) {
			err = fmt.Errorf("shape %v: want (2, nnz), the rows then the columns", ca.Shape)
		}
		if err != nil {
			return nil, z.fail("coords.npy", "%v", err)
		}
		nnz := ca.Shape[1]
		e.i, e.j = make([]int64, nnz), make([]int64, nnz)
		for k := 0; k < nnz; k++ {
			if ca.Fortran {
				e.i[k], e.j[k] = coords[2*k], coords[2*k+1]
			} else {
				e.i[k], e.j[k] = coords[k], coords[nnz+k]
			}
		}
		e.iName, e.jName = "coords.npy", "coords.npy"
	} else {
		var err error
		if e.i, _, err = z.ints("row.npy", maxNNZ); err != nil {
			return nil, err
		}
		if e.j, _, err = z.ints("col.npy", maxNNZ); err != nil {
			return nil, err
		}
		if len(e.i) != len(e.j) {
			return nil, z.fail("col.npy", "%d entries but row.npy has %d; they must match", len(e.j), len(e.i))
		}
		e.iName, e.jName = "row.npy", "col.npy"
	}
	var err error
	e.v, err = z.values(len(e.i), maxNNZ, fmt.Sprintf("for %d stored positions", len(e.i)))
	return e, err
}

// assemble builds the N-spin model from the entries of a dim×dim matrix:
// each entry (i, j, v) sets J_ij = J_ji = v; see ReadNPZCouplings for what
// is refused.
func (z *npzReader) assemble(e *sparseEntries, dim, N int) (*Hamiltonian, error) {
	m := NewHamiltonian(N)
	// seen marks the ordered pairs (i, j) already stored, one bit each.
	seen := make([]uint64, (dim*dim+63)/64)
	rows := int64(dim)
	for k := range e.i {
		i, j := e.i[k], e.j[k]
		if i < 0 || i >= rows {
			return nil, z.fail(e.iName, "entry %d: row index %d is outside 0..%d", k, i, dim-1)
		}
		if j < 0 || j >= rows {
			return nil, z.fail(e.jName, "entry %d: column index %d is outside 0..%d", k, j, dim-1)
		}
		v := e.v[k]
		if !fmath.Finite(v) {
			return nil, z.fail("data.npy", "entry %d (%d, %d): value %v is not a finite number", k, i, j, v)
		}
		if i == j {
			return nil, z.fail("data.npy", "entry %d: diagonal element (%d, %d) = %v is stored; J_ii is always 0, so drop the diagonal (scipy.sparse.triu(J, k=1))", k, i, j, v)
		}
		p := int(i)*dim + int(j)
		if seen[p/64]&(1<<(p%64)) != 0 {
			return nil, z.fail(e.jName, "entry %d: (%d, %d) is stored twice; call sum_duplicates() or store each pair once", k, i, j)
		}
		seen[p/64] |= 1 << (p % 64)
		q := int(j)*dim + int(i)
		if seen[q/64]&(1<<(q%64)) != 0 {
			if w := m.Coupling(int(i), int(j)); w != v {
				return nil, z.fail("data.npy", "entry %d: (%d, %d) = %v but (%d, %d) = %v; a coupling matrix is symmetric, so store equal values or one triangle only (scipy.sparse.triu(J, k=1))", k, i, j, v, j, i, w)
			}
			continue
		}
		m.SetCoupling(int(i), int(j), v)
	}
	return m, nil
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
	le := func(v any) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, v)
		return b.Bytes()
	}
	aw := npy.NewArchiveWriter(w)
	// The member order is the one scipy writes.
	for _, mb := range []struct {
		name, descr string
		shape       []int
		data        []byte
	}{
		{"indices.npy", "<i4", []int{len(indices)}, le(indices)},
		{"indptr.npy", "<i4", []int{len(indptr)}, le(indptr)},
		{"format.npy", "|S3", nil, []byte("csr")},
		{"shape.npy", "<i8", []int{2}, le([]int64{int64(n), int64(n)})},
		{"data.npy", "<f8", []int{len(data)}, le(data)},
	} {
		if err := aw.Add(mb.name, mb.descr, mb.shape, mb.data); err != nil {
			return fmt.Errorf("write npz: %w", err)
		}
	}
	return aw.Close()
}
