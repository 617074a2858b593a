package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// npyHeader returns the header of a NumPy .npy file, format version 1.0,
// for a C-ordered int8 array of shape [rows, cols]: the magic "\x93NUMPY",
// the version bytes 1 0, a little-endian uint16 header length, and the
// Python dict literal padded with spaces and ended by '\n' so that the data
// starts at a multiple of 64 bytes (the alignment numpy itself writes).
func npyHeader(rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '|i1', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	const pre = 10 // magic (6) + version (2) + header length (2)
	total := pre + len(dict) + 1
	pad := (64 - total%64) % 64
	hlen := len(dict) + pad + 1
	out := make([]byte, 0, pre+hlen)
	out = append(out, "\x93NUMPY"...)
	out = append(out, 1, 0, byte(hlen), byte(hlen>>8))
	out = append(out, dict...)
	out = append(out, strings.Repeat(" ", pad)...)
	return append(out, '\n')
}

// writeNpyInt8 writes x (rows×cols, row-major) as an int8 .npy array.
func writeNpyInt8(w io.Writer, x []int8, rows, cols int) error {
	if len(x) != rows*cols {
		return fmt.Errorf("npy: %d values for shape [%d, %d]", len(x), rows, cols)
	}
	bw := bufio.NewWriter(w)
	bw.Write(npyHeader(rows, cols))
	for _, v := range x {
		bw.WriteByte(byte(v))
	}
	return bw.Flush()
}

// saveNpyInt8 writes the array to path through a temporary file renamed
// into place, so that a reader never sees half a file.
func saveNpyInt8(path string, x []int8, rows, cols int) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := writeNpyInt8(f, x, rows, cols); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
