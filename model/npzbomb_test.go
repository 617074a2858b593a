package model

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// TestNPZBombRefusedFromHeaders (issue 16 item 8): an archive whose
// data.npy declares 12.5 million float64 zeros (100 MB, deflated to about
// 100 KB) next to an empty indices.npy is refused from the declared shapes
// alone, without inflating the data (before the fix it was inflated first).
func TestNPZBombRefusedFromHeaders(t *testing.T) {
	const items = 12_500_000
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	add := func(name, descr string, shape []int, data []byte, zeros int) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(npy.AppendHeader(nil, descr, shape))
		w.Write(data)
		chunk := make([]byte, 1<<20)
		for zeros > 0 {
			k := min(zeros, len(chunk))
			w.Write(chunk[:k])
			zeros -= k
		}
	}
	add("format.npy", "|S3", nil, []byte("csr"), 0)
	add("shape.npy", "<i8", []int{2}, []byte{0x20, 0x4e, 0, 0, 0, 0, 0, 0, 0x20, 0x4e, 0, 0, 0, 0, 0, 0}, 0) // 20000
	add("indices.npy", "<i4", []int{0}, nil, 0)
	add("indptr.npy", "<i4", []int{20001}, nil, 4*20001)
	add("data.npy", "<f8", []int{items}, nil, 8*items)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 1<<20 {
		t.Fatalf("the bomb is %d bytes, not small", b.Len())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readNPZCouplings(bytes.NewReader(b.Bytes()), int64(b.Len()), "bomb.npz", 0, MaxSpins)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "bomb.npz: data.npy: 12500000 values but indices.npy has 0 entries") {
		t.Fatalf("err = %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 20<<20 {
		t.Errorf("refusing the archive allocated %d MB: the data was inflated", alloc>>20)
	}
}
