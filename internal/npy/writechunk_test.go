package npy

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"testing"
)

// TestWriterChunksLargeArrays: arrays larger than the encoding chunk are
// written exactly (read back equal, across several calls and a partial
// chunk) and without a buffer the size of the array.
func TestWriterChunksLargeArrays(t *testing.T) {
	const n = 3*writeChunk + 123
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i)*0.5 - 7
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "<f8", n)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFloat64s(x[:writeChunk+5]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFloat64s(x[writeChunk+5:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := Read(&buf, n)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Floats(); err != nil || !slices.Equal(got, x) {
		t.Fatalf("read back %d values (err %v); want the %d written", len(got), err, n)
	}
	// 8 MB of floats through a writer to io.Discard: the heap grows by the
	// writer's fixed buffers only.
	big := make([]float64, 1<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err = NewWriter(io.Discard, "<f8", len(big))
	if err == nil {
		err = w.WriteFloat64s(big)
	}
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("writing 8 MB of floats allocated %d KB; want the fixed chunk buffer only", grew>>10)
	}
	// Too many items are refused before any is written.
	w, _ = NewWriter(io.Discard, "|i1", 3)
	if err := w.WriteInt8s(make([]int8, 4)); err == nil {
		t.Error("4 items into a shape of 3 accepted")
	}
}
