package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// npyFile builds a version-1 .npy file from a header dict and data bytes.
func npyFile(dict string, data []byte) []byte {
	h := []byte("\x93NUMPY\x01\x00")
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)+1))
	h = append(h, dict...)
	h = append(h, '\n')
	return append(h, data...)
}

func f64s(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func TestReadSamples(t *testing.T) {
	want := []int8{1, -1, -1, 1, 1, 1}
	var i8 bytes.Buffer
	if err := npy.WriteInt8(&i8, want, 2, 3); err != nil {
		t.Fatal(err)
	}
	// The same 2×3 matrix as float64 in Fortran order (column after column)
	// and as big-endian int32.
	fortran := npyFile("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f64s(1, 1, -1, 1, -1, 1))
	var be []byte
	for _, v := range want {
		be = binary.BigEndian.AppendUint32(be, uint32(int32(v)))
	}
	bigInt := npyFile("{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }", be)
	for name, b := range map[string][]byte{"int8": i8.Bytes(), "fortran f8": fortran, "big-endian i4": bigInt} {
		x, n, err := ReadSamples(bytes.NewReader(b), name)
		if err != nil || n != 3 || !slices.Equal(x, want) {
			t.Errorf("%s: %v %d %v", name, x, n, err)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		msg  string
	}{
		{"empty", nil, "empty"},
		{"text", []byte("0 1 0.5\n"), "not a .npy"},
		{"1-D", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f64s(1, 1, -1)), "shape"},
		{"one spin", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }", f64s(1, 1, -1)), "shape"},
		{"no rows", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", nil), "shape"},
		{"NaN", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64s(1, 1, -1, math.NaN())), "sample 1, spin 1 is NaN"},
		{"half", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", f64s(1, 0.5)), "spin 1 is 0.5"},
		{"0/1", npyFile("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", []byte{1, 0}), "2*x - 1"},
		{"bool", npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2), }", []byte{1, 0}), "2*x - 1"},
		{"strings", npyFile("{'descr': '|S1', 'fortran_order': False, 'shape': (1, 2), }", []byte("ab")), "numbers"},
		{"truncated", i8.Bytes()[:len(i8.Bytes())-2], "truncated"},
	} {
		_, _, err := ReadSamples(bytes.NewReader(c.b), "f.npy")
		var se *SamplesError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "f.npy: ") {
			t.Errorf("%s: error %v, want a SamplesError naming f.npy and saying %q", c.name, err, c.msg)
		}
	}
	if _, _, err := LoadSamples(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: %v", err)
	}
	if _, _, err := LoadSamples("/nonexistent/x.npy"); err == nil {
		t.Error("a missing file was read")
	}
}
