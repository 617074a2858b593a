// Package npy reads and writes NumPy's .npy arrays and .npz archives (zip
// files of .npy members), the formats numpy.save, numpy.savez and
// scipy.sparse.save_npz write. It is the one codec the model package (sparse
// coupling matrices, sample files) and the output package (samples, ln q,
// energies) share.
//
// Reading never panics on malformed input and never trusts a declared size:
// an array's bytes are read as they arrive, up to a caller-given bound on the
// number of items, so a small file claiming a huge array costs only what it
// holds. Every .npz member is read to its end so that archive/zip checks its
// CRC-32, as numpy does. (A comparison with codeberg.org/sbinet/npyio found
// that it panics on some malformed headers and skips the CRC; that is why
// this package exists.)
//
// Supported: format versions 1.0, 2.0 and 3.0; dtypes float32/float64,
// signed and unsigned integers of 1 to 8 bytes, bool, bytes ('S') and str
// ('U') in either byte order; C or Fortran order (items are returned in
// storage order, see Array.Fortran). Structured dtypes are refused.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeader bounds a .npy header's length in bytes; numpy's own headers are
// well below a kilobyte, and numpy refuses headers above 10000 bytes by
// default.
const MaxHeader = 1 << 16

// Header is the description of an array: what the .npy header says.
type Header struct {
	// Kind is numpy's dtype kind: 'f' float, 'i' signed and 'u' unsigned
	// integer, 'b' bool, 'S' bytes, 'U' str.
	Kind byte
	// ItemSize is the number of bytes per item (4 per character for 'U').
	ItemSize int
	// BigEndian says that multi-byte items are stored most significant
	// byte first.
	BigEndian bool
	// Fortran says that the items are stored in column-major order.
	Fortran bool
	// Shape is the array's shape; () is a scalar with one item.
	Shape []int
}

// Items returns the number of items the shape holds, or -1 when that number
// does not fit an int.
func (h *Header) Items() int {
	count := 1
	for _, d := range h.Shape {
		if d > 0 && count > math.MaxInt/d {
			return -1
		}
		count *= d
	}
	return count
}

// DataBytes returns the number of data bytes the header announces, or -1
// when that number does not fit an int64.
func (h *Header) DataBytes() int64 {
	n := h.Items()
	if n < 0 || int64(n) > math.MaxInt64/int64(h.ItemSize) {
		return -1
	}
	return int64(n) * int64(h.ItemSize)
}

// Array is one decoded array: its header and its raw item bytes in storage
// order.
type Array struct {
	Header
	Raw []byte
}

// Len returns the number of items.
func (a *Array) Len() int { return len(a.Raw) / a.ItemSize }

// ReadHeader reads the magic string, the version and the header of a .npy
// stream, leaving r at the first data byte.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return nil, errors.New("not a .npy array (no \\x93NUMPY magic)")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errors.New("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, errors.New("truncated .npy header")
		}
		h := binary.LittleEndian.Uint32(b[:])
		if h > MaxHeader {
			return nil, fmt.Errorf(".npy header of %d bytes is too long", h)
		}
		hlen = int(h)
	default:
		return nil, fmt.Errorf(".npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", pre[6], pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, errors.New("truncated .npy header")
	}
	// Versions 1 and 2 are latin-1 but numpy writes ASCII; 3 is UTF-8.
	if pre[6] < 3 && !isASCII(hdr) || !utf8.Valid(hdr) {
		return nil, errors.New(".npy header is not text")
	}
	return parseHeader(string(hdr))
}

// Read reads one .npy array of at most maxItems items from r and stops at
// its last data byte. The item bound is checked against the header before
// any data is read, and the data buffer grows only as bytes arrive.
func Read(r io.Reader, maxItems int) (*Array, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	if err := h.checkItems(maxItems); err != nil {
		return nil, err
	}
	return readData(r, h)
}

// readData reads the data of an array whose header h was just read from r.
// The buffer grows as the bytes arrive rather than trusting the declared
// size.
func readData(r io.Reader, h *Header) (*Array, error) {
	nbytes := h.DataBytes()
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, nbytes); err != nil {
		return nil, fmt.Errorf("truncated: shape %v needs %d data bytes: %v", h.Shape, nbytes, err)
	}
	return &Array{Header: *h, Raw: buf.Bytes()}, nil
}

// ReadAll reads a whole .npy file: one array of at most maxItems items and
// nothing after it (a few stray bytes at the end, as some writers leave,
// are tolerated up to maxTrailing).
func ReadAll(r io.Reader, maxItems int) (*Array, error) {
	br := bufio.NewReader(r)
	a, err := Read(br, maxItems)
	if err != nil {
		return nil, err
	}
	if err := drain(br, a, "reading after the data"); err != nil {
		return nil, err
	}
	return a, nil
}

// maxTrailing bounds the bytes a file or member may hold after its data;
// numpy ignores them, and so do we up to this bound.
const maxTrailing = 1 << 16

// drain reads r to its end (so that a zip member's CRC is verified) and
// refuses more than maxTrailing bytes after the data of a. what names a
// read error.
func drain(r io.Reader, a *Array, what string) error {
	k, err := io.CopyN(io.Discard, r, maxTrailing+1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %v", what, err)
	}
	if k > maxTrailing {
		return fmt.Errorf("more than %d bytes after the data of shape %v; not a .npy array", maxTrailing, a.Shape)
	}
	return nil
}

