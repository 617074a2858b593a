package driver

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/output"
)

// plotResult is the JSON line of `h2arnn plot`: the files written.
type plotResult struct {
	Runs  []string `json:"runs"`
	Files []string `json:"files"`
	// Beta is the β asked for the P(q) figure (absent without one).
	Beta *float64 `json:"beta,omitempty"`
}

// runPlot overlays the free energy (and P(q)) of several run directories.
func runPlot(args []string, e *env) error {
	fs := newFlagSet("plot", "[-out PREFIX] [-beta B] DIR...",
		"Draws the runs in the directories DIR... (written by 'h2arnn train') in one figure each, as PNG\n"+
			"and SVG: PREFIX_free_energy (f against β, and the relative error against the exact f, or the\n"+
			"per-sample std without one) and, if the runs kept overlap histograms, PREFIX_overlaps (P(q) at the\n"+
			"stored β nearest to -beta, by default the last β of the first run). Runs are named by their\n"+
			"-label (else the architecture). Prints one JSON line {\"runs\",\"files\"}. Rows that cannot be\n"+
			"drawn (a non-finite β or f; of rows repeating a β all but the last) are left out and said on\n"+
			"standard error, one line per run and kind; if one figure fails the other is still written.\n"+
			"\n"+
			"Directories written by 'h2arnn fit' get PREFIX_fit_curves (held-out and training NLL per spin\n"+
			"against the epoch, every run that fitted a net) and PREFIX_couplings_vs_learned (|W| against |J|\n"+
			"with the least-squares line and r, one panel per run that learned couplings and was given the true\n"+
			"model). Training and fit runs cannot be mixed in one call.", e.stderr)
	out := fs.String("out", "", "`PREFIX` of the figure files (default: DIR/ for one run, else ./plot)")
	beta := fs.Float64("beta", math.NaN(), "inverse temperature of the P(q) figure (default: the last β of the first run)")
	dirs, err := fs.parsePositional(args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return usagef("no run directory given; give one or more directories written by 'h2arnn train'")
	}
	if fs.set("beta") && (!(*beta > 0) || math.IsInf(*beta, 0)) {
		return usagef("-beta %v: give the inverse temperature of a stored P(q), > 0", *beta)
	}
	if fits, err := fitRunDirs(dirs); err != nil {
		return err
	} else if fits != nil {
		if fs.set("beta") {
			return usagef("-beta applies to training runs; 'fit' runs have no β; drop it")
		}
		return plotFits(e, fits, plotPrefix(*out, dirs))
	}
	runs, err := loadRuns(dirs)
	if err != nil {
		return err
	}
	prefix := plotPrefix(*out, dirs)
	if err := checkFileDir(prefix + "free_energy.png"); err != nil {
		return usagef("-out %s: %v; give a prefix in an existing, writable directory", *out, err)
	}
	b := *beta
	if !fs.set("beta") {
		b = lastBeta(runs[0].Stats)
	}
	res, err := drawRuns(e, runs, prefix, b)
	res.Runs = dirs
	if len(res.Files) > 0 {
		if eerr := e.emit(res); err == nil {
			err = eerr
		}
	}
	return err
}

// lastBeta returns the β of the last row with a finite one (NaN if none).
func lastBeta(rows []output.StatsRow) float64 {
	for i := len(rows) - 1; i >= 0; i-- {
		if b := rows[i].Beta; fmath.Finite(b) {
			return b
		}
	}
	return math.NaN()
}

