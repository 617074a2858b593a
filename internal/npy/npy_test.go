package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestHeaderBytes(t *testing.T) {
	// What numpy 1.24's np.save writes for an int8 array of shape (3, 4):
	// 10 bytes of preamble, header length 118 (0x76), the dict padded with
	// 58 spaces and a newline, 128 bytes in all.
	want := "\x93NUMPY\x01\x00\x76\x00" +
		"{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4), }" +
		strings.Repeat(" ", 58) + "\n"
	if got := AppendHeader(nil, "|i1", []int{3, 4}); string(got) != want {
		t.Fatalf("header\n got %q\nwant %q", got, want)
	}
	// The padding rule holds for every shape: total a multiple of 64,
	// newline last, length field = total - 10.
	for _, sh := range [][]int{{0, 0}, {1, 1}, {20000, 200}, {123456789, 98765}, {1, 12}, nil, {7}} {
		h := AppendHeader(nil, "<f8", sh)
		if len(h)%64 != 0 || h[len(h)-1] != '\n' || int(h[8])|int(h[9])<<8 != len(h)-10 {
			t.Errorf("shape %v: header %q breaks the .npy layout", sh, h)
		}
		got, err := ReadHeader(bytes.NewReader(h))
		if err != nil || !slices.Equal(got.Shape, sh) && !(len(sh) == 0 && len(got.Shape) == 0) || got.Kind != 'f' || got.ItemSize != 8 || got.BigEndian || got.Fortran {
			t.Errorf("shape %v read back as %+v, %v", sh, got, err)
		}
	}
	if got := tuple([]int{5}); got != "(5,)" {
		t.Errorf("tuple(5) = %q", got)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	x := []int8{1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1}
	var b bytes.Buffer
	if err := WriteInt8(&b, x, 3, 4); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 128+12 {
		t.Fatalf("%d bytes, want 140", b.Len())
	}
	a, err := ReadAll(bytes.NewReader(b.Bytes()), 12)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Ints()
	if err != nil || !slices.Equal(a.Shape, []int{3, 4}) || len(v) != 12 {
		t.Fatalf("read back %v %v %v", a.Shape, v, err)
	}
	for k := range x {
		if v[k] != int64(x[k]) {
			t.Fatalf("item %d = %d, want %d", k, v[k], x[k])
		}
	}
	// One item fewer allowed than the shape holds: refused before reading.
	if _, err := ReadAll(bytes.NewReader(b.Bytes()), 11); err == nil || !strings.Contains(err.Error(), "more than the 11 items") {
		t.Errorf("bound: %v", err)
	}
	for _, sh := range [][]int{{3, 3}, {4, 4}, {-3, -4}, {0, 4}} {
		b.Reset()
		if err := WriteInt8(&b, x, sh...); err == nil || b.Len() != 0 {
			t.Errorf("shape %v for 12 values: err=%v, wrote %d bytes", sh, err, b.Len())
		}
	}
	f := []float64{0, -1.5, math.Inf(1), math.SmallestNonzeroFloat64, math.MaxFloat64, -0.0}
	b.Reset()
	if err := WriteFloat64(&b, f, 2, 3); err != nil {
		t.Fatal(err)
	}
	a, err = ReadAll(&b, 6)
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Floats()
	if err != nil {
		t.Fatal(err)
	}
	for k := range f {
		if math.Float64bits(g[k]) != math.Float64bits(f[k]) {
			t.Errorf("float %d: %v, want %v", k, g[k], f[k])
		}
	}
	if _, err := a.Ints(); err == nil {
		t.Error("floats decoded as integers")
	}
}

// rawNPY builds a version-1 .npy file from a header dict and data bytes.
func rawNPY(dict string, data []byte) []byte {
	h := []byte("\x93NUMPY\x01\x00")
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)+1))
	h = append(h, dict...)
	h = append(h, '\n')
	return append(h, data...)
}

