package output

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/model"
)

// StatsRow is the record of one β of a run, the one type every output
// holds its figures in: a row of stats.csv, an entry of summary.json's
// "results" and, embedded, the JSON line that train prints (sample's line
// embeds its parts). Energies are per spin in units of the coupling scale
// J; β is in units of 1/J. Its JSON (through MarshalJSON) writes an
// undefined figure as null.
type StatsRow struct {
	// Beta is the inverse temperature β.
	Beta float64 `json:"beta"`
	// Stats are the six figures of SPEC §4: f, f_std, e, e_min, s, m_abs
	// (see model.Stats).
	model.Stats
	// Steps is the number of optimiser steps taken at this β.
	Steps int `json:"steps"`
	// Seconds is the wall-clock time spent at this β.
	Seconds float64 `json:"seconds"`
	// Exact compares F with the exact free energy; nil without a reference.
	*Exact
	// Estimates are the unbiased estimates of the β (train -estimate); nil
	// without.
	*Estimates
}

// Estimates are the neural importance sampling (NIS) and neural MCMC
// figures of one β (package mc): per spin, in units of the coupling scale.
type Estimates struct {
	// FNIS = -ln Ẑ/(βN) with its standard error FNISErr (delta method).
	FNIS    float64 `json:"f_nis"`
	FNISErr float64 `json:"f_nis_err"`
	// ESS is the relative effective sample size (Σw)²/(M·Σw²) ∈ [1/M, 1],
	// and ParetoK the fitted tail shape of the weights (mc.Weights.ParetoK;
	// NaN when undefined): error bars hold for ParetoK ≲ 0.7.
	ESS     float64 `json:"ess"`
	ParetoK float64 `json:"pareto_k"`
	// ENIS is the reweighted energy per spin with its standard error.
	ENIS    float64 `json:"e_nis"`
	ENISErr float64 `json:"e_nis_err"`
	// ENMCMC is the chain's mean energy per spin with its standard error
	// corrected by TauInt, the chain's integrated autocorrelation time of
	// e (in steps); Acceptance is its acceptance rate.
	ENMCMC     float64 `json:"e_nmcmc"`
	ENMCMCErr  float64 `json:"e_nmcmc_err"`
	Acceptance float64 `json:"acceptance"`
	TauInt     float64 `json:"tau_int"`
}

// Values returns the estimates in the order of EstimateColumns.
func (e *Estimates) Values() []float64 {
	return []float64{e.FNIS, e.FNISErr, e.ESS, e.ParetoK, e.ENIS, e.ENISErr, e.ENMCMC, e.ENMCMCErr, e.Acceptance, e.TauInt}
}

// fields returns pointers to the estimates in the order of EstimateColumns.
func (e *Estimates) fields() []*float64 {
	return []*float64{&e.FNIS, &e.FNISErr, &e.ESS, &e.ParetoK, &e.ENIS, &e.ENISErr, &e.ENMCMC, &e.ENMCMCErr, &e.Acceptance, &e.TauInt}
}

// Exact is a variational free energy compared with the exact one.
type Exact struct {
	// FExact is the exact free energy per spin.
	FExact float64 `json:"f_exact"`
	// RelErr is the signed relative error (f - FExact)/|FExact|: ≥ 0 up to
	// sampling noise, as the variational f bounds the exact one from above.
	RelErr float64 `json:"rel_err"`
}

// NewExact compares the variational free energy per spin f with the exact
// fExact (see RelErr).
func NewExact(f, fExact float64) *Exact { return &Exact{FExact: fExact, RelErr: RelErr(f, fExact)} }

// RelErr is the signed relative error (f - exact)/|exact| that the runs
// report as rel_err: ±Inf if exact is 0 and f is not, 0 if both are.
func RelErr(f, exact float64) float64 {
	d := f - exact
	if d == 0 {
		return 0
	}
	return d / math.Abs(exact)
}

// SetExact records the exact free energy per spin fExact and the relative
// error of the row's F against it.
func (r *StatsRow) SetExact(fExact float64) { r.Exact = NewExact(r.F, fExact) }

