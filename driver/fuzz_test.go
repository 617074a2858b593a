package driver

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// badFileLine is the one stderr line for a rejected couplings or fields
// file: the subcommand, then file:line.
var badFileLine = regexp.MustCompile(`^h2arnn exact: [^\n]*(c|h)\.txt:[1-9][0-9]*: [^\n]+\n$`)

// FuzzExactFile feeds arbitrary couplings and fields files to
// `h2arnn exact -model file -n 8`: the driver must either print one JSON
// line per β (status 0) or exactly one stderr line naming file:line (status
// 2), and never crash. -n 8 keeps every accepted model cheap to enumerate.
func FuzzExactFile(f *testing.F) {
	f.Add("0 1 1\n", "")
	f.Add("0 1 0.5\n2 7 -1 # c\n", "3 0.25\n")
	f.Add("0 8 1\n", "")
	f.Add("1 1 1\n", "")
	f.Add("0 1 1\n1 0 1\n", "")
	f.Add("0 1 1e308\n1 2 1e308\n", "0 1e308\n")
	f.Add("", "0 1\n")
	f.Fuzz(func(t *testing.T, couplings, fields string) {
		dir := t.TempDir()
		c := filepath.Join(dir, "c.txt")
		if err := os.WriteFile(c, []byte(couplings), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"exact", "-model", "file", "-couplings", c, "-n", "8", "-beta", "0.5,2", "-workers", "1"}
		if fields != "" {
			h := filepath.Join(dir, "h.txt")
			if err := os.WriteFile(h, []byte(fields), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-fields", h)
		}
		st, out, errs := runCLI(args...)
		checkNoCrash(t, out, errs)
		switch st {
		case exitOK:
			if errs != "" || strings.Count(out, "\n") != 2 {
				t.Fatalf("accepted, but stdout %q stderr %q", out, errs)
			}
			jsonLines(t, out)
		case exitUsage:
			if out != "" || !badFileLine.MatchString(errs) {
				t.Fatalf("rejection stdout %q stderr %q", out, errs)
			}
		case exitInternal:
			// Only an overflow of extreme but valid numbers may end here.
			if out != "" && strings.Count(out, "\n") > 1 || !strings.Contains(errs, "not a finite number") || strings.Count(errs, "\n") != 1 {
				t.Fatalf("status 1: stdout %q stderr %q", out, errs)
			}
		default:
			t.Fatalf("status %d", st)
		}
	})
}
