package driver

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/h2arnn/h2arnn/output"
)

// runInstance writes the couplings of a cw, sk or ising2d model in a format that
// -model file reads (text lines or a SciPy .npz matrix), so that an instance
// can be stored, shared and loaded back bit for bit.
func runInstance(args []string, e *env) error {
	fs := newFlagSet("instance", "-model sk|cw|ising2d -n N|-L L [-seed S] [-J 1] [-field 0] [-format text|npz] [-out FILE] [-fields FILE]",
		"Writes the couplings J_ij (i < j, nonzero ones, full float64 precision) to standard output or -out,\n"+
			"either as `i j J_ij` text lines, 0-based (-format text), or as an upper-triangular CSR matrix that\n"+
			"scipy.sparse.load_npz reads (-format npz). Without -format, an -out name ending in .npz selects npz.\n"+
			"The same flags give the same instance as in exact, sample and train, so `-model file -couplings FILE`\n"+
			"reproduces `-model sk -seed S` exactly. Fields are never part of the couplings file: a nonzero\n"+
			"-field needs -fields FILE (text \"i h_i\" lines), which only text couplings can be read with.", e.stderr)
	mf := addModelFlags(fs, false)
	out := fs.String("out", "", "write the couplings to this `FILE` instead of standard output")
	format := fs.String("format", "", "text|npz (default: npz if -out ends in .npz, else text)")
	fieldsOut := fs.String("fields", "", "also write the fields h_i as \"i h_i\" lines to this `FILE`")
	if err := fs.parse(args); err != nil {
		return err
	}
	switch *format {
	case "":
		*format = "text"
		if isNPZ(*out) {
			*format = "npz"
		}
	case "text", "npz":
		if *out != "" && isNPZ(*out) != (*format == "npz") {
			return usagef("-format %s contradicts the extension of -out %s; name .npz files .npz and text files otherwise", *format, *out)
		}
	default:
		return usagef("-format %q is not known; give -format text or -format npz", *format)
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	if m.N < 2 {
		return usagef("-n %d: a single spin has no couplings to write; give -n N with N ≥ 2", m.N)
	}
	if mf.field != 0 && *fieldsOut == "" {
		return usagef("-field %v is nonzero but the couplings file cannot hold fields; give -fields FILE to write them too", mf.field)
	}
	if *fieldsOut != "" && *format == "npz" {
		return usagef("-fields with -format npz: the driver reads fields only together with text couplings; use -format text")
	}
	if *out != "" && *fieldsOut != "" && absPath(*out) == absPath(*fieldsOut) {
		return usagef("-out and -fields name the same file %s; the couplings would overwrite the fields, give two names", *out)
	}
	if *fieldsOut != "" {
		if err := output.CheckNotInput(*fieldsOut, *out); err != nil {
			return usagef("-fields %v", err)
		}
	}
	write := m.WriteCouplings
	if *format == "npz" {
		write = m.WriteNPZ
	}
	if *fieldsOut != "" {
		if err := writeFile(*fieldsOut, "-fields", m.WriteFields); err != nil {
			return err
		}
	}
	if *out != "" {
		return writeFile(*out, "-out", write)
	}
	w := bufio.NewWriter(e.stdout)
	if err := write(w); err != nil {
		return fmt.Errorf("writing couplings: %v", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing couplings: %v", err)
	}
	return nil
}

// writeFile writes a file through write atomically (output.WriteFileAtomic).
// A file that cannot be created is the user's to fix (flag names the flag
// that gave the path).
func writeFile(path, flag string, write func(io.Writer) error) error {
	if err := checkFileDir(path); err != nil {
		return usagef("%s %s: cannot create the file (%v); give a writable path", flag, path, err)
	}
	if err := output.WriteFileAtomic(path, write); err != nil {
		return fmt.Errorf("writing %s: %s", path, strings.TrimSpace(err.Error()))
	}
	return nil
}
