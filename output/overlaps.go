package output

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OverlapsFile is the name of the overlap histogram of the last (or only)
// β of a run.
const OverlapsFile = "overlaps.csv"

// WriteOverlapsCSV writes an overlap histogram P(q) to path, atomically.
// hist[k] is the probability density of bin k of len(hist) equal bins on
// [-1, 1] (so that Σ_k hist[k]·2/len(hist) = 1 for a normalised histogram).
// The file has the header q_low,q_high,density and one line per bin, with
// the bin edges -1 + 2k/len(hist) and the density in the shortest exact
// float form. NaN densities (an undefined histogram, e.g. from fewer than
// two samples) are written as nan. An empty histogram, or a negative or
// infinite density, is an error and writes nothing.
func WriteOverlapsCSV(path string, hist []float64) error {
	if len(hist) == 0 {
		return fmt.Errorf("overlaps %s: empty histogram", path)
	}
	for k, v := range hist {
		if v < 0 || math.IsInf(v, 0) {
			return fmt.Errorf("overlaps %s: bin %d has density %v; a density is a finite number ≥ 0 (or NaN if undefined)", path, k, v)
		}
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString("q_low,q_high,density\n")
		var b []byte
		for k, v := range hist {
			lo, hi := binEdges(k, len(hist))
			b = strconv.AppendFloat(b[:0], lo, 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, hi, 'g', -1, 64)
			b = append(b, ',')
			b = appendFloat(b, v)
			b = append(b, '\n')
			bw.Write(b)
		}
		return bw.Flush()
	})
}

// binEdges returns the edges of bin k of nb equal bins on [-1, 1]; the
// outer edges are exactly -1 and 1.
func binEdges(k, nb int) (lo, hi float64) {
	return -1 + 2*float64(k)/float64(nb), -1 + 2*float64(k+1)/float64(nb)
}

// PerBetaFile returns the name of a run's file of β index k (0-based, in
// the order of the schedule) of a schedule of count β: prefix + "_b" + k
// zero-padded to the digits of count-1 + ext, e.g. PerBetaFile("overlaps",
// ".csv", 3, 39) = "overlaps_b03.csv", so that a run's files sort in
// schedule order. Names by index never collide, however close two β are;
// the β itself, in full precision, is that of row k+1 of the run's
// stats.csv (and protocol.schedule[k] in train's summary.json).
func PerBetaFile(prefix, ext string, k, count int) string {
	return fmt.Sprintf("%s_b%0*d%s", prefix, len(strconv.Itoa(max(count-1, 0))), k, ext)
}

// overlapsPrefix is the prefix of the per-β overlap files.
const overlapsPrefix = "overlaps"

// WriteOverlaps stores the histogram of β index k of a schedule of count β
// in dir twice: as PerBetaFile("overlaps", ".csv", k, count), so that every
// β of an annealing run is kept, and as OverlapsFile, which always holds
// the latest β written.
func WriteOverlaps(dir string, k, count int, hist []float64) error {
	if err := WriteOverlapsCSV(filepath.Join(dir, PerBetaFile(overlapsPrefix, ".csv", k, count)), hist); err != nil {
		return err
	}
	return WriteOverlapsCSV(filepath.Join(dir, OverlapsFile), hist)
}

// ReadOverlapsCSV reads a file written by WriteOverlapsCSV (CSV as
// encoding/csv reads it, so a file re-saved with quotes reads too) and
// returns the densities. It checks the header and that the bins are the
// equal bins on [-1, 1] in order (to a relative 1e-9, so that files
// rewritten with fewer digits still read); errors name the file and line.
func ReadOverlapsCSV(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := newCSVReader(f)
	rec, err := cr.Read()
	if err != nil || len(rec) != 3 || strings.TrimSpace(rec[0]) != "q_low" || strings.TrimSpace(rec[1]) != "q_high" || strings.TrimSpace(rec[2]) != "density" {
		return nil, fmt.Errorf("%s:1: header must be q_low,q_high,density", path)
	}
	type bin struct {
		lo, hi, d float64
		line      int
	}
	var bins []bin
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 fields q_low,q_high,density, found %d", path, line, len(rec))
		}
		var v [3]float64
		for k, s := range rec {
			if v[k], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %q is not a number", path, line, s)
			}
		}
		bins = append(bins, bin{v[0], v[1], v[2], line})
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("%s: no bins", path)
	}
	out := make([]float64, len(bins))
	for k, b := range bins {
		lo, hi := binEdges(k, len(bins))
		if math.Abs(b.lo-lo) > 1e-9 || math.Abs(b.hi-hi) > 1e-9 {
			return nil, fmt.Errorf("%s:%d: bin [%v, %v] is not bin %d of %d equal bins on [-1, 1] ([%v, %v])", path, b.line, b.lo, b.hi, k, len(bins), lo, hi)
		}
		out[k] = b.d
	}
	return out, nil
}