// checkItems refuses a shape holding more than maxItems items.
func (h *Header) checkItems(maxItems int) error {
	n := h.Items()
	if n < 0 || n > maxItems {
		return fmt.Errorf("shape %v holds more than the %d items an array here can have", h.Shape, maxItems)
	}
	return nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// parseHeader reads the Python dict literal of a .npy header.
func parseHeader(text string) (*Header, error) {
	p := &pyLit{s: text}
	d, msg := p.dict()
	if msg != "" {
		return nil, errors.New("malformed .npy header: " + msg)
	}
	descr, ok := d["descr"].(string)
	if !ok {
		if _, isList := d["descr"].([]int64); isList || d["descr"] == nil {
			return nil, errors.New("structured or missing dtype ('descr'); save plain numeric arrays")
		}
		return nil, errors.New("'descr' is not a dtype string")
	}
	fortran, ok := d["fortran_order"].(bool)
	if !ok {
		return nil, errors.New("'fortran_order' is missing or not True/False")
	}
	shape, ok := d["shape"].([]int64)
	if !ok {
		return nil, errors.New("'shape' is missing or not a tuple of integers")
	}
	h := &Header{Fortran: fortran}
	for _, v := range shape {
		if v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %d in shape %v is out of range", v, shape)
		}
		h.Shape = append(h.Shape, int(v))
	}
	if err := h.setDescr(descr); err != nil {
		return nil, err
	}
	return h, nil
}

// setDescr sets Kind, ItemSize and BigEndian from a dtype string such as
// "<f8", "|i1" or ">U3".
func (h *Header) setDescr(descr string) error {
	if len(descr) < 3 {
		return fmt.Errorf("dtype %q is not supported", descr)
	}
	switch descr[0] {
	case '<', '|':
	case '>':
		h.BigEndian = true
	default:
		return fmt.Errorf("dtype %q: byte order %q is not one of < > |", descr, descr[0])
	}
	h.Kind = descr[1]
	sz, err := strconv.Atoi(descr[2:])
	if err != nil || sz <= 0 || strings.IndexFunc(descr[2:], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return fmt.Errorf("dtype %q is not supported", descr)
	}
	ok := false
	switch h.Kind {
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
		return fmt.Errorf("dtype %q is not supported (float32/64, integers, bool, bytes or str)", descr)
	}
	h.ItemSize = sz
	return nil
}

// item returns the bytes of item k, most significant byte first.
func (a *Array) item(k int, buf *[8]byte) []byte {
	b := a.Raw[k*a.ItemSize : (k+1)*a.ItemSize]
	if a.BigEndian {
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

// Ints decodes an integer (or bool) array in storage order.
func (a *Array) Ints() ([]int64, error) {
	if a.Kind != 'i' && a.Kind != 'u' && a.Kind != 'b' {
		return nil, fmt.Errorf("dtype kind %q: want integers (such as int8, int32 or int64)", a.Kind)
	}
	out := make([]int64, a.Len())
	var buf [8]byte
	bits := 8 * a.ItemSize
	for k := range out {
		u := beUint(a.item(k, &buf))
		switch {
		case a.Kind == 'i':
			out[k] = int64(u<<(64-bits)) >> (64 - bits) // sign-extend
		case u > math.MaxInt64:
			return nil, fmt.Errorf("entry %d: %d is too large", k, u)
		default:
			out[k] = int64(u)
		}
	}
	return out, nil
}

// Floats decodes a float or integer array in storage order; integers must
// be exactly representable (|v| ≤ 2^53).
func (a *Array) Floats() ([]float64, error) {
	switch a.Kind {
	case 'f':
		out := make([]float64, a.Len())
		var buf [8]byte
		for k := range out {
			u := beUint(a.item(k, &buf))
			if a.ItemSize == 4 {
				out[k] = float64(math.Float32frombits(uint32(u)))
			} else {
				out[k] = math.Float64frombits(u)
			}
		}
		return out, nil
	case 'i', 'u':
		v, err := a.Ints()
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(v))
		for k, x := range v {
			if x > 1<<53 || x < -(1<<53) {
				return nil, fmt.Errorf("entry %d: integer %d is not exactly a float64", k, x)
			}
			out[k] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype kind %q: want float64, float32 or integer values", a.Kind)
}

// Text decodes a one-item bytes or str array, such as the format.npy member
// (b'csr') of a SciPy sparse matrix. NUL padding is dropped.
func (a *Array) Text() (string, error) {
	if a.Len() != 1 {
		return "", fmt.Errorf("shape %v: want a single string such as b'csr'", a.Shape)
	}
	switch a.Kind {
	case 'S':
		return string(bytes.TrimRight(a.Raw, "\x00")), nil
	case 'U':
		var sb strings.Builder
		for k := 0; k < a.ItemSize/4; k++ {
			c := binary.LittleEndian.Uint32(a.Raw[4*k:])
			if a.BigEndian {
				c = binary.BigEndian.Uint32(a.Raw[4*k:])
			}
			if c == 0 {
				break // numpy pads short strings with NULs
			}
			if c > utf8.MaxRune {
				return "", errors.New("not a valid str")
			}
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	}
	return "", fmt.Errorf("dtype kind %q: want a bytes or str scalar such as b'csr'", a.Kind)
}
