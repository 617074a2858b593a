package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of the defects a hostile-input probe found (issue 16), one per
// item, each failing on the code before its fix.

// TestNumbersAreDecimal (item 11): Go literal syntax is not a number in a
// couplings or fields file, nor in a flag: 0_5 is not 5, 1_0 not 10,
// 0x1p-1 not 0.5, 0x10 not 16.
func TestNumbersAreDecimal(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content, flag string
	}{
		{"underscore value", "0 1 0_5\n", "-couplings"},
		{"underscore index", "1_0 2 0.5\n", "-couplings"},
		{"hex value", "0 1 0x1p-1\n", "-couplings"},
		{"hex index", "0x1 2 0.5\n", "-couplings"},
		{"octal-looking index", "0o1 2 0.5\n", "-couplings"},
		{"inf", "0 1 inf\n", "-couplings"},
	} {
		p := writeTemp(t, dir, "j.txt", c.content)
		st, out, errs := runCLI("exact", "-model", "file", c.flag, p, "-beta", "1")
		if st != exitUsage || out != "" || !strings.Contains(errs, "j.txt:1") {
			t.Errorf("%s: status %d, stdout %q, stderr %q", c.name, st, out, errs)
		}
	}
	fields := writeTemp(t, dir, "h.txt", "0 0x1p-1\n")
	coup := writeTemp(t, dir, "ok.txt", "0 1 0.5\n")
	if st, _, errs := runCLI("exact", "-model", "file", "-couplings", coup, "-fields", fields, "-beta", "1"); st != exitUsage || !strings.Contains(errs, "h.txt:1") {
		t.Errorf("hex field: status %d, %q", st, errs)
	}
	for _, args := range [][]string{
		{"-model", "cw", "-n", "4", "-beta", "0x1p-1"},
		{"-model", "cw", "-n", "4", "-beta", "1_0"},
		{"-model", "cw", "-n", "0x10", "-beta", "1"},
		{"-model", "cw", "-n", "1_0", "-beta", "1"},
		{"-model", "cw", "-n", "4", "-J", "1_0", "-beta", "1"},
		{"-model", "cw", "-n", "4", "-field", "0x1p-3", "-beta", "1"},
		{"-model", "sk", "-n", "4", "-seed", "0b1", "-beta", "1"},
	} {
		st, out, errs := runCLI(append([]string{"exact"}, args...)...)
		if st != exitUsage || out != "" || !strings.Contains(errs, "decimal") && !strings.Contains(errs, "whole number") && !strings.Contains(errs, "not a number") {
			t.Errorf("%v: status %d, stdout %q, stderr %q", args, st, out, errs)
		}
	}
	// Plain decimal notation, exponents and whole-valued floats as indices
	// (numpy.savetxt) still work.
	p := writeTemp(t, dir, "np.txt", "0.000000000000000000e+00 1.000000000000000000e+00 -2.5e-1\n")
	if st, out, errs := runCLI("exact", "-model", "file", "-couplings", p, "-beta", "1e0,.5", "-workers", "+1"); st != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("decimal input refused: status %d, %q %q", st, out, errs)
	}
}

// TestOutputNeverAnInput (item 1): an output naming an input file, or two
// outputs naming one file, are refused before anything is written.
func TestOutputNeverAnInput(t *testing.T) {
	dir := t.TempDir()
	j := writeTemp(t, dir, "J.txt", "0 1 0.5\n1 2 -0.25\n")
	st, _, errs := runCLI("sample", "-model", "file", "-couplings", j, "-arch", "h2arnn", "-beta", "1", "-samples", "4", "-out", j)
	if st != exitUsage || !strings.Contains(errs, "same file as the input") {
		t.Errorf("sample -out = -couplings: status %d, %q", st, errs)
	}
	if b, _ := os.ReadFile(j); string(b) != "0 1 0.5\n1 2 -0.25\n" {
		t.Errorf("the couplings file was changed: %q", b)
	}
	f := filepath.Join(dir, "F.txt")
	st, _, errs = runCLI("instance", "-model", "sk", "-n", "4", "-field", "0.5", "-fields", f, "-out", f)
	if st != exitUsage || !strings.Contains(errs, "same file") {
		t.Errorf("instance -fields = -out: status %d, %q", st, errs)
	}
	if _, err := os.Stat(f); err == nil {
		t.Error("instance wrote a file before refusing")
	}
}