// StatsColumns are the columns of stats.csv in order; ExactColumns follow
// them when the run has an exact reference, and EstimateColumns (the
// fields of Estimates, in order) follow those when it estimates with NIS
// and NMCMC.
var (
	StatsColumns    = []string{"beta", "f", "f_std", "e", "e_min", "s", "m_abs", "steps", "seconds"}
	ExactColumns    = []string{"f_exact", "rel_err"}
	EstimateColumns = []string{"f_nis", "f_nis_err", "ess", "pareto_k", "e_nis", "e_nis_err", "e_nmcmc", "e_nmcmc_err", "acceptance", "tau_int"}
)

// StatsLayout says which optional column groups a stats file has.
type StatsLayout struct {
	Exact    bool // ExactColumns
	Estimate bool // EstimateColumns
}

// StatsWriter appends rows to a stats.csv file. Every Write reaches the disk
// (write + fsync) before it returns, so a crash or a kill loses no row that
// was already reported. A StatsWriter is not safe for concurrent use.
type StatsWriter struct {
	syncedFile
	layout StatsLayout
	buf    []byte
}

// header returns the header line (with '\n') for a file of the layout.
func header(layout StatsLayout) string {
	cols := slices.Clone(StatsColumns)
	if layout.Exact {
		cols = append(cols, ExactColumns...)
	}
	if layout.Estimate {
		cols = append(cols, EstimateColumns...)
	}
	return strings.Join(cols, ",") + "\n"
}

// CreateStats creates (or truncates) the stats file at path and writes its
// header: beta,f,f_std,e,e_min,s,m_abs,steps,seconds, then f_exact,rel_err
// if layout.Exact and the EstimateColumns if layout.Estimate. The header is
// on disk when CreateStats returns.
func CreateStats(path string, layout StatsLayout) (*StatsWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stats file: %w", err)
	}
	w := &StatsWriter{syncedFile: syncedFile{f: f, path: path, what: "stats file "}, layout: layout}
	if err := w.commit([]byte(header(layout))); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(dirOf(path)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// ResumeStats reopens the stats file of an interrupted run for appending.
// It keeps the header and the first keep data rows (the β values the
// resumed run's checkpoint had completed; rows written after the
// checkpoint, and any partial last line, are dropped because the resumed
// run writes them again), and returns the kept rows. The file is rewritten
// atomically, so an error leaves it as it was. The file's header must be the
// one CreateStats(path, layout) writes, and it must hold at least keep
// rows.
func ResumeStats(path string, layout StatsLayout, keep int) (*StatsWriter, []StatsRow, error) {
	kept, rows, err := keptStats(path, layout, keep)
	if err != nil {
		return nil, nil, err
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(kept)
		return err
	}); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("resume stats: %w", err)
	}
	return &StatsWriter{syncedFile: syncedFile{f: f, path: path, what: "stats file "}, layout: layout}, rows, nil
}

// ResumedStats returns the rows ResumeStats(path, layout, keep) would keep,
// or its error, without changing the file: a caller checks them against its
// checkpoint before it commits to resuming.
func ResumedStats(path string, layout StatsLayout, keep int) ([]StatsRow, error) {
	_, rows, err := keptStats(path, layout, keep)
	return rows, err
}

