package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// runInstance writes the couplings of a cw or sk model in the text format
// that -model file reads, so that an instance can be stored, shared and
// loaded back bit for bit.
func runInstance(args []string, e *env) error {
	fs := newFlagSet("instance", "-model sk|cw -n N [-seed S] [-J 1] [-field 0] [-out FILE] [-fields FILE]",
		"Writes the couplings J_ij (i < j, nonzero ones, full float64 precision) as `i j J_ij` lines,\n"+
			"0-based, to standard output or -out. The same flags give the same instance as in exact,\n"+
			"sample and train, so `-model file -couplings FILE` reproduces `-model sk -seed S` exactly.\n"+
			"A nonzero -field needs -fields FILE, since the couplings file cannot hold fields.", e.stderr)
	mf := addModelFlags(fs, false)
	out := fs.String("out", "", "write the couplings to this `FILE` instead of standard output")
	fieldsOut := fs.String("fields", "", "also write the fields h_i as \"i h_i\" lines to this `FILE`")
	if err := fs.parse(args); err != nil {
		return err
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
	if *fieldsOut != "" {
		if err := writeFile(*fieldsOut, "-fields", m.WriteFields); err != nil {
			return err
		}
	}
	if *out != "" {
		return writeFile(*out, "-out", m.WriteCouplings)
	}
	w := bufio.NewWriter(e.stdout)
	if err := m.WriteCouplings(w); err != nil {
		return fmt.Errorf("writing couplings: %v", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing couplings: %v", err)
	}
	return nil
}

// writeFile writes a text file through write, via a temporary file renamed
// into place. A file that cannot be created is the user's to fix (flag
// names the flag that gave the path).
func writeFile(path, flag string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return usagef("%s %s: cannot create the file (%v); give a writable path", flag, path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
