package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Names of the files of a run directory.
const (
	StatsFile   = "stats.csv"
	SummaryFile = "summary.json"
	SamplesFile = "samples.npy"
)

// Run is what LoadRun reads back from a run directory, and what the plots
// draw.
type Run struct {
	// Label names the run in plot legends.
	Label string
	// Dir is the directory the run was loaded from ("" if built in memory).
	Dir string
	// Stats holds the rows of stats.csv in file order.
	Stats []StatsRow
	// Overlaps maps β to the overlap density P(q) on equal bins of [-1, 1].
	Overlaps map[float64][]float64
}

// LoadRun reads a run directory: stats.csv (required), summary.json
// (optional; the label is its top-level "label" string if present, else its
// "arch" string, else the directory's base name) and the overlap files. Each
// per-β file overlaps_b<k>.csv (PerBetaFile) is stored under the β of row
// k+1 of stats.csv (files of β without a row, which a resumed run writes
// again, are skipped); overlaps.csv is stored under the β of the last stats
// row, unless a per-β file already gives that β (the two then hold the same
// histogram).
func LoadRun(dir string) (Run, error) {
	r := Run{Dir: dir, Label: filepath.Base(filepath.Clean(dir)), Overlaps: map[float64][]float64{}}
	var err error
	if r.Stats, _, err = ReadStats(filepath.Join(dir, StatsFile)); err != nil {
		return Run{}, fmt.Errorf("load run %s: %w", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	switch {
	case err == nil:
		var s map[string]any
		if err := json.Unmarshal(b, &s); err != nil {
			return Run{}, fmt.Errorf("load run %s: %s: %w", dir, SummaryFile, err)
		}
		if l, ok := s["label"].(string); ok && l != "" {
			r.Label = l
		} else if a, ok := s["arch"].(string); ok && a != "" {
			r.Label = a
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return Run{}, fmt.Errorf("load run %s: %w", dir, err)
	}
	names, err := filepath.Glob(filepath.Join(dir, overlapsPrefix+"_b*.csv"))
	if err != nil {
		return Run{}, err
	}
	sort.Strings(names)
	for _, name := range names {
		s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), overlapsPrefix+"_b"), ".csv")
		k, err := strconv.ParseUint(s, 10, 0)
		if err != nil || k >= uint64(len(r.Stats)) {
			continue // not one of ours (e.g. overlaps_b3.old.csv), or of a β not finished
		}
		if r.Overlaps[r.Stats[k].Beta], err = ReadOverlapsCSV(name); err != nil {
			return Run{}, fmt.Errorf("load run %s: %w", dir, err)
		}
	}
	last := filepath.Join(dir, OverlapsFile)
	if _, err := os.Stat(last); err == nil && len(r.Stats) > 0 {
		beta := r.Stats[len(r.Stats)-1].Beta
		if _, ok := r.Overlaps[beta]; !ok {
			if r.Overlaps[beta], err = ReadOverlapsCSV(last); err != nil {
				return Run{}, fmt.Errorf("load run %s: %w", dir, err)
			}
		}
	}
	return r, nil
}

// nearestBeta returns the key of m nearest to beta (the smaller one on a
// tie) and false if there is none. NaN is nobody's neighbour: a NaN key is
// never returned and a NaN beta finds nothing (map order would decide).
func nearestBeta(m map[float64][]float64, beta float64) (float64, bool) {
	best, found := 0.0, false
	for b := range m {
		if math.IsNaN(b) || math.IsNaN(beta) {
			continue
		}
		d, bd := math.Abs(b-beta), math.Abs(best-beta)
		if !found || d < bd || (d == bd && b < best) {
			best, found = b, true
		}
	}
	return best, found
}