// keptStats reads the stats file at path and returns the bytes ResumeStats
// keeps (the header and the first keep rows, each ending in '\n') and those
// rows.
func keptStats(path string, layout StatsLayout, keep int) ([]byte, []StatsRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("resume stats: %w", err)
	}
	h := header(layout)
	if !bytes.HasPrefix(data, []byte(h)) {
		first, _, _ := bytes.Cut(data, []byte("\n"))
		return nil, nil, fmt.Errorf("resume stats %s: header is %q, want %q; was the run started with other options?", path, first, strings.TrimSuffix(h, "\n"))
	}
	if keep < 0 {
		return nil, nil, fmt.Errorf("resume stats %s: negative row count %d", path, keep)
	}
	// Complete rows end with '\n'; a crash during a write can leave at most
	// one partial line at the end, which is not a row. The last row to keep
	// may lack its '\n' (an editor or a tool that strips the final newline):
	// the row was on disk before the checkpoint that counts it was written,
	// so it is complete if it has every field, and the newline is added.
	end := len(h)
	kept := data
	for k := 0; k < keep; k++ {
		nl := bytes.IndexByte(data[end:], '\n')
		if nl < 0 && k == keep-1 && completeRow(data[end:], layout) {
			kept = append(slices.Clip(data), '\n')
			end = len(kept)
			break
		}
		if nl < 0 {
			return nil, nil, fmt.Errorf("resume stats %s: the checkpoint has %d finished β values but the file holds only %d rows", path, keep, k)
		}
		end += nl + 1
	}
	kept = kept[:end]
	rows, _, err := parseStats(bytes.NewReader(kept), path)
	if err != nil {
		return nil, nil, err
	}
	return kept, rows, nil
}

// completeRow reports whether line (without its newline) is a whole row of
// layout: all its fields present, none empty (a run writes every column of
// its layout) and each a number. A row cut inside its last number cannot
// be told from a whole one; see ResumeStats for why that does not happen.
func completeRow(line []byte, layout StatsLayout) bool {
	cols := strings.Split(strings.TrimSuffix(header(layout), "\n"), ",")
	fields := strings.Split(string(line), ",")
	if len(fields) != len(cols) || slices.Contains(fields, "") {
		return false
	}
	col := make(map[string]int, len(cols))
	for k, c := range cols {
		col[c] = k
	}
	_, err := statsRowOf(fields, col, len(cols))
	return err == nil
}

// Write appends one row and syncs the file. Floats are written with the
// shortest decimal form that parses back to the same float64 (strconv 'g',
// -1); NaN and infinities as nan, inf and -inf, which numpy and pandas read.
// In a file with the exact (estimate) columns, a row without Exact
// (Estimates) leaves them empty (pandas and numpy.genfromtxt read empty
// fields as NaN). In a file without them, a row's exact (estimate) fields
// are not written.
func (w *StatsWriter) Write(r StatsRow) error {
	if w.f == nil {
		return fmt.Errorf("stats file %s: write after Close", w.path)
	}
	b := w.buf[:0]
	for k, v := range []float64{r.Beta, r.F, r.FStd, r.E, r.EMin, r.S, r.MAbs} {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Steps), 10)
	b = append(b, ',')
	b = appendFloat(b, r.Seconds)
	if w.layout.Exact {
		var vs []float64
		if r.Exact != nil {
			vs = []float64{r.FExact, r.RelErr}
		}
		b = appendGroup(b, len(ExactColumns), vs)
	}
	if w.layout.Estimate {
		var vs []float64
		if r.Estimates != nil {
			vs = r.Estimates.Values()
		}
		b = appendGroup(b, len(EstimateColumns), vs)
	}
	b = append(b, '\n')
	w.buf = b
	return w.commit(b)
}

// appendGroup appends n fields, each a comma and then the value of vs, or
// only the commas when vs is nil.
func appendGroup(b []byte, n int, vs []float64) []byte {
	for k := range n {
		b = append(b, ',')
		if vs != nil {
			b = appendFloat(b, vs[k])
		}
	}
	return b
}

// syncedFile is a file of rows appended and fsynced one by one (stats.csv,
// fit.csv): a row is on disk when commit returns. what prefixes the path in
// errors.
type syncedFile struct {
	f          *os.File
	path, what string
}

// commit writes b and fsyncs the file.
func (w *syncedFile) commit(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("%s%s: %w", w.what, w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("%s%s: sync: %w", w.what, w.path, err)
	}
	return nil
}

// Close closes the file. Every row is already on disk; Close reports only
// the closing error. A second Close is a no-op.
func (w *syncedFile) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("%s%s: %w", w.what, w.path, err)
	}
	return nil
}

