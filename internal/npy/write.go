package npy

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// AppendHeader appends the magic string, version and header of a .npy
// array with dtype descr (e.g. "<f8", "|i1") and the given shape in C order
// to dst, padded with spaces and ended by '\n' so that the data starts at a
// multiple of 64 bytes, as numpy writes it. It uses format version 1.0, or
// 2.0 when the header does not fit 1.0's 16-bit length.
func AppendHeader(dst []byte, descr string, shape []int) []byte {
	dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + tuple(shape) + ", }"
	pre, version := 10, byte(1)
	if len(dict)+1+64 > math.MaxUint16 {
		pre, version = 12, 2
	}
	pad := (64 - (pre+len(dict)+1)%64) % 64
	hlen := len(dict) + pad + 1
	dst = append(dst, "\x93NUMPY"...)
	dst = append(dst, version, 0)
	if version == 1 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(hlen))
	} else {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(hlen))
	}
	dst = append(dst, dict...)
	dst = append(dst, strings.Repeat(" ", pad)...)
	return append(dst, '\n')
}

// tuple is a shape as a Python tuple literal: (), (3,), (3, 4).
func tuple(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// checkShape fails when len values do not fill shape exactly.
func checkShape(n int, shape []int) error {
	h := Header{Shape: shape, ItemSize: 1}
	if h.Items() != n {
		return fmt.Errorf("npy: %d values do not fill shape %v", n, shape)
	}
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
	}
	return nil
}

// Writer writes one .npy array whose shape is known before its data: the
// header first, then the items in C order, a part at a time, so that an
// array larger than memory can be written as it is produced. Close checks
// that the items fill the shape.
type Writer struct {
	bw      *bufio.Writer
	want    int // items the shape holds
	written int
	buf     []byte
}

// NewWriter writes the header of an array of dtype descr ("|i1" or "<f8",
// the dtypes of WriteInt8s and WriteFloat64s) and shape to w.
func NewWriter(w io.Writer, descr string, shape ...int) (*Writer, error) {
	h := Header{Shape: shape, ItemSize: 1}
	n := h.Items()
	if err := checkShape(n, shape); err != nil || n < 0 {
		return nil, fmt.Errorf("npy: shape %v is not a valid shape", shape)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(AppendHeader(nil, descr, shape)); err != nil {
		return nil, err
	}
	return &Writer{bw: bw, want: n, buf: make([]byte, 0, 8*min(n, writeChunk))}, nil
}

// writeChunk is the number of items WriteInt8s and WriteFloat64s encode
// at a time: the encoding buffer stays at 256 KB whatever the array's size
// (a whole-array buffer cost 2-3 times the array, e.g. 1.3 GB of garbage
// per checkpoint of an SK net of 5 million parameters).
const writeChunk = 32 << 10

// WriteInt8s writes the next len(x) items of an "|i1" array.
func (w *Writer) WriteInt8s(x []int8) error {
	return writeItems(w, x, func(b []byte, v int8) []byte { return append(b, byte(v)) })
}

// WriteFloat64s writes the next len(x) items of a "<f8" array.
func (w *Writer) WriteFloat64s(x []float64) error {
	return writeItems(w, x, func(b []byte, v float64) []byte {
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	})
}

// writeItems counts x against the declared shape and writes it writeChunk
// items at a time, each encoded by enc into w's one buffer.
func writeItems[T any](w *Writer, x []T, enc func([]byte, T) []byte) error {
	if err := w.count(len(x)); err != nil {
		return err
	}
	for len(x) > 0 {
		c := x[:min(len(x), writeChunk)]
		x = x[len(c):]
		w.buf = w.buf[:0]
		for _, v := range c {
			w.buf = enc(w.buf, v)
		}
		if _, err := w.bw.Write(w.buf); err != nil {
			return err
		}
	}
	return nil
}

// count adds n items to those written, refusing more than the shape holds.
func (w *Writer) count(n int) error {
	if w.written+n > w.want {
		return fmt.Errorf("npy: %d items written, the shape holds %d", w.written+n, w.want)
	}
	w.written += n
	return nil
}

// Close flushes the array; it fails if the items written do not fill the
// shape. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.written != w.want {
		return fmt.Errorf("npy: %d items written, the shape holds %d", w.written, w.want)
	}
	return w.bw.Flush()
}

// WriteInt8 writes x as a C-ordered int8 array of the given shape (for
// samples: (rows, N), row-major). It fails, writing nothing, if the values
// do not fill the shape.
func WriteInt8(w io.Writer, x []int8, shape ...int) error {
	if err := checkShape(len(x), shape); err != nil {
		return err
	}
	nw, err := NewWriter(w, "|i1", shape...)
	if err != nil {
		return err
	}
	if err := nw.WriteInt8s(x); err != nil {
		return err
	}
	return nw.Close()
}

// WriteFloat64 writes x as a C-ordered little-endian float64 array of the
// given shape. It fails, writing nothing, if the values do not fill the
// shape.
func WriteFloat64(w io.Writer, x []float64, shape ...int) error {
	if err := checkShape(len(x), shape); err != nil {
		return err
	}
	nw, err := NewWriter(w, "<f8", shape...)
	if err != nil {
		return err
	}
	if err := nw.WriteFloat64s(x); err != nil {
		return err
	}
	return nw.Close()
}

// ArchiveWriter writes an uncompressed .npz archive whose bytes depend only
// on its contents (fixed member timestamps), as numpy.savez would lay it out.
type ArchiveWriter struct{ zw *zip.Writer }

// NewArchiveWriter starts an archive on w.
func NewArchiveWriter(w io.Writer) *ArchiveWriter { return &ArchiveWriter{zw: zip.NewWriter(w)} }

// Add appends member name (e.g. "data.npy") holding the array with dtype
// descr and shape whose little-endian item bytes are data.
func (a *ArchiveWriter) Add(name, descr string, shape []int, data []byte) error {
	fw, err := a.zw.CreateHeader(&zip.FileHeader{
		Name:     name,
		Method:   zip.Store,
		Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), // fixed: same contents, same bytes
	})
	if err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	if _, err := fw.Write(AppendHeader(nil, descr, shape)); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	if _, err := fw.Write(data); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}

// Close finishes the archive (it does not close the underlying writer).
func (a *ArchiveWriter) Close() error {
	if err := a.zw.Close(); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}
