package model

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCompareCouplings(t *testing.T) {
	const n = 30
	m, _ := SherringtonKirkpatrick(n, 1, 0, 4)
	// W = -2J exactly: the sign fix finds -1, then W matches J up to the
	// scale 2.
	w := make([]float64, n*n)
	for k, v := range m.J {
		w[k] = -2 * v
	}
	c, err := CompareCouplings(w, m.J, n)
	if err != nil {
		t.Fatal(err)
	}
	rmsJ := 0.0
	for a := range n {
		for b := a + 1; b < n; b++ {
			rmsJ += m.Coupling(a, b) * m.Coupling(a, b)
		}
	}
	rmsJ = math.Sqrt(rmsJ / (n * (n - 1) / 2))
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }
	if c.Pairs != n*(n-1)/2 || c.Sign != -1 || !near(c.Pearson, 1) || !near(c.Slope, 2) || !near(c.Intercept, 0) ||
		!near(c.PearsonAbs, 1) || !near(c.SlopeAbs, 2) || !near(c.InterceptAbs, 0) || !near(c.RMS, rmsJ) || !near(c.RMSScaled, 0) {
		t.Errorf("W = -2J: %+v (RMS of J %v)", c, rmsJ)
	}
	// Noisy W against a plain two-pass computation of the same figures.
	rng := rand.New(rand.NewPCG(1, 1))
	for a := range n {
		for b := a + 1; b < n; b++ {
			v := 0.7*m.Coupling(a, b) + 0.1*rng.NormFloat64()
			w[a*n+b], w[b*n+a] = v, v
		}
	}
	c, _ = CompareCouplings(w, m.J, n)
	var xs, ys []float64
	for a := range n {
		for b := a + 1; b < n; b++ {
			xs, ys = append(xs, m.Coupling(a, b)), append(ys, w[a*n+b])
		}
	}
	r, slope, rms, rmsScaled := plainFit(xs, ys)
	abs := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for k, x := range v {
			out[k] = math.Abs(x)
		}
		return out
	}
	rAbs, slopeAbs, _, _ := plainFit(abs(xs), abs(ys))
	if c.Sign != 1 || !near(c.Pearson, r) || !near(c.Slope, slope) || !near(c.RMS, rms) || !near(c.RMSScaled, rmsScaled) ||
		!near(c.PearsonAbs, rAbs) || !near(c.SlopeAbs, slopeAbs) {
		t.Errorf("noisy W: %+v; plain computation r %v slope %v rms %v scaled %v, |·| r %v slope %v", c, r, slope, rms, rmsScaled, rAbs, slopeAbs)
	}
	for q, v := range c.PearsonAbsByQuarter {
		lo, hi := q*n/4, (q+1)*n/4
		var x, y []float64
		for l := lo; l < hi; l++ {
			for s := range l {
				x, y = append(x, math.Abs(m.Coupling(s, l))), append(y, math.Abs(w[s*n+l]))
			}
		}
		if r, _, _, _ := plainFit(x, y); !near(v, r) {
			t.Errorf("quarter %d: r %v, plain computation %v", q, v, r)
		}
	}
	// 0.7J has standard deviation 0.7/√30 = 0.128 against noise 0.1:
	// r ≈ 0.128/√(0.128² + 0.1²) = 0.79.
	if c.Pearson < 0.7 || c.Pearson > 0.88 {
		t.Errorf("noisy W: r = %v, expected about 0.79", c.Pearson)
	}
	// Flipping whole columns (the couplings W_sl, s < l, of some spins l)
	// leaves |W| and the column-sign correlation as they were and spoils
	// the global one.
	flipped := append([]float64(nil), w...)
	for l := 1; l < n; l += 2 {
		for s := range l {
			flipped[s*n+l], flipped[l*n+s] = -flipped[s*n+l], -flipped[l*n+s]
		}
	}
	cf, _ := CompareCouplings(flipped, m.J, n)
	if !near(cf.PearsonColumnSigns, c.PearsonColumnSigns) || !near(cf.PearsonAbs, c.PearsonAbs) || math.Abs(cf.Pearson) > 0.5*c.Pearson {
		t.Errorf("column flips: %+v, unflipped %+v", cf, c)
	}
	if _, err := CompareCouplings(w[:10], m.J, n); err == nil {
		t.Error("a short W accepted")
	}
	w[1] = math.NaN()
	if _, err := CompareCouplings(w, m.J, n); err == nil {
		t.Error("NaN accepted")
	}
	// At N = 4 the first quarter (later spin 0) has no pair: NaN, and null
	// in JSON.
	small, _ := SherringtonKirkpatrick(4, 1, 0, 1)
	cs, _ := CompareCouplings(small.J, small.J, 4)
	b, err := json.Marshal(cs)
	if err != nil || !math.IsNaN(cs.PearsonAbsByQuarter[0]) || !strings.Contains(string(b), `"pearson_abs_by_quarter":[null,null,null,1]`) {
		t.Errorf("N = 4: %s %v", b, err)
	}
	absJ, absW := CouplingPairs(m.J, m.J, n)
	if len(absJ) != n*(n-1)/2 || absJ[0] != math.Abs(m.Coupling(0, 1)) || absW[len(absW)-1] != math.Abs(m.Coupling(n-2, n-1)) {
		t.Error("CouplingPairs order")
	}
}

// plainFit returns Pearson's r, the least-squares slope of y on x, the RMS
// of y - x and the RMS of c·y - x with c = Σxy/Σy², by textbook formulas.
func plainFit(x, y []float64) (r, slope, rms, rmsScaled float64) {
	n := float64(len(x))
	var mx, my float64
	for k := range x {
		mx += x[k] / n
		my += y[k] / n
	}
	var sxy, sxx, syy, xy, yy float64
	for k := range x {
		sxy += (x[k] - mx) * (y[k] - my)
		sxx += (x[k] - mx) * (x[k] - mx)
		syy += (y[k] - my) * (y[k] - my)
		xy += x[k] * y[k]
		yy += y[k] * y[k]
	}
	c := xy / yy
	for k := range x {
		rms += (y[k] - x[k]) * (y[k] - x[k]) / n
		rmsScaled += (c*y[k] - x[k]) * (c*y[k] - x[k]) / n
	}
	return sxy / math.Sqrt(sxx*syy), sxy / sxx, math.Sqrt(rms), math.Sqrt(rmsScaled)
}
