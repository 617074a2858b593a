package output

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
// them when the run has an exact reference.
var (
	StatsColumns = []string{"beta", "f", "f_std", "e", "e_min", "s", "m_abs", "steps", "seconds"}
	ExactColumns = []string{"f_exact", "rel_err"}
)

// StatsWriter appends rows to a stats.csv file. Every Write reaches the disk
// (write + fsync) before it returns, so a crash or a kill loses no row that
// was already reported. A StatsWriter is not safe for concurrent use.
type StatsWriter struct {
	f         *os.File
	path      string
	withExact bool
	buf       []byte
}

// header returns the header line (with '\n') for a file with or without the
// exact columns.
func header(withExact bool) string {
	cols := StatsColumns
	if withExact {
		cols = append(append([]string(nil), StatsColumns...), ExactColumns...)
	}
	return strings.Join(cols, ",") + "\n"
}

// CreateStats creates (or truncates) the stats file at path and writes its
// header: beta,f,f_std,e,e_min,s,m_abs,steps,seconds and, if withExact,
// f_exact,rel_err. The header is on disk when CreateStats returns.
func CreateStats(path string, withExact bool) (*StatsWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("stats file: %w", err)
	}
	w := &StatsWriter{f: f, path: path, withExact: withExact}
	if err := w.commit([]byte(header(withExact))); err != nil {
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
// one CreateStats(path, withExact) writes, and it must hold at least keep
// rows.
func ResumeStats(path string, withExact bool, keep int) (*StatsWriter, []StatsRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("resume stats: %w", err)
	}
	h := header(withExact)
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
	return &StatsWriter{f: f, path: path, withExact: withExact}, rows, nil
}

// Write appends one row and syncs the file. Floats are written with the
// shortest decimal form that parses back to the same float64 (strconv 'g',
// -1); NaN and infinities as nan, inf and -inf, which numpy and pandas read.
// In a file with the exact columns, a row without HasExact leaves them empty
// (pandas and numpy.genfromtxt read empty fields as NaN). In a file without
// them, a row's exact fields are not written.
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
	if w.withExact {
		b = append(b, ',')
		if r.HasExact {
			b = appendFloat(b, r.FExact)
			b = append(b, ',')
			b = appendFloat(b, r.RelErr)
		} else {
			b = append(b, ',')
		}
	}
	b = append(b, '\n')
	w.buf = b
	return w.commit(b)
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
// StatsColumns or ExactColumns that is missing reads as NaN (steps as 0),
// and unknown columns are ignored. HasExact is set for rows whose f_exact is
// present and not empty. It returns the rows in file order and the header's
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
		return nil, nil, fmt.Errorf("%s: empty file; a stats file starts with the header %s", name, strings.TrimSpace(header(false)))
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
