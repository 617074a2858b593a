package grad

import (
	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/model"
)

// Stats are the per-spin summaries of one batch (model.Stats: F, FStd with
// the population std, E, EMin, S, MAbs; see there). Every Stats that grad
// reports is computed by model.BatchStats, so training, evaluation and the
// driver use one definition.
type Stats = model.Stats

// allFinite reports whether every element of g is finite.
func allFinite(g []float64) bool {
	for _, v := range g {
		if !fmath.Finite(v) {
			return false
		}
	}
	return true
}
