package driver

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// TestLimitN: the smallest limit wins, and of two equal ones the first
// reason stays; a limit is at least one spin.
func TestLimitN(t *testing.T) {
	mf := &modelFlags{}
	mf.limitN(10, "a")
	mf.limitN(10, "b")
	mf.limitN(12, "c")
	if mf.maxN != 10 || mf.maxWhy != "a" {
		t.Errorf("maxN %d %q; want 10 \"a\"", mf.maxN, mf.maxWhy)
	}
	mf.limitN(0, "d")
	if mf.maxN != 1 || mf.maxWhy != "d" {
		t.Errorf("maxN %d %q; want 1 \"d\"", mf.maxN, mf.maxWhy)
	}
}

// TestExactEnumerationBound: exactly model.MaxEnumerate spins are
// enumerated (from the flags or from a file), one more is refused before
// the model is built, with -method analytic suggested for cw only.
func TestExactEnumerationBound(t *testing.T) {
	dir := t.TempDir()
	at := writeTemp(t, dir, "at.txt", "0 31 0.5\n")
	over := writeTemp(t, dir, "over.txt", "0 32 0.5\n")
	if model.MaxEnumerate != 32 {
		t.Fatalf("the files assume MaxEnumerate 32, not %d", model.MaxEnumerate)
	}
	for _, c := range []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"-model", "sk", "-n", "32"}, ""},
		{[]string{"-model", "file", "-couplings", at}, ""},
		{[]string{"-model", "sk", "-n", "33"}, "N ≤ 32"},
		{[]string{"-model", "file", "-couplings", over}, "-method enumerate sums all 2^N states and needs N ≤ 32"},
	} {
		fs := newFlagSet("exact", "", "", io.Discard)
		mf := addModelFlags(fs, true)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		m, _, err := exactModel(fs, mf, "enumerate")
		if c.want == "" && (err != nil || m.N != 32) || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v; want %q", c.args, err, c.want)
		}
	}
	for model, analytic := range map[string]bool{"cw": true, "sk": false} {
		st, _, se := runCLI("exact", "-model", model, "-n", "40", "-method", "enumerate", "-beta", "1")
		if st != exitUsage || strings.Contains(se, "-method analytic") != analytic {
			t.Errorf("exact -model %s -n 40 -method enumerate: %d %q; -method analytic suggested: want %v", model, st, se, analytic)
		}
	}
}

// TestFileNBeyondMaxSpins: without a limit of the command's, a couplings
// file beyond model.MaxSpins is refused by the loader's own words, with
// no reason appended.
func TestFileNBeyondMaxSpins(t *testing.T) {
	big := writeTemp(t, t.TempDir(), "big.txt", "0 20000 0.5\n")
	st, _, se := runCLI("bench", "-model", "file", "-couplings", big, "-arch", "1p", "-max-memory", "0")
	if st != exitUsage || !strings.Contains(se, "at most 20000 spins") || strings.HasSuffix(strings.TrimRight(se, " \n"), ";") {
		t.Errorf("bench of a file naming spin 20000: %d %q", st, se)
	}
}

// TestLastBeta: the last finite β, the first row's too.
func TestLastBeta(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		betas []float64
		want  float64
	}{
		{[]float64{1, 2}, 2}, {[]float64{1, nan}, 1}, {[]float64{3}, 3}, {[]float64{nan}, nan}, {nil, nan},
	} {
		rows := make([]output.StatsRow, len(c.betas))
		for i, b := range c.betas {
			rows[i].Beta = b
		}
		if got := lastBeta(rows); got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("lastBeta(%v) = %v; want %v", c.betas, got, c.want)
		}
	}
}

// TestExactReferenceLooksAtCtx: the Curie-Weiss sum looks at ctx once
// every refCheckEvery β: a cancelled ctx stops the refCheckEvery-th β,
// not an earlier one.
func TestExactReferenceLooksAtCtx(t *testing.T) {
	m, err := model.CurieWeiss(10, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	betas := make([]float64, refCheckEvery)
	for k := range betas {
		betas[k] = 0.5
	}
	if out, err := exactReference(ctx, m, betas[:refCheckEvery-1], 1); err != nil || len(out) != refCheckEvery-1 {
		t.Errorf("%d β with ctx cancelled: %d results, %v; want all", refCheckEvery-1, len(out), err)
	}
	if _, err := exactReference(ctx, m, betas, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("%d β with ctx cancelled: %v; want context.Canceled", refCheckEvery, err)
	}
}
