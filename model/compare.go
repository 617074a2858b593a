package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// CouplingComparison compares learned couplings W with the true couplings J
// of a model over the N(N-1)/2 pairs i < j (SPEC §5; the paper's Fig. 6
// plots |W| against |J|).
type CouplingComparison struct {
	Pairs int `json:"pairs"`
	// PearsonAbs is the correlation coefficient of |W| and |J|, the
	// quantity that survives the global sign symmetry W → -W of a model
	// without fields; SlopeAbs and InterceptAbs give the least-squares line
	// |W| = InterceptAbs + SlopeAbs·|J| of the figure.
	PearsonAbs   float64 `json:"pearson_abs"`
	SlopeAbs     float64 `json:"slope_abs"`
	InterceptAbs float64 `json:"intercept_abs"`
	// Sign is the global sign s ∈ {+1, -1} that makes sW agree best with
	// J: the sign of Σ W_ij J_ij (+1 on a tie).
	Sign float64 `json:"sign"`
	// Pearson is the correlation of sW and J, and Slope and Intercept the
	// least-squares line sW = Intercept + Slope·J.
	Pearson   float64 `json:"pearson"`
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	// PearsonColumnSigns is the correlation of W and J after fixing the
	// sign of every column l of W (the couplings W_sl, s < l, of spin l to
	// the spins before it) to agree with J: sign(Σ_{s<l} W_sl J_sl). The
	// first layer of sk_krsb has this freedom — flipping W_·l and the first
	// weights of the chains that read it leaves q unchanged — so its global
	// sign says nothing and this is the signed comparison that can be made.
	// Choosing N signs after looking at J biases it upwards by about
	// 1/√N for unrelated W.
	PearsonColumnSigns float64 `json:"pearson_column_signs"`
	// PearsonAbsByQuarter is r(|W|, |J|) over the pairs s < l whose later
	// spin l lies in each quarter of the spin order, [0, N/4), [N/4, N/2),
	// [N/2, 3N/4), [3N/4, N) (NaN for a quarter with fewer than three
	// pairs). An autoregressive net's first layer can differ from J most
	// early in the order, where its conditionals must also stand for the
	// interactions of the many spins after them.
	PearsonAbsByQuarter Quarters `json:"pearson_abs_by_quarter"`
	// RMS is √(mean (sW - J)²) in the units of J; RMSScaled the same after
	// the best global scale c (least squares through the origin):
	// min_c √(mean (c·sW - J)²). The scale of W is arbitrary for a net
	// whose later layers can absorb it, so RMSScaled is the figure to
	// compare across estimators.
	RMS       float64 `json:"rms"`
	RMSScaled float64 `json:"rms_scaled"`
}

// Quarters holds one number per quarter of the spin order. It encodes to
// JSON as an array with null for NaN (JSON has no NaN).
type Quarters [4]float64

// MarshalJSON implements json.Marshaler.
func (q Quarters) MarshalJSON() ([]byte, error) {
	var v [4]*float64
	for k := range q {
		if !math.IsNaN(q[k]) && !math.IsInf(q[k], 0) {
			v[k] = &q[k]
		}
	}
	return json.Marshal(v)
}

// CompareCouplings compares W with J, both N×N row-major symmetric
// matrices (only the upper triangles are read). A correlation is NaN when
// one side is constant, a slope when J is.
func CompareCouplings(w, j []float64, n int) (CouplingComparison, error) {
	var c CouplingComparison
	if n < 2 || len(w) != n*n || len(j) != n*n {
		return c, fmt.Errorf("comparing couplings: %d and %d entries for N = %d (want N×N, N ≥ 2)", len(w), len(j), n)
	}
	pairs := n * (n - 1) / 2
	wv, jv := make([]float64, 0, pairs), make([]float64, 0, pairs)
	dot := 0.0
	for a := range n {
		for b := a + 1; b < n; b++ {
			x, y := w[a*n+b], j[a*n+b]
			if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				return c, errors.New("comparing couplings: a coupling is not a finite number")
			}
			wv, jv = append(wv, x), append(jv, y)
			dot += x * y
		}
	}
	c.Pairs = pairs
	c.Sign = 1
	if dot < 0 {
		c.Sign = -1
	}
	absW, absJ := make([]float64, pairs), make([]float64, pairs)
	ww := 0.0
	for k := range wv {
		wv[k] *= c.Sign
		absW[k], absJ[k] = math.Abs(wv[k]), math.Abs(jv[k])
		ww += wv[k] * wv[k]
	}
	c.PearsonAbs = stat.Correlation(absJ, absW, nil)
	c.InterceptAbs, c.SlopeAbs = stat.LinearRegression(absJ, absW, nil, false)
	c.Pearson = stat.Correlation(jv, wv, nil)
	c.PearsonColumnSigns = columnSignCorrelation(w, j, n)
	for q := range c.PearsonAbsByQuarter {
		var x, y []float64
		for l := q * n / 4; l < (q+1)*n/4; l++ {
			for s := range l {
				x, y = append(x, math.Abs(j[s*n+l])), append(y, math.Abs(w[s*n+l]))
			}
		}
		c.PearsonAbsByQuarter[q] = math.NaN()
		if len(x) >= 3 {
			c.PearsonAbsByQuarter[q] = stat.Correlation(x, y, nil)
		}
	}
	c.Intercept, c.Slope = stat.LinearRegression(jv, wv, nil, false)
	scale := 0.0
	if ww > 0 {
		scale = math.Abs(dot) / ww // Σ J·sW / Σ (sW)²
	}
	var se, ses float64
	for k := range wv {
		se += (wv[k] - jv[k]) * (wv[k] - jv[k])
		ses += (scale*wv[k] - jv[k]) * (scale*wv[k] - jv[k])
	}
	c.RMS = math.Sqrt(se / float64(pairs))
	c.RMSScaled = math.Sqrt(ses / float64(pairs))
	return c, nil
}

// columnSignCorrelation is CouplingComparison.PearsonColumnSigns.
func columnSignCorrelation(w, j []float64, n int) float64 {
	var wv, jv []float64
	for l := 1; l < n; l++ {
		dot := 0.0
		for s := range l {
			dot += w[s*n+l] * j[s*n+l]
		}
		sign := 1.0
		if dot < 0 {
			sign = -1
		}
		for s := range l {
			wv, jv = append(wv, sign*w[s*n+l]), append(jv, j[s*n+l])
		}
	}
	return stat.Correlation(jv, wv, nil)
}

// CouplingPairs returns |J_ij| and |W_ij| over the pairs i < j, the points
// of the paper's Fig. 6.
func CouplingPairs(w, j []float64, n int) (absJ, absW []float64) {
	for a := range n {
		for b := a + 1; b < n; b++ {
			absJ = append(absJ, math.Abs(j[a*n+b]))
			absW = append(absW, math.Abs(w[a*n+b]))
		}
	}
	return absJ, absW
}
