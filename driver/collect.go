package driver

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/h2arnn/h2arnn/output"
)

// tidyFile is the name of collect's table of every run and β.
const tidyFile = "results.csv"

// collectResult is the JSON line of collect for one figure.
type collectResult struct {
	Figure   string   `json:"figure"`
	Runs     int      `json:"runs"`
	Complete int      `json:"complete"`
	Partial  int      `json:"partial"`
	Missing  int      `json:"missing"`
	Files    []string `json:"files"`
	// PearsonAbs is r(|W|, |J|) of each fit with learned couplings
	// (Figure 6).
	PearsonAbs map[string]float64 `json:"pearson_abs,omitempty"`
}

func runCollect(args []string, e *env) error {
	fs := newFlagSet("collect", "[-out DIR2] DIR",
		"Gathers the runs of the reproduction in DIR (written by 'h2arnn reproduce') into one tidy CSV,\n"+
			"results.csv: one row per run and β with figure, run, model, n, instance, net, arch, train_seed,\n"+
			"params, the columns of stats.csv (beta, f, f_std, e, e_min, s, m_abs, steps, seconds, f_exact,\n"+
			"rel_err) and f_ref, rel_diff: f of the figure's reference net (Figure 5: sk_2rsb) on the same\n"+
			"instance and β, and (f - f_ref)/|f_ref|. Missing values are nan. Then it draws each figure in the\n"+
			"paper's layout as <figure>.png and .svg, with the points drawn in <figure>.csv (panel, series,\n"+
			"x, y, y_low, y_high): A1-A3 the error against β per N (Figure 5: mean over instances with its 95 %\n"+
			"interval), B the mean and maximum error against N (Figure 4) or the parameters against N (Figure 5),\n"+
			"C P(q) at the largest N; Figure 6 is |W| against |J| of each fit with learned couplings (one panel\n"+
			"per estimator, with the least-squares line; fig6.csv holds the pairs and the line's ends). Runs still\n"+
			"going are included as far as they got. Prints one JSON line per figure {\"figure\",\"runs\",\"complete\",\n"+
			"\"partial\",\"missing\",\"files\"} (Figure 6 adds \"pearson_abs\": r(|W|, |J|) per estimator).", e.stderr)
	out := fs.String("out", "", "`DIR2` for the CSV files and figures (default: DIR)")
	dirs, err := fs.parsePositional(args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		return usagef("give one reproduction directory (written by 'h2arnn reproduce'), not %d", len(dirs))
	}
	dir := dirs[0]
	files, err := readGridFiles(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("%s holds no grid_<figure>.json; give a directory written by 'h2arnn reproduce'", dir)
	}
	if *out == "" {
		*out = dir
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usagef("-out %s: %v", *out, err)
	}
	var all []output.TidyRow
	var results []collectResult
	for _, gf := range files {
		if gf.Layout.Couplings {
			res, err := collectCouplings(dir, *out, gf)
			if err != nil {
				return err
			}
			results = append(results, res)
			continue
		}
		res := collectResult{Figure: gf.Figure, Runs: len(gf.Rows)}
		var runs []output.GridRun
		var nets []string
		for _, r := range gf.Rows {
			if !slices.Contains(nets, r.Net.Label) {
				nets = append(nets, r.Net.Label)
			}
			rd := filepath.Join(dir, runsSubdir, r.ID)
			st := readRunState(rd)
			if st.BetasDone == 0 {
				res.Missing++
				continue
			}
			if st.complete() {
				res.Complete++
			} else {
				res.Partial++
			}
			run, err := output.LoadRun(rd)
			if err != nil {
				return err
			}
			info := output.RunInfo{Figure: gf.Figure, ID: r.ID, Model: r.Model, N: r.N, Instance: r.Instance,
				Label: r.Net.Label, Arch: r.Net.Arch, TrainSeed: r.TrainSeed, Params: summaryParams(rd)}
			runs = append(runs, output.GridRun{RunInfo: info, Run: run})
		}
		rows := output.Tidy(runs, map[string]string{gf.Figure: gf.Layout.Reference})
		all = append(all, rows...)
		if len(runs) > 0 {
			fig := output.PaperFigure(gf.Figure, rows, runs, gf.Layout, nets)
			base := filepath.Join(*out, gf.Figure)
			if err := output.WriteFileAtomic(base+".csv", fig.WriteCSV); err != nil {
				return err
			}
			if err := fig.Draw(base); err != nil {
				return err
			}
			res.Files = []string{base + ".png", base + ".svg", base + ".csv"}
		}
		results = append(results, res)
	}
	path := filepath.Join(*out, tidyFile)
	if err := output.WriteFileAtomic(path, func(w io.Writer) error { return output.WriteTidyCSV(w, all) }); err != nil {
		return err
	}
	for _, res := range results {
		if res.PearsonAbs == nil {
			res.Files = append([]string{path}, res.Files...)
		}
		if err := e.emit(res); err != nil {
			return err
		}
	}
	return nil
}

// summaryParams reads the number of parameters from a run's summary.json
// (-1 if it is not there).
func summaryParams(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	if err != nil {
		return -1
	}
	var v struct {
		Params *int `json:"params"`
	}
	if json.Unmarshal(b, &v) != nil || v.Params == nil {
		return -1
	}
	return *v.Params
}

// collectCouplings draws Figure 6 from the fit runs of gf: |W| against |J|
// of every fit that learned couplings, one panel per fit (as 'h2arnn plot'
// draws fit runs), with the points in <figure>.csv.
func collectCouplings(dir, out string, gf *gridFile) (collectResult, error) {
	res := collectResult{Figure: gf.Figure, Runs: len(gf.Rows), PearsonAbs: map[string]float64{}}
	var panels []output.CouplingPanel
	for _, r := range gf.Rows {
		rd := filepath.Join(dir, runsSubdir, r.ID)
		switch st := readRunState(rd); {
		case st.complete():
			res.Complete++
		case st.Summary != "":
			res.Partial++
			continue
		default:
			res.Missing++
			continue
		}
		if r.Command != "fit" {
			continue
		}
		p, ok, err := couplingPanel(fitRunFiles{label: r.Net.Label, dir: rd})
		if err != nil {
			return res, err
		}
		if ok {
			panels = append(panels, p)
			res.PearsonAbs[p.Label] = p.R
		}
	}
	if len(panels) == 0 {
		return res, nil
	}
	base := filepath.Join(out, gf.Figure)
	if err := output.WriteFileAtomic(base+".csv", output.CouplingFigure(gf.Figure, panels).WriteCSV); err != nil {
		return res, err
	}
	if err := output.PlotCouplings(panels, base); err != nil {
		return res, err
	}
	res.Files = []string{base + ".png", base + ".svg", base + ".csv"}
	return res, nil
}
