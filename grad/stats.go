package grad

import (
	"math"

	"github.com/h2arnn/h2arnn/model"
)

// Stats are the per-spin summaries of one batch of B samples at inverse
// temperature β, with L_b = ln q(x_b) + β H(x_b) (SPEC §4):
//
//	F    = mean(L)/(βN)            variational free energy per spin
//	FStd = std(L)/(βN)             sample standard deviation (divisor B-1)
//	E    = mean(H)/N               energy per spin
//	EMin = min(H)/N
//	S    = -mean(ln q)/N           entropy per spin (nats)
//	MAbs = mean(|Σ_i x_i|/N)       absolute magnetisation
type Stats struct{ F, FStd, E, EMin, S, MAbs float64 }

// sampleStats computes Stats from per-sample ln q, energies and |m| values,
// summing in sample order so that the result is deterministic.
func sampleStats(logq, energy, mabs []float64, beta float64, n int) Stats {
	b := len(logq)
	if b == 0 {
		nan := math.NaN()
		return Stats{nan, nan, nan, nan, nan, nan}
	}
	var sl, se, sq, sm float64
	emin := math.Inf(1)
	for i := range b {
		sl += logq[i] + beta*energy[i]
		se += energy[i]
		sq += logq[i]
		sm += mabs[i]
		emin = min(emin, energy[i])
	}
	fb := float64(b)
	lbar := sl / fb
	// Two-pass variance: the mean of L is large compared with its spread.
	var ss float64
	for i := range b {
		d := logq[i] + beta*energy[i] - lbar
		ss += d * d
	}
	std := 0.0
	if b > 1 {
		std = math.Sqrt(ss / (fb - 1))
	}
	fn := float64(n)
	return Stats{
		F:    lbar / (beta * fn),
		FStd: std / (beta * fn),
		E:    se / fb / fn,
		EMin: emin / fn,
		S:    -sq / fb / fn,
		MAbs: sm / fb,
	}
}

// BatchStats returns the Stats of a stored batch at inverse temperature beta.
func BatchStats(bt *model.Batch, beta float64) Stats {
	mabs := make([]float64, bt.B)
	for b := range bt.B {
		mabs[b] = rowMAbs(bt.X[b*bt.N : (b+1)*bt.N])
	}
	return sampleStats(bt.LogQ, bt.Energy, mabs, beta, bt.N)
}

// rowMAbs is |Σ_i x_i|/N of one stored sample.
func rowMAbs(x []int8) float64 {
	s := 0
	for _, v := range x {
		s += int(v)
	}
	if s < 0 {
		s = -s
	}
	return float64(s) / float64(len(x))
}

// MeanStats averages a run of Stats component by component, except EMin,
// which is the minimum. It returns NaNs for an empty slice.
func MeanStats(st []Stats) Stats {
	if len(st) == 0 {
		nan := math.NaN()
		return Stats{nan, nan, nan, nan, nan, nan}
	}
	m := Stats{EMin: math.Inf(1)}
	for _, s := range st {
		m.F += s.F
		m.FStd += s.FStd
		m.E += s.E
		m.S += s.S
		m.MAbs += s.MAbs
		m.EMin = min(m.EMin, s.EMin)
	}
	k := float64(len(st))
	m.F /= k
	m.FStd /= k
	m.E /= k
	m.S /= k
	m.MAbs /= k
	return m
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// allFinite reports whether every element of g is finite.
func allFinite(g []float64) bool {
	for _, v := range g {
		if !finite(v) {
			return false
		}
	}
	return true
}
