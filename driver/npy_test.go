package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestNpyHeaderBytes(t *testing.T) {
	// The .npy 1.0 layout: magic, version 1.0, little-endian header length
	// 118 = 'v', the dict, spaces up to byte 127, '\n'; data at byte 128.
	dict := "{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4), }"
	want := []byte("\x93NUMPY\x01\x00v\x00" + dict)
	for len(want) < 127 {
		want = append(want, ' ')
	}
	want = append(want, '\n')
	got := npyHeader(3, 4)
	if !bytes.Equal(got, want) {
		t.Fatalf("header\n got %q\nwant %q", got, want)
	}
	// Data must start 64-byte aligned for every shape, and the length
	// field must say how many bytes follow it.
	for _, sh := range [][2]int{{0, 1}, {1, 1}, {20000, 200}, {123456789, 1000}} {
		h := npyHeader(sh[0], sh[1])
		if len(h)%64 != 0 || h[len(h)-1] != '\n' || int(h[8])|int(h[9])<<8 != len(h)-10 {
			t.Errorf("shape %v: header of %d bytes, length field %d", sh, len(h), int(h[8])|int(h[9])<<8)
		}
	}
}

func TestSaveNpy(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	x := []int8{1, -1, -1, 1, 1, 1}
	if err := saveNpyInt8(p, x, 2, 3); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := npyHeader(2, 3)
	if !bytes.Equal(b[:len(h)], h) || !bytes.Equal(b[len(h):], []byte{1, 0xff, 0xff, 1, 1, 1}) {
		t.Fatalf("file bytes %q", b)
	}
	if err := saveNpyInt8(p, x, 4, 3); err == nil {
		t.Error("shape mismatch accepted")
	}
}