// appendFloat appends v in the shortest exact form, with Python's spelling
// of the special values.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// ReadStats reads a stats file written by StatsWriter (or edited by hand or
// re-saved by pandas, quotes included, as long as the columns keep their
// names); it is CSV as encoding/csv reads it. Columns are matched by name,
// in any order; beta and f are required, any other column of StatsColumns,
// ExactColumns or EstimateColumns that is missing reads as NaN (steps as
// 0), and unknown columns are ignored. A row has Exact when its f_exact is
// present and not empty, Estimates when its f_nis is. It returns the rows in file order and the header's column names.
// Errors name the file and the line (blank lines counted).
func ReadStats(path string) ([]StatsRow, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parseStats(f, path)
}

// maxCSVLine bounds the bytes of a stats or overlaps file read back; real
// files are a few kilobytes.
const maxCSVBytes = 64 << 20

// newCSVReader returns a reader of CSV records from r (at most maxCSVBytes)
// that accepts rows of any length (the callers check them) and blanks
// around fields.
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(io.LimitReader(r, maxCSVBytes))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	return cr
}

// csvErr turns an encoding/csv error into "name:line: message".
func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v; not a CSV file", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func parseStats(r io.Reader, name string) ([]StatsRow, []string, error) {
	cr := newCSVReader(r)
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%s: empty file; a stats file starts with the header %s", name, strings.TrimSpace(header(StatsLayout{})))
	}
	if err != nil {
		return nil, nil, csvErr(name, err)
	}
	hdr := make([]string, len(rec))
	col := map[string]int{}
	for k, c := range rec {
		c = strings.TrimSpace(c)
		hdr[k] = c
		if _, dup := col[c]; dup {
			return nil, nil, fmt.Errorf("%s:1: column %q appears twice", name, c)
		}
		col[c] = k
	}
	for _, need := range []string{"beta", "f"} {
		if _, ok := col[need]; !ok {
			return nil, nil, fmt.Errorf("%s:1: no %q column in header %q", name, need, strings.Join(hdr, ","))
		}
	}
	var rows []StatsRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		row, err := statsRowOf(rec, col, len(hdr))
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		rows = append(rows, row)
	}
	return rows, hdr, nil
}

// statsRowOf decodes one data record given the header's column indices.
func statsRowOf(rec []string, col map[string]int, width int) (StatsRow, error) {
	if len(rec) != width {
		return StatsRow{}, fmt.Errorf("%d fields, the header has %d", len(rec), width)
	}
	get := func(c string) (float64, bool, error) {
		k, ok := col[c]
		if !ok {
			return math.NaN(), false, nil
		}
		s := strings.TrimSpace(rec[k])
		if s == "" {
			return math.NaN(), false, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false, fmt.Errorf("column %s: %q is not a number", c, s)
		}
		return v, true, nil
	}
	var row StatsRow
	for _, p := range []struct {
		c string
		v *float64
	}{{"beta", &row.Beta}, {"f", &row.F}, {"f_std", &row.FStd}, {"e", &row.E}, {"e_min", &row.EMin},
		{"s", &row.S}, {"m_abs", &row.MAbs}, {"seconds", &row.Seconds}} {
		var err error
		if *p.v, _, err = get(p.c); err != nil {
			return row, err
		}
	}
	fx, has, err := get("f_exact")
	if err != nil {
		return row, err
	}
	rel, _, err := get("rel_err")
	if err != nil {
		return row, err
	}
	if has {
		row.Exact = &Exact{FExact: fx, RelErr: rel}
	}
	var est Estimates
	for k, v := range est.fields() {
		var hasEst bool
		if *v, hasEst, err = get(EstimateColumns[k]); err != nil {
			return row, err
		}
		if k == 0 && hasEst {
			row.Estimates = &est
		}
	}
	if k, ok := col["steps"]; ok {
		if s := strings.TrimSpace(rec[k]); s != "" {
			st, err := strconv.Atoi(s)
			if err != nil {
				return row, fmt.Errorf("column steps: %q is not a whole number", s)
			}
			row.Steps = st
		}
	}
	return row, nil
}
