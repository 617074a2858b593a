package model

import (
	"bytes"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// TestReadSamplesInt8InPlace: int8 samples (the dtype h2arnn writes) are
// read without a float64 copy: a few bytes of heap per spin, not the 17 a
// conversion through int64 and float64 cost. Values are still checked.
func TestReadSamplesInt8InPlace(t *testing.T) {
	const rows, n = 20000, 100
	x := make([]int8, rows*n)
	for k := range x {
		x[k] = int8(1 - 2*(k*7%3%2))
	}
	var buf bytes.Buffer
	w, err := npy.NewWriter(&buf, "|i1", rows, n)
	if err == nil {
		err = w.WriteInt8s(x)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	got, gotN, err := ReadSamples(bytes.NewReader(file), "x.npy")
	runtime.ReadMemStats(&b)
	if err != nil || gotN != n || !slices.Equal(got, x) {
		t.Fatalf("ReadSamples: N %d, err %v, equal %v", gotN, err, slices.Equal(got, x))
	}
	if perSpin := float64(b.TotalAlloc-a.TotalAlloc) / float64(rows*n); perSpin > 6 {
		t.Errorf("reading int8 samples allocated %.1f bytes a spin; want a few (the raw bytes and the result)", perSpin)
	}
	file[len(file)-1] = 2 // the last spin
	if _, _, err := ReadSamples(bytes.NewReader(file), "x.npy"); err == nil || !strings.Contains(err.Error(), "is 2") {
		t.Errorf("a spin of 2 in int8 samples: %v", err)
	}
}
