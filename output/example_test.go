package output_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// A driver's whole use of the package: check the directory, append one
// stats row per β, store each β's overlap histogram, the samples and the
// summary, then read the run back and plot it.
func Example() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	if err := output.CheckWritable(dir); err != nil {
		fmt.Println(err)
		return
	}
	stats, err := output.CreateStats(filepath.Join(dir, output.StatsFile), output.StatsLayout{Exact: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	betas := []float64{0.5, 1}
	for k, beta := range betas {
		row := output.StatsRow{Beta: beta, Stats: model.Stats{F: -1.5 / beta}, Steps: 1000}
		row.SetExact(-1.5/beta - 1e-6)
		if err := stats.Write(row); err != nil { // on disk when Write returns
			fmt.Println(err)
			return
		}
		output.WriteOverlaps(dir, k, len(betas), []float64{0.25, 0.25, 0.25, 0.25})
	}
	stats.Close()
	samples := []int8{1, -1, -1, 1, 1, 1}
	output.WriteFileAtomic(filepath.Join(dir, output.SamplesFile), func(w io.Writer) error {
		return output.WriteNPYInt8(w, samples, 2, 3)
	})
	output.WriteSummary(filepath.Join(dir, output.SummaryFile), map[string]any{"arch": "cw_n", "n": 3})

	run, err := output.LoadRun(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.Label, len(run.Stats), "rows, overlaps at β", len(run.Overlaps))
	if err := output.PlotFreeEnergy([]output.Run{run}, filepath.Join(dir, "free_energy")); err != nil {
		fmt.Println(err)
	}
	if err := output.PlotOverlaps([]output.Run{run}, 1, filepath.Join(dir, "overlaps")); err != nil {
		fmt.Println(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		fmt.Println(filepath.Base(n))
	}
	// Output:
	// cw_n 2 rows, overlaps at β 2
	// free_energy.png
	// free_energy.svg
	// overlaps.csv
	// overlaps.png
	// overlaps.svg
	// overlaps_b0.csv
	// overlaps_b1.csv
	// samples.npy
	// stats.csv
	// summary.json
}
