package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// The fixtures in testdata/npz were written by numpy 1.24 (scipy was not
// installed on the machine): np.savez_compressed / np.savez with exactly the
// member names, dtypes and values scipy.sparse.save_npz passes to them, so
// they are the bytes scipy writes. The script:
//
//	pairs = [(0,1,0.5),(0,3,-1.25),(1,2,0.375),(2,4,2.0),(3,4,-0.0625),(1,4,0.1)]
//	csr_upper.npz:     savez_compressed(indices=int32, indptr=int32, format=b'csr',
//	                   shape=(5, 5), data=float64)            upper triangle, CSR
//	csc_full_f4be.npz: savez(indices='>i8', indptr='>i8', format='csc' (str),
//	                   shape=int32, data='>f4', _is_array=True) both triangles
//	                   without the (1,4) pair, CSC
//	coo_lower.npz:     savez_compressed(row=int32, col=int32, format=b'coo',
//	                   shape=(5, 5), data=float64)            lower triangle, unsorted
var npzFixturePairs = map[[2]int]float64{{0, 1}: 0.5, {0, 3}: -1.25, {1, 2}: 0.375, {2, 4}: 2.0, {3, 4}: -0.0625, {1, 4}: 0.1}

func TestReadNPZFixtures(t *testing.T) {
	for _, c := range []struct {
		file    string
		without [2]int // a pair the file leaves out
	}{
		{"csr_upper.npz", [2]int{-1, -1}},
		{"csc_full_f4be.npz", [2]int{1, 4}},
		{"coo_lower.npz", [2]int{-1, -1}},
	} {
		path := filepath.Join("testdata", "npz", c.file)
		m, err := LoadNPZCouplings(path, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if m.N != 5 || m.Kind != "file" || !strings.Contains(m.Source, c.file) {
			t.Fatalf("%s: N=%d kind=%q source=%q", c.file, m.N, m.Kind, m.Source)
		}
		for i := 0; i < 5; i++ {
			if m.H[i] != 0 {
				t.Errorf("%s: h[%d] = %v", c.file, i, m.H[i])
			}
			for j := 0; j < 5; j++ {
				p := [2]int{min(i, j), max(i, j)}
				want := npzFixturePairs[p]
				if p == c.without {
					want = 0
				}
				if got := m.Coupling(i, j); math.Float64bits(got) != math.Float64bits(want) && !(got == 0 && want == 0) {
					t.Errorf("%s: J[%d][%d] = %v, want %v", c.file, i, j, got, want)
				}
			}
		}
	}
	// N may be raised above the matrix dimension, not lowered below it.
	m, err := LoadNPZCouplings(filepath.Join("testdata", "npz", "csr_upper.npz"), 8)
	if err != nil || m.N != 8 || m.Coupling(1, 4) != 0.1 || m.Coupling(6, 7) != 0 {
		t.Fatalf("n=8: %v", err)
	}
	if _, err := LoadNPZCouplings(filepath.Join("testdata", "npz", "csr_upper.npz"), 4); err == nil || !strings.Contains(err.Error(), "shape.npy: the matrix is 5×5 but N=4") {
		t.Errorf("n=4: err = %v", err)
	}
}

func TestWriteNPZRoundTrip(t *testing.T) {
	sk, err := SherringtonKirkpatrick(9, 1, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Zero couplings (a whole empty row, and an isolated zero) are not
	// stored and read back as zero.
	for j := 0; j < 9; j++ {
		if j != 4 {
			sk.SetCoupling(4, j, 0)
		}
	}
	sk.SetCoupling(0, 8, 0)
	cw, _ := CurieWeiss(6, 1, 0)
	one := NewHamiltonian(1)
	for _, m := range []*Hamiltonian{sk, cw, one} {
		var b bytes.Buffer
		if err := m.WriteNPZ(&b); err != nil {
			t.Fatal(err)
		}
		var b2 bytes.Buffer
		m.WriteNPZ(&b2)
		if !bytes.Equal(b.Bytes(), b2.Bytes()) {
			t.Error("two writes of one model differ")
		}
		got, err := ReadNPZCouplings(bytes.NewReader(b.Bytes()), int64(b.Len()), "rt.npz", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.N != m.N {
			t.Fatalf("N = %d, want %d", got.N, m.N)
		}
		for k := range m.J {
			if math.Float64bits(got.J[k]) != math.Float64bits(m.J[k]) {
				t.Fatalf("N=%d: J[%d] = %v, want %v", m.N, k, got.J[k], m.J[k])
			}
		}
	}

	// The members are the ones scipy.sparse.load_npz needs, in scipy's
	// order, stored, with numpy's headers. Checked for the 6-spin CW model:
	// 15 couplings, indptr of 7 entries.
	var b bytes.Buffer
	cw.WriteNPZ(&b)
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, dict string }{
		{"indices.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (15,), }"},
		{"indptr.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }"},
		{"format.npy", "{'descr': '|S3', 'fortran_order': False, 'shape': (), }"},
		{"shape.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"},
		{"data.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (15,), }"},
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d members, want %d", len(zr.File), len(want))
	}
	for k, f := range zr.File {
		if f.Name != want[k].name || f.Method != zip.Store {
			t.Errorf("member %d: %s method %d, want %s stored", k, f.Name, f.Method, want[k].name)
		}
		rc, _ := f.Open()
		var body bytes.Buffer
		body.ReadFrom(rc)
		rc.Close()
		hdr := "\x93NUMPY\x01\x00\x76\x00" + want[k].dict + strings.Repeat(" ", 117-len(want[k].dict)) + "\n"
		if !strings.HasPrefix(body.String(), hdr) {
			t.Errorf("%s header %q, want %q", f.Name, body.Bytes()[:min(128, body.Len())], hdr)
			continue
		}
		rest := body.Bytes()[128:]
		switch f.Name {
		case "format.npy":
			if string(rest) != "csr" {
				t.Errorf("format %q", rest)
			}
		case "shape.npy":
			if len(rest) != 16 || binary.LittleEndian.Uint64(rest) != 6 || binary.LittleEndian.Uint64(rest[8:]) != 6 {
				t.Errorf("shape bytes %v", rest)
			}
		case "indptr.npy":
			wantPtr := []int32{0, 5, 9, 12, 14, 15, 15}
			for i, v := range wantPtr {
				if got := int32(binary.LittleEndian.Uint32(rest[4*i:])); got != v {
					t.Errorf("indptr[%d] = %d, want %d", i, got, v)
				}
			}
		case "data.npy":
			if len(rest) != 15*8 || math.Float64frombits(binary.LittleEndian.Uint64(rest)) != 1.0/6 {
				t.Errorf("data: %d bytes, first %v", len(rest), math.Float64frombits(binary.LittleEndian.Uint64(rest)))
			}
		}
	}
}

// TestWriteNPZLoadsInPython checks WriteNPZ against numpy.load and, when
// scipy is installed, scipy.sparse.load_npz, using the interpreter named by
// H2ARNN_PYTHON (default python3). It is skipped when that interpreter or
// numpy is missing.
func TestWriteNPZLoadsInPython(t *testing.T) {
	py := os.Getenv("H2ARNN_PYTHON")
	if py == "" {
		py = "python3"
	}
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available (set H2ARNN_PYTHON): %v", py, err)
	}
	m, _ := SherringtonKirkpatrick(7, 1, 0, 5)
	m.SetCoupling(2, 5, 0)
	path := filepath.Join(t.TempDir(), "j.npz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteNPZ(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The script rebuilds the dense upper triangle from the CSR arrays
	// (and through scipy if present) and prints it with repr, which is
	// exact for float64.
	script := `
import sys, numpy as np
z = np.load(sys.argv[1], allow_pickle=False)
assert sorted(z.files) == ['data', 'format', 'indices', 'indptr', 'shape'], z.files
assert z['format'].item() == b'csr' and z['format'].dtype.str == '|S3' and z['format'].shape == ()
assert z['indices'].dtype.str == '<i4' and z['indptr'].dtype.str == '<i4' and z['data'].dtype.str == '<f8'
assert z['shape'].dtype.str == '<i8' and tuple(z['shape']) == (7, 7)
n = int(z['shape'][0]); J = np.zeros((n, n))
ptr, ind, dat = z['indptr'], z['indices'], z['data']
for i in range(n):
    J[i, ind[ptr[i]:ptr[i+1]]] = dat[ptr[i]:ptr[i+1]]
try:
    import scipy.sparse
    S = scipy.sparse.load_npz(sys.argv[1])
    assert S.format == 'csr' and (S.toarray() == J).all()
    print('scipy')
except ImportError:
    print('numpy')
print(' '.join(repr(float(v)) for v in J.ravel()))
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", py, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("checked with %s", lines[0])
	vals := strings.Fields(lines[len(lines)-1])
	if len(vals) != 49 {
		t.Fatalf("python printed %d values, want 49", len(vals))
	}
	for k, s := range vals {
		i, j := k/7, k%7
		want := 0.0
		if j > i {
			want = m.Coupling(i, j)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("J[%d][%d]: python read %s, want %v", i, j, s, want)
		}
	}
}

// npyMember is one array of a hand-built .npz: a dtype, a shape literal
// and the raw data bytes.
type npyMember struct {
	name, descr, shape string
	raw                []byte
	fortran            bool
	header             []byte // if set, the whole .npy file instead
}

// buildNPZ assembles a zip of .npy members byte for byte, per the .npy
// format 1.0 specification.
func buildNPZ(t testing.TB, members []npyMember) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		// Stored, so that fuzzing mutates the .npy bytes themselves.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if m.header != nil {
			w.Write(m.header)
			continue
		}
		fo := "False"
		if m.fortran {
			fo = "True"
		}
		dict := "{'descr': '" + m.descr + "', 'fortran_order': " + fo + ", 'shape': " + m.shape + ", }"
		pad := (64 - (10+len(dict)+1)%64) % 64
		h := []byte("\x93NUMPY\x01\x00")
		h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)+pad+1))
		h = append(h, dict...)
		h = append(h, bytes.Repeat([]byte(" "), pad)...)
		h = append(h, '\n')
		w.Write(h)
		w.Write(m.raw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func npzLE32(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func npzLE64(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func npzF64(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// npzCSR returns the members of a 3×3 CSR matrix with the given
// indptr, indices and data.
func npzCSR(indptr, indices []int32, data []float64) []npyMember {
	return []npyMember{
		{"indices.npy", "<i4", npzShape(len(indices)), npzLE32(indices...), false, nil},
		{"indptr.npy", "<i4", npzShape(len(indptr)), npzLE32(indptr...), false, nil},
		{"format.npy", "|S3", "()", []byte("csr"), false, nil},
		{"shape.npy", "<i8", "(2,)", npzLE64(3, 3), false, nil},
		{"data.npy", "<f8", npzShape(len(data)), npzF64(data...), false, nil},
	}
}

func npzShape(n int) string { return "(" + npzItoa(n) + ",)" }

func npzItoa(n int) string {
	if n < 0 {
		return "-" + npzItoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return npzItoa(n/10) + string(rune('0'+n%10))
}

// npzReplace returns members with the one named name replaced by m.
func npzReplace(members []npyMember, m npyMember) []npyMember {
	out := append([]npyMember(nil), members...)
	for k := range out {
		if out[k].name == m.name {
			out[k] = m
			return out
		}
	}
	return append(out, m)
}

func npzWithout(members []npyMember, name string) []npyMember {
	var out []npyMember
	for _, m := range members {
		if m.name != name {
			out = append(out, m)
		}
	}
	return out
}

func TestReadNPZAcceptsVariants(t *testing.T) {
	check := func(name string, b []byte, n int, want map[[2]int]float64) {
		t.Helper()
		m, err := readNPZCouplings(bytes.NewReader(b), int64(len(b)), name, n, 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := 0; i < m.N; i++ {
			for j := 0; j < m.N; j++ {
				if got, w := m.Coupling(i, j), want[[2]int{min(i, j), max(i, j)}]; got != w {
					t.Errorf("%s: J[%d][%d] = %v, want %v", name, i, j, got, w)
				}
			}
		}
	}
	want := map[[2]int]float64{{0, 1}: 0.5, {0, 2}: -2, {1, 2}: 0.25}
	// Upper triangle.
	base := npzCSR([]int32{0, 2, 3, 3}, []int32{1, 2, 2}, []float64{0.5, -2, 0.25})
	check("upper.npz", buildNPZ(t, base), 0, want)
	// Full symmetric: each pair twice with equal values, used once.
	full := npzCSR([]int32{0, 2, 4, 6}, []int32{1, 2, 0, 2, 0, 1}, []float64{0.5, -2, 0.5, 0.25, -2, 0.25})
	check("full.npz", buildNPZ(t, full), 0, want)
	// Mixed triangles; storage past indptr[-1] is ignored as scipy does.
	mixed := npzCSR([]int32{0, 1, 1, 3}, []int32{1, 0, 1, 7}, []float64{0.5, -2, 0.25, math.NaN()})
	check("mixed.npz", buildNPZ(t, mixed), 0, want)
	// COO as coords (2, nnz), C and Fortran order, big-endian int64.
	be := func(v ...int64) []byte {
		var b []byte
		for _, x := range v {
			b = binary.BigEndian.AppendUint64(b, uint64(x))
		}
		return b
	}
	coo := []npyMember{
		{"coords.npy", ">i8", "(2, 3)", be(0, 2, 1, 1, 0, 2), false, nil},
		{"format.npy", "<U3", "()", []byte("c\x00\x00\x00o\x00\x00\x00o\x00\x00\x00"), false, nil},
		{"shape.npy", "<i4", "(2,)", npzLE32(3, 3), false, nil},
		{"data.npy", "<f8", "(3,)", npzF64(0.5, -2, 0.25), false, nil},
		{"_is_array.npy", "|b1", "()", []byte{1}, false, nil},
	}
	check("coordsC.npz", buildNPZ(t, coo), 0, want)
	coo[0] = npyMember{"coords.npy", ">i8", "(2, 3)", be(0, 1, 2, 0, 1, 2), true, nil}
	check("coordsF.npz", buildNPZ(t, coo), 4, want)
	// Integer data and float32 data.
	ints := npzReplace(base, npyMember{"data.npy", "<i2", "(3,)", []byte{7, 0, 0xfd, 0xff, 1, 0}, false, nil})
	check("ints.npz", buildNPZ(t, ints), 0, map[[2]int]float64{{0, 1}: 7, {0, 2}: -3, {1, 2}: 1})
	f32 := npzReplace(base, npyMember{"data.npy", ">f4", "(3,)", []byte{0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3e, 0x80, 0, 0}, false, nil})
	check("f32.npz", buildNPZ(t, f32), 0, want)
	// CSC of the lower triangle is the upper triangle in CSR.
	csc := npzReplace(base, npyMember{"format.npy", "|S3", "()", []byte("csc"), false, nil})
	check("csc.npz", buildNPZ(t, csc), 0, want)
}

func TestReadNPZRejects(t *testing.T) {
	base := npzCSR([]int32{0, 2, 3, 3}, []int32{1, 2, 2}, []float64{0.5, -2, 0.25})
	hdr := func(dict string) []byte {
		h := []byte("\x93NUMPY\x01\x00")
		h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)))
		return append(h, dict...)
	}
	cases := []struct {
		name    string
		members []npyMember
		n       int
		array   string // "" for the archive as a whole
		want    string
	}{
		{"missing format", npzWithout(base, "format.npy"), 0, "format.npy", "missing"},
		{"missing data", npzWithout(base, "data.npy"), 0, "data.npy", "missing"},
		{"missing indptr", npzWithout(base, "indptr.npy"), 0, "indptr.npy", "missing"},
		{"bsr", npzReplace(base, npyMember{"format.npy", "|S3", "()", []byte("bsr"), false, nil}), 0, "format.npy", `"bsr" is not supported`},
		{"format not string", npzReplace(base, npyMember{"format.npy", "<i8", "()", npzLE64(1), false, nil}), 0, "format.npy", "want a bytes or str"},
		{"not square", npzReplace(base, npyMember{"shape.npy", "<i8", "(2,)", npzLE64(3, 4), false, nil}), 0, "shape.npy", "square"},
		{"shape of 3", npzReplace(base, npyMember{"shape.npy", "<i8", "(3,)", npzLE64(3, 3, 3), false, nil}), 0, "shape.npy", "two integers"},
		{"empty matrix", npzReplace(base, npyMember{"shape.npy", "<i8", "(2,)", npzLE64(0, 0), false, nil}), 0, "shape.npy", "at least one spin"},
		{"too big", npzReplace(base, npyMember{"shape.npy", "<i8", "(2,)", npzLE64(65, 65), false, nil}), 0, "shape.npy", "at most 64 spins"},
		{"N too small", base, 2, "shape.npy", "N=2 was asked"},
		{"N above max", base, 65, "", "at most 64 spins"},
		{"diagonal", npzCSR([]int32{0, 1, 1, 1}, []int32{0}, []float64{1}), 0, "data.npy", "diagonal element (0, 0)"},
		{"duplicate", npzCSR([]int32{0, 2, 2, 2}, []int32{1, 1}, []float64{1, 1}), 0, "indices.npy", "(0, 1) is stored twice"},
		{"asymmetric", npzCSR([]int32{0, 1, 2, 2}, []int32{1, 0}, []float64{1, 0.5}), 0, "data.npy", "(1, 0) = 0.5 but (0, 1) = 1"},
		{"nan", npzCSR([]int32{0, 1, 1, 1}, []int32{1}, []float64{math.NaN()}), 0, "data.npy", "not a finite number"},
		{"inf", npzCSR([]int32{0, 1, 1, 1}, []int32{1}, []float64{math.Inf(-1)}), 0, "data.npy", "not a finite number"},
		{"index too large", npzCSR([]int32{0, 1, 1, 1}, []int32{3}, []float64{1}), 0, "indices.npy", "column index 3 is outside 0..2"},
		{"negative index", npzCSR([]int32{0, 1, 1, 1}, []int32{-1}, []float64{1}), 0, "indices.npy", "column index -1"},
		{"indptr start", npzCSR([]int32{1, 1, 1, 1}, []int32{1}, []float64{1}), 0, "indptr.npy", "indptr[0] must be 0"},
		{"indptr decreasing", npzCSR([]int32{0, 2, 1, 2}, []int32{1, 2}, []float64{1, 1}), 0, "indptr.npy", "decreases at position 2"},
		{"indptr past indices", npzCSR([]int32{0, 1, 2, 3}, []int32{1, 2}, []float64{1, 1}), 0, "indptr.npy", "ends at 3"},
		{"indptr length", npzCSR([]int32{0, 1, 1}, []int32{1}, []float64{1}), 0, "indptr.npy", "want (4,)"},
		{"data length", npzCSR([]int32{0, 1, 1, 1}, []int32{1}, []float64{1, 2}), 0, "data.npy", "2 values but indices.npy has 1"},
		{"float16", npzReplace(base, npyMember{"data.npy", "<f2", "(3,)", make([]byte, 6), false, nil}), 0, "data.npy", `dtype "<f2" is not supported`},
		{"float indices", npzReplace(base, npyMember{"indices.npy", "<f8", "(3,)", npzF64(1, 2, 2), false, nil}), 0, "indices.npy", "want integers"},
		{"structured", npzReplace(base, npyMember{name: "data.npy", header: hdr("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }\n")}), 0, "data.npy", "structured"},
		{"bad magic", npzReplace(base, npyMember{name: "data.npy", header: []byte("NUMPY\x01\x00")}), 0, "data.npy", "magic"},
		{"version 4", npzReplace(base, npyMember{name: "data.npy", header: []byte("\x93NUMPY\x04\x00\x00\x00")}), 0, "data.npy", "version 4.0"},
		{"truncated header", npzReplace(base, npyMember{name: "data.npy", header: []byte("\x93NUMPY\x01\x00\xff\x00{'descr'")}), 0, "data.npy", "truncated .npy header"},
		{"no shape key", npzReplace(base, npyMember{name: "data.npy", header: hdr("{'descr': '<f8', 'fortran_order': False}\n")}), 0, "data.npy", "'shape' is missing"},
		{"garbage dict", npzReplace(base, npyMember{name: "data.npy", header: hdr("{'descr': '<f8' 'x'}")}), 0, "data.npy", "malformed .npy header"},
		{"truncated data", npzReplace(base, npyMember{"data.npy", "<f8", "(3,)", npzF64(1, 2), false, nil}), 0, "data.npy", "truncated"},
		{"huge shape", npzReplace(base, npyMember{"data.npy", "<f8", "(100000,)", npzF64(1, 2, 3), false, nil}), 0, "data.npy", "more than the 9 items"},
		{"2-d data", npzReplace(base, npyMember{"data.npy", "<f8", "(3, 1)", npzF64(0.5, -2, 0.25), false, nil}), 0, "data.npy", "want a 1-d array"},
		{"duplicate member", append(append([]npyMember(nil), base...), base[0]), 0, "indices.npy", "appears twice"},
		{"coo lengths", []npyMember{
			{"row.npy", "<i4", "(2,)", npzLE32(0, 1), false, nil},
			{"col.npy", "<i4", "(1,)", npzLE32(1), false, nil},
			{"format.npy", "|S3", "()", []byte("coo"), false, nil},
			{"shape.npy", "<i8", "(2,)", npzLE64(3, 3), false, nil},
			{"data.npy", "<f8", "(1,)", npzF64(1), false, nil},
		}, 0, "col.npy", "1 entries but row.npy has 2"},
		{"coords shape", []npyMember{
			{"coords.npy", "<i8", "(3, 1)", npzLE64(0, 1, 2), false, nil},
			{"format.npy", "|S3", "()", []byte("coo"), false, nil},
			{"shape.npy", "<i8", "(2,)", npzLE64(3, 3), false, nil},
			{"data.npy", "<f8", "(1,)", npzF64(1), false, nil},
		}, 0, "coords.npy", "want (2, nnz)"},
	}
	for _, c := range cases {
		b := buildNPZ(t, c.members)
		_, err := readNPZCouplings(bytes.NewReader(b), int64(len(b)), "bad.npz", c.n, 64)
		var ne *NPZError
		if !errors.As(err, &ne) {
			t.Errorf("%s: err = %v, want an *NPZError", c.name, err)
			continue
		}
		if ne.File != "bad.npz" || ne.Array != c.array || !strings.Contains(ne.Msg, c.want) {
			t.Errorf("%s: got %q, want array %q and %q", c.name, err, c.array, c.want)
		}
		if !strings.HasPrefix(err.Error(), "bad.npz: ") {
			t.Errorf("%s: %q does not start with the file name", c.name, err)
		}
	}
	// A damaged member (one data bit flipped, CRC-32 now wrong) is
	// refused, as numpy refuses it.
	good := buildNPZ(t, base)
	at := bytes.Index(good, npzF64(0.25))
	if at < 0 {
		t.Fatal("data bytes not found in the stored archive")
	}
	bad := append([]byte(nil), good...)
	bad[at] ^= 1
	if _, err := readNPZCouplings(bytes.NewReader(bad), int64(len(bad)), "crc.npz", 0, 64); err == nil || !strings.Contains(err.Error(), "crc.npz: data.npy: damaged archive member") {
		t.Errorf("flipped bit: err = %v", err)
	}
	// Not a zip at all, and an empty input.
	for _, in := range []string{"0 1 0.5\n", ""} {
		_, err := ReadNPZCouplings(strings.NewReader(in), int64(len(in)), "text.npz", 0)
		if err == nil || !strings.Contains(err.Error(), "text.npz: not an .npz (zip) archive") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
	if _, err := LoadNPZCouplings(filepath.Join(t.TempDir(), "missing.npz"), 0); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// npzSeeds are valid and nearly valid inputs for FuzzReadNPZ; the same
// bytes are committed under testdata/fuzz/FuzzReadNPZ.
func npzSeeds(t testing.TB) [][]byte {
	base := npzCSR([]int32{0, 2, 3, 3}, []int32{1, 2, 2}, []float64{0.5, -2, 0.25})
	full := npzCSR([]int32{0, 2, 4, 6}, []int32{1, 2, 0, 2, 0, 1}, []float64{0.5, -2, 0.5, 0.25, -2, 0.25})
	coo := []npyMember{
		{"coords.npy", "<i8", "(2, 2)", npzLE64(0, 1, 1, 2), false, nil},
		{"format.npy", "|S3", "()", []byte("coo"), false, nil},
		{"shape.npy", "<i8", "(2,)", npzLE64(3, 3), false, nil},
		{"data.npy", "<f4", "(2,)", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, false, nil},
	}
	seeds := [][]byte{
		buildNPZ(t, base),
		buildNPZ(t, full),
		buildNPZ(t, coo),
		buildNPZ(t, npzCSR([]int32{0, 2, 1, 2}, []int32{1, 2}, []float64{1, 1})),
	}
	for _, f := range []string{"csr_upper.npz", "csc_full_f4be.npz", "coo_lower.npz"} {
		b, err := os.ReadFile(filepath.Join("testdata", "npz", f))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzReadNPZ feeds arbitrary bytes to the reader: it must never panic,
// and whatever it accepts must be a valid model (N within bounds, J
// symmetric and finite with a zero diagonal, no fields); every rejection
// must be an *NPZError naming the input.
func FuzzReadNPZ(f *testing.F) {
	for _, s := range npzSeeds(f) {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		checkFuzzedNPZ(t, data, n)
	})
}

// checkFuzzedNPZ reads one fuzzed input with N at most 64: no panic; a
// rejection is an *NPZError naming the input; an accepted model is valid and
// survives WriteNPZ and a second read unchanged.
func checkFuzzedNPZ(t *testing.T, data []byte, n int) {
	n %= 70
	m, err := readNPZCouplings(bytes.NewReader(data), int64(len(data)), "fuzz.npz", n, 64)
	if err != nil {
		var ne *NPZError
		if !errors.As(err, &ne) || ne.File != "fuzz.npz" || m != nil {
			t.Fatalf("rejection %v (%T) with model %v", err, err, m)
		}
		return
	}
	if m.N < 1 || m.N > 64 || (n > 0 && m.N != n) || len(m.J) != m.N*m.N || len(m.H) != m.N {
		t.Fatalf("accepted a model of N=%d (n=%d)", m.N, n)
	}
	for i := 0; i < m.N; i++ {
		if m.H[i] != 0 || m.Coupling(i, i) != 0 {
			t.Fatalf("h[%d]=%v J[%d][%d]=%v", i, m.H[i], i, i, m.Coupling(i, i))
		}
		for j := 0; j < m.N; j++ {
			if v := m.Coupling(i, j); !fmath.Finite(v) || v != m.Coupling(j, i) {
				t.Fatalf("J[%d][%d]=%v J[%d][%d]=%v", i, j, v, j, i, m.Coupling(j, i))
			}
		}
	}
	// What was accepted survives a write and a read unchanged.
	var b bytes.Buffer
	if err := m.WriteNPZ(&b); err != nil {
		t.Fatal(err)
	}
	m2, err := readNPZCouplings(bytes.NewReader(b.Bytes()), int64(b.Len()), "rt.npz", m.N, 64)
	if err != nil {
		t.Fatal(err)
	}
	for k := range m.J {
		if m.J[k] != m2.J[k] {
			t.Fatalf("round trip changed J[%d]: %v -> %v", k, m.J[k], m2.J[k])
		}
	}
}

// FuzzReadNPZMembers fuzzes the .npy members themselves: the harness zips
// the five arrays of a CSR file (with valid CRCs, which mutated archive
// bytes rarely keep), so that the fuzzer explores the header parser, the
// dtypes and the CSR checks. Same guarantees as FuzzReadNPZ.
func FuzzReadNPZMembers(f *testing.F) {
	for _, s := range npzMemberSeeds(f) {
		f.Add(s[0], s[1], s[2], s[3], s[4], 0)
	}
	f.Fuzz(func(t *testing.T, format, shape, data, indices, indptr []byte, n int) {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for k, body := range [][]byte{format, shape, data, indices, indptr} {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: npzMemberNames[k], Method: zip.Store})
			w.Write(body)
		}
		zw.Close()
		checkFuzzedNPZ(t, b.Bytes(), n)
	})
}

// npzMemberNames are the members FuzzReadNPZMembers zips, in its
// argument order.
var npzMemberNames = []string{"format.npy", "shape.npy", "data.npy", "indices.npy", "indptr.npy"}

// npzMemberSeeds returns the .npy files of a few CSR matrices, in the
// order of npzMemberNames.
func npzMemberSeeds(t testing.TB) [][5][]byte {
	var out [][5][]byte
	for _, ms := range [][]npyMember{
		npzCSR([]int32{0, 2, 3, 3}, []int32{1, 2, 2}, []float64{0.5, -2, 0.25}),
		npzCSR([]int32{0, 2, 4, 6}, []int32{1, 2, 0, 2, 0, 1}, []float64{0.5, -2, 0.5, 0.25, -2, 0.25}),
		npzReplace(npzCSR([]int32{0, 1, 1, 1}, []int32{1}, []float64{1}), npyMember{"format.npy", "<U3", "()", []byte("c\x00\x00\x00s\x00\x00\x00c\x00\x00\x00"), false, nil}),
	} {
		var parts [5][]byte
		for k, name := range npzMemberNames {
			for _, m := range ms {
				if m.name != name {
					continue
				}
				one := buildNPZ(t, []npyMember{m})
				zr, err := zip.NewReader(bytes.NewReader(one), int64(len(one)))
				if err != nil {
					t.Fatal(err)
				}
				rc, _ := zr.File[0].Open()
				var b bytes.Buffer
				b.ReadFrom(rc)
				rc.Close()
				parts[k] = b.Bytes()
			}
		}
		out = append(out, parts)
	}
	return out
}

// TestWriteNPZFuzzSeeds writes the seed corpus of FuzzReadNPZ into
// testdata/fuzz/FuzzReadNPZ when H2ARNN_WRITE_FUZZ_SEEDS=1 (run it after
// changing npzSeeds, then commit the files).
func TestWriteNPZFuzzSeeds(t *testing.T) {
	if os.Getenv("H2ARNN_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set H2ARNN_WRITE_FUZZ_SEEDS=1 to rewrite the seed corpus")
	}
	write := func(target string, k int, args ...[]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			b.WriteString("[]byte(" + npzGoQuote(a) + ")\n")
		}
		b.WriteString("int(0)\n")
		if err := os.WriteFile(filepath.Join(dir, "seed"+npzItoa(k)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, s := range npzSeeds(t) {
		write("FuzzReadNPZ", k, s)
	}
	for k, s := range npzMemberSeeds(t) {
		write("FuzzReadNPZMembers", k, s[:]...)
	}
}

// npzGoQuote quotes bytes as a Go string literal with \x escapes for
// everything outside printable ASCII, as the fuzz corpus format expects.
func npzGoQuote(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			const hex = "0123456789abcdef"
			s.WriteString("\\x")
			s.WriteByte(hex[c>>4])
			s.WriteByte(hex[c&15])
		}
	}
	s.WriteByte('"')
	return s.String()
}
