package output

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// NPYHeaderInt8 returns the header of a NumPy .npy file (format version
// 1.0) for a C-ordered int8 array of shape (rows, cols): the magic
// "\x93NUMPY", the version bytes 1 0, the header length as a little-endian
// uint16, and the dict literal
//
//	{'descr': '|i1', 'fortran_order': False, 'shape': (rows, cols), }
//
// padded with spaces and ended by '\n' so that the whole header (and so the
// start of the data) is a multiple of 64 bytes long, as numpy writes it.
func NPYHeaderInt8(rows, cols int) []byte {
	dict := "{'descr': '|i1', 'fortran_order': False, 'shape': (" +
		strconv.Itoa(rows) + ", " + strconv.Itoa(cols) + "), }"
	const pre = 6 + 2 + 2 // magic, version, header length
	pad := (64 - (pre+len(dict)+1)%64) % 64
	hlen := len(dict) + pad + 1
	out := make([]byte, 0, pre+hlen)
	out = append(out, "\x93NUMPY"...)
	out = append(out, 1, 0, byte(hlen), byte(hlen>>8))
	out = append(out, dict...)
	for range pad {
		out = append(out, ' ')
	}
	return append(out, '\n')
}

// WriteNPYInt8 writes x, a rows×cols matrix stored row-major (sample b,
// spin i at x[b*cols+i]), as a .npy int8 array that numpy.load reads with
// shape (rows, cols). It fails, writing nothing, if len(x) != rows*cols or a
// dimension is negative. Use it inside WriteFileAtomic for a file.
func WriteNPYInt8(w io.Writer, x []int8, rows, cols int) error {
	if rows < 0 || cols < 0 || (cols > 0 && rows > len(x)/cols) || len(x) != rows*cols {
		return fmt.Errorf("npy: %d values do not fill shape (%d, %d)", len(x), rows, cols)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(NPYHeaderInt8(rows, cols))
	for _, v := range x {
		bw.WriteByte(byte(v))
	}
	return bw.Flush()
}
