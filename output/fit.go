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
)

// FitFile is the learning curve of a `fit` run: one row per epoch.
const FitFile = "fit.csv"

// FitColumns are the columns of fit.csv for a net fitted by maximum
// likelihood; PseudoFitColumns those of a pseudo-likelihood (plm) fit,
// whose one row holds the mean negative log pseudo-likelihood per spin
// instead (a different quantity, hence other names):
//
//	epoch             epoch, from 1
//	train_nll         mean -ln q(x)/N over the training rows during the epoch [nats per spin]
//	val_nll           mean -ln q(x)/N over the held-out rows at the epoch's end [nats per spin]
//	train_pseudo_nll  mean -ln P(x_i|x_\i) over training rows and spins [nats]
//	val_pseudo_nll    the same over the held-out rows [nats]
//	seconds           wall-clock time of the epoch [s]
//
// A fit of learned couplings compared with true ones adds the column
// PearsonColumn:
//
//	pearson_abs       r(|W|, |J|) of the learned first layer at the epoch's end
var (
	FitColumns       = []string{"epoch", "train_nll", "val_nll", "seconds"}
	PseudoFitColumns = []string{"epoch", "train_pseudo_nll", "val_pseudo_nll", "seconds"}
	PearsonColumn    = "pearson_abs"
)

// FitRow is one row of fit.csv. Validation figures are NaN without held-out
// rows (written as nan), PearsonAbs without the pearson_abs column.
type FitRow struct {
	Epoch            int
	TrainNLL, ValNLL float64
	Seconds          float64
	PearsonAbs       float64
}

// RowWriter appends rows of numbers to a CSV file with a fixed header.
// Every Write reaches the disk (write + fsync) before it returns, so a crash
// loses no row already reported. Not safe for concurrent use.
type RowWriter struct {
	syncedFile
	cols int
	buf  []byte
}

// CreateRows creates (or truncates) path and writes the header line.
func CreateRows(path string, header []string) (*RowWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := &RowWriter{syncedFile: syncedFile{f: f, path: path}, cols: len(header)}
	if err := w.commit([]byte(strings.Join(header, ",") + "\n")); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(dirOf(path)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// ResumeRows reopens the CSV file of an interrupted run for appending,
// keeping its header (which must be header) and its first keep rows (the
// ones the run's checkpoint had finished; later rows and a partial last
// line are dropped). The file is rewritten atomically, so an error leaves
// it as it was.
func ResumeRows(path string, header []string, keep int) (*RowWriter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	h := strings.Join(header, ",") + "\n"
	if !bytes.HasPrefix(data, []byte(h)) {
		first, _, _ := bytes.Cut(data, []byte("\n"))
		return nil, fmt.Errorf("resume %s: header is %q, want %q", path, first, strings.TrimSuffix(h, "\n"))
	}
	end := len(h)
	for k := range keep {
		nl := bytes.IndexByte(data[end:], '\n')
		if nl < 0 {
			return nil, fmt.Errorf("resume %s: the checkpoint has %d finished rows but the file holds only %d", path, keep, k)
		}
		end += nl + 1
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data[:end])
		return err
	}); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return &RowWriter{syncedFile: syncedFile{f: f, path: path}, cols: len(header)}, nil
}

// Write appends one row of len(header) numbers, each in the shortest form
// that parses back to the same float64 (nan, inf, -inf for the special
// values), and syncs the file.
func (w *RowWriter) Write(v ...float64) error {
	if w.f == nil {
		return fmt.Errorf("%s: write after Close", w.path)
	}
	if len(v) != w.cols {
		return fmt.Errorf("%s: %d values for %d columns", w.path, len(v), w.cols)
	}
	b := w.buf[:0]
	for k, x := range v {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, x)
	}
	b = append(b, '\n')
	w.buf = b
	return w.commit(b)
}

// WriteFitRow appends a FitRow to a file with the columns FitHeader gives
// (PearsonAbs is written only into a file with that column).
func (w *RowWriter) WriteFitRow(r FitRow) error {
	if w.cols == 5 {
		return w.Write(float64(r.Epoch), r.TrainNLL, r.ValNLL, r.Seconds, r.PearsonAbs)
	}
	return w.Write(float64(r.Epoch), r.TrainNLL, r.ValNLL, r.Seconds)
}

// ReadFit reads a fit.csv file: its rows and whether it holds pseudo-
// likelihoods (PseudoFitColumns) rather than likelihoods (FitColumns).
// Columns are matched by name in any order; quoted fields (as pandas may
// write) are read. Errors name the file and line.
func ReadFit(path string) (rows []FitRow, pseudo bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("%s: empty file; a fit file starts with the header %s", path, strings.Join(FitColumns, ","))
		}
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for k, c := range hdr {
		col[strings.TrimSpace(c)] = k
	}
	names := FitColumns
	if _, ok := col["train_pseudo_nll"]; ok {
		names, pseudo = PseudoFitColumns, true
	}
	for _, c := range names {
		if _, ok := col[c]; !ok {
			return nil, false, fmt.Errorf("%s:1: no %q column in the header %q", path, c, strings.Join(hdr, ","))
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, pseudo, nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		var v [4]float64
		for k, c := range names {
			s := strings.TrimSpace(rec[col[c]])
			if v[k], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, false, fmt.Errorf("%s:%d: column %s: %q is not a number", path, line, c, s)
			}
		}
		if v[0] != float64(int(v[0])) || v[0] < 1 {
			return nil, false, fmt.Errorf("%s:%d: epoch %v is not a whole number ≥ 1", path, line, v[0])
		}
		row := FitRow{Epoch: int(v[0]), TrainNLL: v[1], ValNLL: v[2], Seconds: v[3], PearsonAbs: math.NaN()}
		if k, ok := col[PearsonColumn]; ok {
			s := strings.TrimSpace(rec[k])
			if row.PearsonAbs, err = strconv.ParseFloat(s, 64); err != nil {
				return nil, false, fmt.Errorf("%s:%d: column %s: %q is not a number", path, line, PearsonColumn, s)
			}
		}
		rows = append(rows, row)
	}
}

// FitHeader returns the columns of a fit file: PseudoFitColumns for a
// pseudo-likelihood fit, else FitColumns, followed by PearsonColumn when
// withPearson.
func FitHeader(pseudo, withPearson bool) []string {
	h := slices.Clone(FitColumns)
	if pseudo {
		h = slices.Clone(PseudoFitColumns)
	}
	if withPearson {
		h = append(h, PearsonColumn)
	}
	return h
}
