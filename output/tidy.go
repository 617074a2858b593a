package output

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// RunInfo describes a run of a reproduction grid (h2arnn reproduce) as
// its grid row does.
type RunInfo struct {
	Figure, ID, Model string
	N                 int
	// Instance is the disorder seed (SK), 0 without disorder (CW).
	Instance uint64
	// Label names the net ("made_21"), Arch is its architecture.
	Label, Arch string
	TrainSeed   uint64
	// Params is the net's number of parameters (summary.json), -1 if
	// unknown.
	Params int
}

// GridRun is one run of a reproduction grid with what its directory holds.
type GridRun struct {
	RunInfo
	// Run holds the statistics and overlap histograms (LoadRun).
	Run Run
}

// TidyRow is one row of the tidy table of a reproduction: one β of one run.
type TidyRow struct {
	RunInfo
	StatsRow
	// FRef is the free energy per spin of the reference net at the same
	// figure, N, instance and β (Figure 5: sk_2rsb), RelDiff the signed
	// relative difference (F - FRef)/|FRef|; both NaN without a reference.
	FRef, RelDiff float64
}

// TidyColumns are the columns of the tidy CSV, in order.
var TidyColumns = []string{"figure", "run", "model", "n", "instance", "net", "arch", "train_seed", "params",
	"beta", "f", "f_std", "e", "e_min", "s", "m_abs", "steps", "seconds", "f_exact", "rel_err", "f_ref", "rel_diff"}

// Tidy flattens runs into one row per run and β, in the order of runs and
// of their stats.csv. reference maps a figure to the label of the net its
// errors are taken against ("" or absent: none). Rows of a run without
// exact values have NaN f_exact and rel_err.
func Tidy(runs []GridRun, reference map[string]string) []TidyRow {
	type key struct {
		fig      string
		n        int
		instance uint64
		beta     string
	}
	ref := map[key]float64{}
	for _, r := range runs {
		if l := reference[r.Figure]; l != "" && r.Label == l {
			for _, s := range r.Run.Stats {
				ref[key{r.Figure, r.N, r.Instance, betaKey(s.Beta)}] = s.F
			}
		}
	}
	var out []TidyRow
	for _, r := range runs {
		for _, s := range r.Run.Stats {
			t := TidyRow{RunInfo: r.RunInfo, StatsRow: s, FRef: math.NaN(), RelDiff: math.NaN()}
			if s.Exact == nil {
				t.Exact = &Exact{FExact: math.NaN(), RelErr: math.NaN()}
			}
			if f, ok := ref[key{r.Figure, r.N, r.Instance, betaKey(s.Beta)}]; ok {
				t.FRef, t.RelDiff = f, RelErr(s.F, f)
			}
			out = append(out, t)
		}
	}
	return out
}

// betaKey identifies a β of a schedule by its 6 significant digits, so that
// the same β of two runs matches although linspace rounding differs
// (1.3000000000000003 and 1.3).
func betaKey(b float64) string { return strconv.FormatFloat(b, 'g', 6, 64) }

// appendFloats appends vs to b, comma-separated, as appendFloat writes
// each.
func appendFloats(b []byte, vs ...float64) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	return b
}

// WriteTidyCSV writes rows as CSV (header TidyColumns; numbers in the
// shortest exact form, NaN as nan) to w.
func WriteTidyCSV(w io.Writer, rows []TidyRow) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(TidyColumns, ",") + "\n")
	var b []byte
	for _, r := range rows {
		b = b[:0]
		for _, s := range []string{r.Figure, r.ID, r.Model} {
			b = append(append(b, s...), ',')
		}
		b = append(strconv.AppendInt(b, int64(r.N), 10), ',')
		b = append(strconv.AppendUint(b, r.Instance, 10), ',')
		b = append(append(b, r.Label...), ',')
		b = append(append(b, r.Arch...), ',')
		b = append(strconv.AppendUint(b, r.TrainSeed, 10), ',')
		b = append(strconv.AppendInt(b, int64(r.Params), 10), ',')
		b = append(appendFloats(b, r.Beta, r.F, r.FStd, r.E, r.EMin, r.S, r.MAbs), ',')
		b = append(strconv.AppendInt(b, int64(r.Steps), 10), ',')
		b = append(appendFloats(b, r.Seconds, r.FExact, r.RelErr, r.FRef, r.RelDiff), '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