func TestDecodeVariants(t *testing.T) {
	// Big-endian int16, Fortran order, Python 2 long in the shape.
	a, err := ReadAll(bytes.NewReader(rawNPY("{'descr': '>i2', 'fortran_order': True, 'shape': (2L, 1), }", []byte{0xff, 0xfe, 0x01, 0x00})), 8)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Ints()
	if err != nil || !slices.Equal(v, []int64{-2, 256}) || !a.Fortran || !slices.Equal(a.Shape, []int{2, 1}) {
		t.Errorf("got %v %v %+v", v, err, a.Header)
	}
	// uint64 above MaxInt64 is refused; float32 widens exactly.
	a, _ = ReadAll(bytes.NewReader(rawNPY("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", bytes.Repeat([]byte{0xff}, 8))), 1)
	if _, err := a.Ints(); err == nil {
		t.Error("2^64-1 accepted as int64")
	}
	a, _ = ReadAll(bytes.NewReader(rawNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", []byte{0, 0, 0xc0, 0x3f})), 1)
	if f, err := a.Floats(); err != nil || f[0] != 1.5 {
		t.Errorf("float32: %v %v", f, err)
	}
	// Integers beyond 2^53 are not exactly floats.
	big := binary.LittleEndian.AppendUint64(nil, 1<<53+1)
	a, _ = ReadAll(bytes.NewReader(rawNPY("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", big)), 1)
	if _, err := a.Floats(); err == nil {
		t.Error("2^53+1 accepted as a float64")
	}
	// Strings: bytes with NUL padding, UCS-4 str in both byte orders.
	for _, c := range []struct {
		dict string
		data []byte
	}{
		{"{'descr': '|S5', 'fortran_order': False, 'shape': (), }", []byte("csr\x00\x00")},
		{"{'descr': '<U4', 'fortran_order': False, 'shape': (), }", []byte("c\x00\x00\x00s\x00\x00\x00r\x00\x00\x00\x00\x00\x00\x00")},
		{"{'descr': '>U3', 'fortran_order': False, 'shape': (), }", []byte("\x00\x00\x00c\x00\x00\x00s\x00\x00\x00r")},
	} {
		a, err := ReadAll(bytes.NewReader(rawNPY(c.dict, c.data)), 1)
		if err != nil {
			t.Fatalf("%s: %v", c.dict, err)
		}
		if s, err := a.Text(); err != nil || s != "csr" {
			t.Errorf("%s: %q %v", c.dict, s, err)
		}
	}
	// A version 2.0 header (32-bit length) is read too.
	dict := "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }\n"
	h := append([]byte("\x93NUMPY\x02\x00"), binary.LittleEndian.AppendUint32(nil, uint32(len(dict)))...)
	h = append(append(h, dict...), 1, 0xff)
	if a, err := ReadAll(bytes.NewReader(h), 2); err != nil || a.Len() != 2 {
		t.Errorf("version 2: %v", err)
	}
}

func TestRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no \\x93NUMPY magic"},
		{"text", []byte("0 1 0.5\n"), "no \\x93NUMPY magic"},
		{"version", []byte("\x93NUMPY\x04\x00\x00\x00"), "version 4.0"},
		{"truncated header", []byte("\x93NUMPY\x01\x00\x40\x00{'descr'"), "truncated .npy header"},
		{"structured", rawNPY("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", nil), "structured"},
		{"no order", rawNPY("{'descr': '<i4', 'shape': (1,), }", nil), "'fortran_order'"},
		{"no shape", rawNPY("{'descr': '<i4', 'fortran_order': False, }", nil), "'shape'"},
		{"byte order", rawNPY("{'descr': '=i4', 'fortran_order': False, 'shape': (1,), }", nil), "byte order"},
		{"dtype", rawNPY("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", nil), "not supported"},
		{"size sign", rawNPY("{'descr': '<f+8', 'fortran_order': False, 'shape': (1,), }", nil), "not supported"},
		{"duplicate key", rawNPY("{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", nil), "given twice"},
		{"negative", rawNPY("{'descr': '<i4', 'fortran_order': False, 'shape': (-1,), }", nil), "non-negative"},
		{"short data", rawNPY("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", []byte{1, 0, 0, 0}), "truncated"},
		{"trailing", rawNPY("{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", make([]byte, 1+maxTrailing+1)), "bytes after the data"},
		{"latin1", rawNPY("{'descr': '|i1', 'fortran_order': False, 'shape': (1,), '\xe9': 1}", nil), "not text"},
	} {
		_, err := ReadAll(bytes.NewReader(c.in), 100)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestArchive(t *testing.T) {
	var b bytes.Buffer
	aw := NewArchiveWriter(&b)
	if err := aw.Add("a.npy", "<f8", []int{2}, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.5)), math.Float64bits(-2))); err != nil {
		t.Fatal(err)
	}
	if err := aw.Add("s.npy", "|S3", nil, []byte("coo")); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	first := slices.Clone(b.Bytes())
	ar, err := OpenArchive(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ar.Names(), []string{"a.npy", "s.npy"}) || !ar.Has("a.npy") || ar.Has("b.npy") {
		t.Errorf("names %v", ar.Names())
	}
	h, err := ar.Header("a.npy")
	if err != nil || !slices.Equal(h.Shape, []int{2}) || h.DataBytes() != 16 {
		t.Errorf("header %+v %v", h, err)
	}
	a, err := ar.Read("a.npy", 2)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := a.Floats(); !slices.Equal(f, []float64{0.5, -2}) {
		t.Errorf("a.npy = %v", f)
	}
	if _, err := ar.Read("a.npy", 1); err == nil || !strings.HasPrefix(err.Error(), "a.npy: ") {
		t.Errorf("bound: %v", err)
	}
	if _, err := ar.Read("b.npy", 1); err == nil || !strings.Contains(err.Error(), "b.npy: missing") {
		t.Errorf("missing member: %v", err)
	}
	// Same contents, same bytes.
	b.Reset()
	aw = NewArchiveWriter(&b)
	aw.Add("a.npy", "<f8", []int{2}, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.5)), math.Float64bits(-2)))
	aw.Add("s.npy", "|S3", nil, []byte("coo"))
	aw.Close()
	if !bytes.Equal(b.Bytes(), first) {
		t.Error("archive bytes differ between two identical writes")
	}
	// A flipped data bit fails the CRC check.
	at := bytes.Index(first, []byte("coo"))
	bad := slices.Clone(first)
	bad[at] ^= 1
	ar, _ = OpenArchive(bytes.NewReader(bad), int64(len(bad)))
	if _, err := ar.Read("s.npy", 1); err == nil || !strings.Contains(err.Error(), "damaged archive member") {
		t.Errorf("CRC: %v", err)
	}
	if _, err := OpenArchive(strings.NewReader("not a zip"), 9); err == nil {
		t.Error("text opened as an archive")
	}
}

// FuzzRead: no input makes Read panic or return an array whose bytes do
// not match its declared shape.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	WriteInt8(&b, []int8{1, -1, 1, 1}, 2, 2)
	f.Add(b.Bytes())
	f.Add(rawNPY("{'descr': '>U3', 'fortran_order': True, 'shape': (1L,), }", make([]byte, 12)))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadAll(bytes.NewReader(in), 1<<12)
		if err != nil {
			return
		}
		if int64(len(a.Raw)) != a.DataBytes() {
			t.Fatalf("%d bytes for shape %v of %d-byte items", len(a.Raw), a.Shape, a.ItemSize)
		}
		a.Ints()
		a.Floats()
		a.Text()
	})
}