// loadRuns reads the run directories; each must hold a stats.csv with at
// least one finished β.
func loadRuns(dirs []string) ([]output.Run, error) {
	runs := make([]output.Run, 0, len(dirs))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return nil, usagef("%s is not a directory; give run directories written by 'h2arnn train'", d)
		}
		if _, err := os.Stat(filepath.Join(d, output.StatsFile)); err != nil {
			return nil, usagef("%s has no %s; give run directories written by 'h2arnn train'", d, output.StatsFile)
		}
		r, err := output.LoadRun(d)
		if err != nil {
			return nil, asUsage(err)
		}
		if len(r.Stats) == 0 {
			return nil, usagef("%s: %s has no finished β yet; nothing to draw", d, output.StatsFile)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// drawRuns writes the free-energy figure and, if any run kept overlap
// histograms, the P(q) figure at the stored β nearest to beta, and says on
// stderr, one line each, what they leave out (rows with non-finite values,
// repeated β, undefined histograms). A figure that fails does not stop the
// other: the result lists the files written, and the first error is
// returned — a usage error when the data leave nothing to draw, an
// internal one when drawing or writing failed.
func drawRuns(e *env, runs []output.Run, prefix string, beta float64) (plotResult, error) {
	var res plotResult
	var first error
	fail := func(err error) {
		if errors.Is(err, output.ErrNothingToDraw) {
			err = asUsage(err)
		}
		if first == nil {
			first = err
		} else {
			fmt.Fprintf(e.stderr, "h2arnn plot: %s\n", oneLine(err.Error()))
		}
	}
	for _, n := range output.FreeEnergyNotes(runs) {
		fmt.Fprintf(e.stderr, "h2arnn plot: %s\n", n)
	}
	fe := prefix + "free_energy"
	if err := output.PlotFreeEnergy(runs, fe); err != nil {
		fail(err)
	} else {
		res.Files = append(res.Files, fe+".png", fe+".svg")
	}
	if !slices.ContainsFunc(runs, func(r output.Run) bool { return len(r.Overlaps) > 0 }) {
		return res, first
	}
	for _, n := range output.OverlapsNotes(runs, beta) {
		fmt.Fprintf(e.stderr, "h2arnn plot: %s\n", n)
	}
	ov := prefix + "overlaps"
	if err := output.PlotOverlaps(runs, beta, ov); err != nil {
		fail(err)
	} else {
		res.Files = append(res.Files, ov+".png", ov+".svg")
		res.Beta = &beta
	}
	return res, first
}

// plotPrefix is the prefix of the figure files: -out, else DIR/ for one
// run, else ./plot_.
func plotPrefix(out string, dirs []string) string {
	switch {
	case out == "" && len(dirs) == 1:
		return dirs[0] + string(filepath.Separator)
	case out == "":
		return "plot_"
	case out[len(out)-1] != filepath.Separator:
		return out + "_"
	}
	return out
}

// fitRunDirs returns the directories as fit runs when they all hold a
// fit.csv, nil when none does, and an error for a mix.
func fitRunDirs(dirs []string) ([]fitRunFiles, error) {
	var fits []fitRunFiles
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, output.FitFile)); err != nil {
			continue
		}
		var sum struct {
			Label string `json:"label"`
			Arch  string `json:"arch"`
		}
		if err := output.ReadSummary(d, &sum); err != nil {
			return nil, usagef("%s: %v; give directories written by 'h2arnn fit'", d, err)
		}
		label := sum.Label
		if label == "" {
			label = sum.Arch
		}
		fits = append(fits, fitRunFiles{label: label, dir: d})
	}
	if fits != nil && len(fits) != len(dirs) {
		return nil, usagef("some directories are 'fit' runs and some are not; plot them in separate calls")
	}
	return fits, nil
}

// plotFits draws the figures of fit runs and prints the files written.
func plotFits(e *env, fits []fitRunFiles, prefix string) error {
	if err := checkFileDir(prefix + fitCurvesPlot + ".png"); err != nil {
		return usagef("-out %s: %v; give a prefix in an existing, writable directory", prefix, err)
	}
	files, err := plotFitRuns(fits, prefix)
	if err != nil {
		return asUsage(err)
	}
	res := plotResult{Files: files}
	for _, f := range fits {
		res.Runs = append(res.Runs, f.dir)
	}
	return e.emit(res)
}
