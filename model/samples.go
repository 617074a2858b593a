package model

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// MaxSampleItems bounds the spins a samples file may hold (4·10⁹ bytes as
// int8).
const MaxSampleItems = 1 << 32

// SamplesError is a problem with a samples file: its message names the file
// and, for a bad value, the row and spin.
type SamplesError struct {
	File string
	Msg  string
}

func (e *SamplesError) Error() string { return e.File + ": " + e.Msg }

// ReadSamples reads spin configurations from a NumPy .npy array of shape
// (M, N): M samples of N ≥ 2 spins, each +1 or -1, of any integer, bool or
// float dtype (as 'h2arnn sample' and 'h2arnn mcmc' write them, int8, or as
// numpy users keep them), in C or Fortran order. It returns the spins as
// int8 rows (sample b, spin i at x[b*N+i]) and N. Every problem is a
// *SamplesError naming the file (name) and saying what to do: not a .npy
// array, an empty file, another shape, a value other than ±1 (NaN
// included, with its row and spin).
func ReadSamples(r io.Reader, name string) (x []int8, n int, err error) {
	bad := func(format string, a ...any) error {
		return &SamplesError{File: name, Msg: fmt.Sprintf(format, a...)}
	}
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); err == io.EOF {
		return nil, 0, bad("empty file; give a .npy array of ±1 spins of shape (samples, N)")
	}
	a, err := npy.ReadAll(br, MaxSampleItems)
	if err != nil {
		return nil, 0, bad("%v; give a .npy array of ±1 spins of shape (samples, N), as numpy.save or 'h2arnn mcmc' write", err)
	}
	if len(a.Shape) != 2 || a.Shape[0] < 1 || a.Shape[1] < 2 {
		return nil, 0, bad("shape %v; want (samples, N) with at least one sample of N ≥ 2 spins", a.Shape)
	}
	rows, n := a.Shape[0], a.Shape[1]
	// at returns item k as a float64. int8, the dtype h2arnn writes, is
	// read in place: converting it to float64 first cost 17 bytes a spin
	// (776 MB for 40 MB of samples).
	var at func(k int) float64
	var v []float64
	switch {
	case a.Kind == 'i' && a.ItemSize == 1:
		at = func(k int) float64 { return float64(int8(a.Raw[k])) }
	case a.Kind == 'b':
		var ints []int64
		ints, err = a.Ints()
		v = make([]float64, len(ints))
		for k, b := range ints {
			v[k] = float64(b)
		}
	default:
		v, err = a.Floats() // refuses dtypes that are not numbers
	}
	if err != nil {
		return nil, 0, bad("%v; the samples must be numbers ±1", err)
	}
	if at == nil {
		at = func(k int) float64 { return v[k] }
	}
	x = make([]int8, rows*n)
	for k := range rows * n {
		s := at(k)
		// Storage order: C (row after row) or Fortran (column after column).
		b, i := k/n, k%n
		if a.Fortran {
			b, i = k%rows, k/rows
		}
		switch {
		case s == 1:
			x[b*n+i] = 1
		case s == -1:
			x[b*n+i] = -1
		case math.IsNaN(s):
			return nil, 0, bad("sample %d, spin %d is NaN; the samples must be ±1", b, i)
		case s == 0:
			return nil, 0, bad("sample %d, spin %d is 0; the samples must be ±1 (for 0/1 data use 2*x - 1)", b, i)
		default:
			return nil, 0, bad("sample %d, spin %d is %v; the samples must be ±1", b, i, s)
		}
	}
	return x, n, nil
}

// LoadSamples is ReadSamples of a file.
func LoadSamples(path string) ([]int8, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &SamplesError{File: path, Msg: fmt.Sprintf("cannot open (%v)", errors.Unwrap(err))}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, 0, &SamplesError{File: path, Msg: "is a directory; give a .npy file"}
	}
	return ReadSamples(f, path)
}
