package netfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
)

type header struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Beta  float64 `json:"beta"`
}

// TestSectionsReadBackInOrder writes JSON and float sections one after
// the other and reads them back from one stream: each read must consume
// exactly its own bytes, so the next section starts where it should.
func TestSectionsReadBackInOrder(t *testing.T) {
	var buf bytes.Buffer
	h := header{Name: "sk_1rsb ‹β›", Count: 3, Beta: 1.25}
	x := []float64{1, -0.5, math.SmallestNonzeroFloat64}
	y := []float64{math.MaxFloat64}
	if err := WriteJSON(&buf, h); err != nil {
		t.Fatal(err)
	}
	if err := WriteFloats(&buf, x); err != nil {
		t.Fatal(err)
	}
	if err := WriteFloats(&buf, y); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&buf, map[string]int{"end": 1}); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf.Bytes())
	var got header
	if err := ReadJSON(r, &got, "header"); err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("header %+v, want %+v", got, h)
	}
	gx, err := ReadFloats(r, len(x), "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Float64bits(gx[i]) != math.Float64bits(x[i]) {
			t.Fatalf("x[%d] = %v, want %v", i, gx[i], x[i])
		}
	}
	gy, err := ReadFloats(r, 1, "y")
	if err != nil || gy[0] != y[0] {
		t.Fatalf("y = %v, %v", gy, err)
	}
	var end map[string]int
	if err := ReadJSON(r, &end, "end"); err != nil || end["end"] != 1 {
		t.Fatalf("end = %v, %v", end, err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left after the last section", r.Len())
	}
}

// TestSectionsAreNpyArrays checks the layout numpy relies on: each
// section is one .npy array of the documented dtype and shape.
func TestSectionsAreNpyArrays(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, header{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFloats(&buf, []float64{2, 3}); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf.Bytes())
	a, err := npy.Read(r, MaxJSON)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != 'u' || a.ItemSize != 1 || len(a.Shape) != 1 || !strings.HasPrefix(string(a.Raw), `{"name":"a"`) {
		t.Fatalf("JSON section: kind %q size %d shape %v raw %q", a.Kind, a.ItemSize, a.Shape, a.Raw)
	}
	f, err := npy.Read(r, 2)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != 'f' || f.ItemSize != 8 || len(f.Shape) != 1 || f.Shape[0] != 2 {
		t.Fatalf("float section: kind %q size %d shape %v", f.Kind, f.ItemSize, f.Shape)
	}
}

func TestReadRefusesWrongSections(t *testing.T) {
	var floats, json, badJSON, ints bytes.Buffer
	WriteFloats(&floats, []float64{1, 2, 3})
	WriteJSON(&json, header{Name: "x"})
	badJSON.Write(npy.AppendHeader(nil, "|u1", []int{3}))
	badJSON.WriteString("{no")
	ints.Write(npy.AppendHeader(nil, "<i8", []int{3}))
	ints.Write(make([]byte, 24))
	cases := []struct {
		name, want string
		read       func() error
	}{
		{"floats read as JSON", "want 1-D uint8", func() error {
			var h header
			return ReadJSON(bytes.NewReader(floats.Bytes()), &h, "header")
		}},
		{"malformed JSON", "header", func() error {
			var h header
			return ReadJSON(bytes.NewReader(badJSON.Bytes()), &h, "header")
		}},
		{"JSON read as floats", "2 items", func() error {
			_, err := ReadFloats(bytes.NewReader(json.Bytes()), 2, "params")
			return err
		}},
		{"too few floats", "want 4 float64", func() error {
			_, err := ReadFloats(bytes.NewReader(floats.Bytes()), 4, "params")
			return err
		}},
		{"too many floats", "params", func() error {
			_, err := ReadFloats(bytes.NewReader(floats.Bytes()), 2, "params")
			return err
		}},
		{"integers", "want 3 float64", func() error {
			_, err := ReadFloats(bytes.NewReader(ints.Bytes()), 3, "params")
			return err
		}},
		{"truncated", "params", func() error {
			_, err := ReadFloats(bytes.NewReader(floats.Bytes()[:floats.Len()-1]), 3, "params")
			return err
		}},
		{"empty", "header", func() error {
			var h header
			return ReadJSON(bytes.NewReader(nil), &h, "header")
		}},
	}
	for _, c := range cases {
		err := c.read()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestChecksum compares Checksum with SHA-256 of the bytes laid out
// independently, across the 512-value blocks Checksum hashes in and
// across the slices it is given.
func TestChecksum(t *testing.T) {
	x := make([]float64, 1300)
	for i := range x {
		x[i] = math.Sin(float64(i)) * 1e3
	}
	raw := make([]byte, 0, 8*len(x))
	for _, v := range x {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
	}
	sum := sha256.Sum256(raw)
	want := hex.EncodeToString(sum[:])
	if got := Checksum(x); got != want {
		t.Fatalf("Checksum = %s, want %s", got, want)
	}
	if got := Checksum(x[:7], x[7:513], nil, x[513:]); got != want {
		t.Fatalf("Checksum over split slices = %s, want %s", got, want)
	}
	y := append([]float64(nil), x...)
	y[1299] = math.Nextafter(y[1299], 0)
	if Checksum(y) == want {
		t.Fatal("a one-ulp change of the last value left the checksum unchanged")
	}
	if Checksum([]float64{0}) == Checksum([]float64{math.Copysign(0, -1)}) {
		t.Fatal("+0 and -0 have the same checksum; the checksum must see the bits")
	}
	empty := sha256.Sum256(nil)
	if got := Checksum(); got != hex.EncodeToString(empty[:]) {
		t.Fatalf("Checksum() = %s, want the SHA-256 of nothing", got)
	}
}

// TestWriteErrorsReachTheCaller: a failing writer is reported, not
// swallowed by the buffering.
func TestWriteErrorsReachTheCaller(t *testing.T) {
	if err := WriteJSON(failWriter{}, header{}); err == nil {
		t.Error("WriteJSON to a failing writer returned nil")
	}
	if err := WriteFloats(failWriter{}, []float64{1}); err == nil {
		t.Error("WriteFloats to a failing writer returned nil")
	}
	if err := WriteJSON(io.Discard, math.Inf(1)); err == nil {
		t.Error("WriteJSON of +Inf (not JSON) returned nil")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }
