package output

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// StatsRow holds the figures of one β of a run (SPEC §4). Energies are per
// spin in units of the coupling scale J; β is in units of 1/J.
type StatsRow struct {
	Beta float64 // inverse temperature β
	F    float64 // variational free energy per spin f = mean(L)/(βN)
	FStd float64 // standard deviation of the per-sample free energy std(L)/(βN)
	E    float64 // energy per spin e = <H>/N
	EMin float64 // lowest sampled energy per spin, min_b H(x_b)/N
	S    float64 // entropy per spin s = -<ln q>/N
	MAbs float64 // absolute magnetisation <|Σ_i x_i|>/N
	// Steps is the number of optimiser steps taken at this β.
	Steps int
	// Seconds is the wall-clock time spent at this β.
	Seconds float64
	// FExact is the exact free energy per spin and RelErr the signed
	// relative error (F - FExact) / |FExact| (≥ 0 up to sampling noise, as
	// the variational f bounds the exact one from above); both are
	// meaningful only if HasExact. Set all three with SetExact.
	FExact, RelErr float64
	HasExact       bool
	// Est holds the unbiased estimates of the β (train -estimate),
	// meaningful only if HasEstimate.
	Est         Estimates
	HasEstimate bool
}

// Estimates are the neural importance sampling (NIS) and neural MCMC
// figures of one β (package mc): per spin, in units of the coupling scale.
type Estimates struct {
	// FNIS = -ln Ẑ/(βN) with its standard error FNISErr (delta method).
	FNIS, FNISErr float64
	// ESS is the relative effective sample size (Σw)²/(M·Σw²) ∈ [1/M, 1],
	// and ParetoK the fitted tail shape of the weights (mc.Weights.ParetoK;
	// NaN when undefined): error bars hold for ParetoK ≲ 0.7.
	ESS, ParetoK float64
	// ENIS is the reweighted energy per spin with its standard error.
	ENIS, ENISErr float64
	// ENMCMC is the chain's mean energy per spin with its standard error
	// corrected by TauInt, the chain's integrated autocorrelation time of
	// e (in steps); Acceptance is its acceptance rate.
	ENMCMC, ENMCMCErr  float64
	Acceptance, TauInt float64
}

// Values returns the estimates in the order of EstimateColumns.
func (e Estimates) Values() []float64 {
	return []float64{e.FNIS, e.FNISErr, e.ESS, e.ParetoK, e.ENIS, e.ENISErr, e.ENMCMC, e.ENMCMCErr, e.Acceptance, e.TauInt}
}

// fields returns pointers to the estimates in the order of EstimateColumns.
func (e *Estimates) fields() []*float64 {
	return []*float64{&e.FNIS, &e.FNISErr, &e.ESS, &e.ParetoK, &e.ENIS, &e.ENISErr, &e.ENMCMC, &e.ENMCMCErr, &e.Acceptance, &e.TauInt}
}

// SetExact records the exact free energy per spin fExact and the signed
// relative error (F - fExact) / |fExact| of the row's F (±Inf if fExact is
// 0 and F is not, 0 if both are 0).
func (r *StatsRow) SetExact(fExact float64) {
	r.FExact = fExact
	r.HasExact = true
	r.RelErr = 0
	if d := r.F - fExact; d != 0 {
		r.RelErr = d / math.Abs(fExact)
	}
}

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
	f      *os.File
	path   string
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
	w := &StatsWriter{f: f, path: path, layout: layout}
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
	// one partial line at the end, which is not a row.
	end := len(h)
	for k := 0; k < keep; k++ {
		nl := bytes.IndexByte(data[end:], '\n')
		if nl < 0 {
			return nil, nil, fmt.Errorf("resume stats %s: the checkpoint has %d finished β values but the file holds only %d rows", path, keep, k)
		}
		end += nl + 1
	}
	rows, _, err := parseStats(bytes.NewReader(data[:end]), path)
	if err != nil {
		return nil, nil, err
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data[:end])
		return err
	}); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("resume stats: %w", err)
	}
	return &StatsWriter{f: f, path: path, layout: layout}, rows, nil
}

// Write appends one row and syncs the file. Floats are written with the
// shortest decimal form that parses back to the same float64 (strconv 'g',
// -1); NaN and infinities as nan, inf and -inf, which numpy and pandas read.
// In a file with the exact (estimate) columns, a row without HasExact
// (HasEstimate) leaves them empty (pandas and numpy.genfromtxt read empty
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
		b = appendGroup(b, r.HasExact, []float64{r.FExact, r.RelErr})
	}
	if w.layout.Estimate {
		b = appendGroup(b, r.HasEstimate, r.Est.Values())
	}
	b = append(b, '\n')
	w.buf = b
	return w.commit(b)
}

// appendGroup appends a comma and then the values separated by commas, or
// only the commas if !has.
func appendGroup(b []byte, has bool, vs []float64) []byte {
	for _, v := range vs {
		b = append(b, ',')
		if has {
			b = appendFloat(b, v)
		}
	}
	return b
}

// commit writes b and fsyncs the file.
func (w *StatsWriter) commit(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("stats file %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("stats file %s: sync: %w", w.path, err)
	}
	return nil
}

// Close closes the file. Every row is already on disk; Close reports only
// the closing error. A second Close is a no-op.
func (w *StatsWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("stats file %s: %w", w.path, err)
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
// by pandas, as long as the columns keep their names). Columns are matched
// by name, in any order; beta and f are required, any other column of
// StatsColumns, ExactColumns or EstimateColumns that is missing reads as
// NaN (steps as 0), and unknown columns are ignored. HasExact is set for
// rows whose f_exact is present and not empty, HasEstimate for rows whose
// f_nis is. It returns the rows in file order and the header's
// column names. Errors name the file and line.
func ReadStats(path string) ([]StatsRow, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parseStats(f, path)
}

func parseStats(r io.Reader, name string) ([]StatsRow, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, nil, fmt.Errorf("%s: empty file; a stats file starts with the header %s", name, strings.TrimSpace(header(StatsLayout{})))
	}
	hdr := strings.Split(strings.TrimRight(sc.Text(), "\r"), ",")
	col := map[string]int{}
	for k, c := range hdr {
		c = strings.TrimSpace(c)
		hdr[k] = c
		if _, dup := col[c]; dup {
			return nil, nil, fmt.Errorf("%s:1: column %q appears twice", name, c)
		}
		col[c] = k
	}
	for _, need := range []string{"beta", "f"} {
		if _, ok := col[need]; !ok {
			return nil, nil, fmt.Errorf("%s:1: no %q column in header %q", name, need, sc.Text())
		}
	}
	var rows []StatsRow
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != len(hdr) {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, the header has %d", name, line, len(fields), len(hdr))
		}
		get := func(c string) (float64, bool, error) {
			k, ok := col[c]
			if !ok {
				return math.NaN(), false, nil
			}
			s := strings.TrimSpace(fields[k])
			if s == "" {
				return math.NaN(), false, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, false, fmt.Errorf("%s:%d: column %s: %q is not a number", name, line, c, s)
			}
			return v, true, nil
		}
		var row StatsRow
		var err error
		for _, p := range []struct {
			c string
			v *float64
		}{{"beta", &row.Beta}, {"f", &row.F}, {"f_std", &row.FStd}, {"e", &row.E}, {"e_min", &row.EMin},
			{"s", &row.S}, {"m_abs", &row.MAbs}, {"seconds", &row.Seconds}, {"rel_err", &row.RelErr}} {
			if *p.v, _, err = get(p.c); err != nil {
				return nil, nil, err
			}
		}
		if row.FExact, row.HasExact, err = get("f_exact"); err != nil {
			return nil, nil, err
		}
		for k, v := range row.Est.fields() {
			var has bool
			if *v, has, err = get(EstimateColumns[k]); err != nil {
				return nil, nil, err
			}
			if k == 0 {
				row.HasEstimate = has
			}
		}
		if k, ok := col["steps"]; ok {
			s := strings.TrimSpace(fields[k])
			if s != "" {
				st, err := strconv.Atoi(s)
				if err != nil {
					return nil, nil, fmt.Errorf("%s:%d: column steps: %q is not a whole number", name, line, s)
				}
				row.Steps = st
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("%s:%d: line too long; not a stats file", name, line+1)
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, hdr, nil
}
