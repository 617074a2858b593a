// Package netfile reads and writes the sections of a saved net and of a
// training checkpoint: a file that is a sequence of .npy arrays, each a
// JSON document (a 1-D uint8 array of its UTF-8 bytes) or a 1-D
// little-endian float64 array. numpy reads such a file one array after the
// other with repeated numpy.load calls on one open file, and every section
// can be read without the ones after it (a checkpoint begins with a saved
// net, which model.Load reads on its own).
//
// Float arrays are protected by checksums (Checksum, SHA-256 of the values)
// that the JSON section before them records; model and grad check them.
package netfile

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// MaxJSON bounds the bytes of a JSON section.
const MaxJSON = 1 << 24

// WriteJSON writes v, marshalled by encoding/json, as a 1-D uint8 .npy
// array.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(npy.AppendHeader(nil, "|u1", []int{len(b)}))
	bw.Write(b)
	return bw.Flush()
}

// ReadJSON reads a JSON section written by WriteJSON from r into v,
// reading exactly its bytes. what names the section in errors.
func ReadJSON(r io.Reader, v any, what string) error {
	a, err := npy.Read(r, MaxJSON)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if a.Kind != 'u' || a.ItemSize != 1 || len(a.Shape) != 1 {
		return fmt.Errorf("%s: an array of shape %v and kind %q, want 1-D uint8 (JSON bytes)", what, a.Shape, a.Kind)
	}
	if err := json.Unmarshal(a.Raw, v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// WriteFloats writes x as a 1-D little-endian float64 .npy array.
func WriteFloats(w io.Writer, x []float64) error {
	return npy.WriteFloat64(w, x, len(x))
}

// ReadFloats reads a 1-D float64 array of exactly n items from r, reading
// exactly its bytes. what names the array in errors.
func ReadFloats(r io.Reader, n int, what string) ([]float64, error) {
	a, err := npy.Read(r, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if a.Kind != 'f' || a.ItemSize != 8 || len(a.Shape) != 1 || a.Shape[0] != n {
		return nil, fmt.Errorf("%s: an array of shape %v, dtype kind %q size %d; want %d float64 values", what, a.Shape, a.Kind, a.ItemSize, n)
	}
	return a.Floats()
}

// Checksum returns the hexadecimal SHA-256 of the little-endian IEEE-754
// bits of the values of xs, one slice after the other.
func Checksum(xs ...[]float64) string {
	h := sha256.New()
	var buf [8 * 512]byte
	for _, x := range xs {
		for len(x) > 0 {
			k := min(len(x), 512)
			for i, v := range x[:k] {
				binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
			}
			h.Write(buf[:8*k])
			x = x[k:]
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
