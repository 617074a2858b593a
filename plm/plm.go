// Package plm infers the couplings and fields of a pairwise spin model
// from samples by pseudo-likelihood maximisation (PLM), the standard
// estimator of the inverse Ising problem (Ekeberg, Lövkvist, Lan, Weigt,
// Aurell, Phys. Rev. E 87, 012707 (2013); Aurell and Ekeberg, Phys. Rev.
// Lett. 108, 090201 (2012)).
//
// For data drawn from P(x) ∝ exp(β(Σ_{i<j} J_ij x_i x_j + Σ_i h_i x_i)), the
// conditional of one spin given the others is a logistic model,
//
//	P(x_i | x_\i) = 1 / (1 + exp(-2 x_i θ_i)),   θ_i = β(h_i + Σ_{j≠i} J_ij x_j),
//
// so each spin's row (h_i, J_i·) is the maximiser of an L2-regularised
// logistic regression of x_i on the other spins,
//
//	ℓ_i(K) = (1/M) Σ_m ln(1 + exp(-2 x_i^m θ_i^m)) + λ Σ_{j≠i} K_ij²,   K = βJ,
//
// solved here by L-BFGS (gonum/optimize). The two estimates K_ij (from
// spin i's regression) and K_ji (from spin j's) of each coupling are
// averaged ("asymmetric PLM" with symmetrisation, as Ekeberg et al.
// recommend). Spins are independent problems: they run in parallel and
// the result does not depend on the number of goroutines.
package plm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/optimize"

	"github.com/h2arnn/h2arnn"
)

// Config are the knobs of Fit.
type Config struct {
	// Lambda is the L2 penalty λ on the couplings K = βJ of every
	// regression (the fields are not penalised). Ekeberg et al. use 0.01;
	// 0 is plain maximum pseudo-likelihood (finite only if the data do not
	// separate a spin from the others).
	Lambda float64
	// Beta is the inverse temperature of the data: the estimates K are
	// reported as J = K/β, h = K_h/β. 0 means 1 (J in units of 1/β).
	Beta float64
	// GradTol stops a regression when the largest gradient component of
	// ℓ_i falls below it (0: 1e-6; the statistical error of the estimates
	// is orders of magnitude larger, and near 1e-8 the objective, a mean
	// of M terms, is too flat for a line search to see its decrease).
	GradTol float64
	// MaxIter bounds the L-BFGS iterations per spin (0: 2000).
	MaxIter int
	// Workers is the number of goroutines (≤ 0: GOMAXPROCS).
	Workers int
}

// Result is what Fit infers.
type Result struct {
	N int
	// J is the symmetric N×N coupling matrix (row-major, zero diagonal) and
	// H the fields, in the units of the model (divided by Config.Beta).
	J, H []float64
	// Asym is the unsymmetrised estimate: row i holds spin i's regression,
	// Asym[i*N+j] = J_ij from x_i's conditional (diagonal zero).
	Asym []float64
	// Iterations[i] is the number of L-BFGS iterations of spin i, and
	// Converged[i] whether its gradient criterion was met.
	Iterations []int
	Converged  []bool
}

// Fit infers the couplings and fields from data, M rows of n spins (±1,
// row-major). It stops between spins when ctx is cancelled and returns
// ctx's error.
func Fit(ctx context.Context, data []int8, n int, cfg Config) (*Result, error) {
	if n < 2 || len(data) == 0 || len(data)%n != 0 {
		return nil, fmt.Errorf("plm: %d spins of data are not rows of N = %d ≥ 2 spins", len(data), n)
	}
	if !(cfg.Lambda >= 0) || math.IsInf(cfg.Lambda, 0) {
		return nil, fmt.Errorf("plm: penalty λ = %v must be finite and ≥ 0", cfg.Lambda)
	}
	beta := cfg.Beta
	if beta == 0 {
		beta = 1
	}
	if !(beta > 0) || math.IsInf(beta, 0) {
		return nil, fmt.Errorf("plm: β = %v must be finite and > 0", cfg.Beta)
	}
	x, err := toFloat(data)
	if err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	res := &Result{N: n, J: make([]float64, n*n), H: make([]float64, n), Asym: make([]float64, n*n),
		Iterations: make([]int, n), Converged: make([]bool, n)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRegression(x, n, cfg)
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				w, iters, ok, err := r.solve(i)
				if err != nil {
					errs[i] = err
					continue
				}
				res.H[i] = w[i] / beta
				for j, v := range w {
					if j != i {
						res.Asym[i*n+j] = v / beta
					}
				}
				res.Iterations[i], res.Converged[i] = iters, ok
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := (res.Asym[i*n+j] + res.Asym[j*n+i]) / 2
			res.J[i*n+j], res.J[j*n+i] = v, v
		}
	}
	return res, nil
}

// toFloat converts ±1 spins to float64, refusing anything else.
func toFloat(data []int8) ([]float64, error) {
	x := make([]float64, len(data))
	for k, v := range data {
		if v != 1 && v != -1 {
			return nil, fmt.Errorf("plm: spin %d of the data is %d, not ±1", k, v)
		}
		x[k] = float64(v)
	}
	return x, nil
}

// regression is one goroutine's scratch for the per-spin problems.
type regression struct {
	x        []float64 // M rows of n spins
	n, m     int
	cfg      Config
	theta    []float64 // per row
	g, lastX []float64
	lastF    float64
	spin     int
}

func newRegression(x []float64, n int, cfg Config) *regression {
	m := len(x) / n
	return &regression{x: x, n: n, m: m, cfg: cfg, theta: make([]float64, m), g: make([]float64, n), lastX: make([]float64, n)}
}

// solve maximises spin i's regularised pseudo-likelihood from zero. The
// returned w has w[i] = β h_i and w[j] = β J_ij for j ≠ i.
func (r *regression) solve(i int) (w []float64, iters int, converged bool, err error) {
	r.spin = i
	for k := range r.lastX {
		r.lastX[k] = math.NaN() // no cached evaluation yet
	}
	gradTol := r.cfg.GradTol
	if gradTol == 0 {
		gradTol = 1e-6
	}
	maxIter := r.cfg.MaxIter
	if maxIter == 0 {
		maxIter = 2000
	}
	p := optimize.Problem{
		Func: func(w []float64) float64 { return r.eval(w) },
		Grad: func(g, w []float64) {
			r.eval(w)
			copy(g, r.g)
		},
	}
	settings := &optimize.Settings{GradientThreshold: gradTol, MajorIterations: maxIter, Converger: optimize.NeverTerminate{}}
	res, err := optimize.Minimize(p, make([]float64, r.n), settings, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, 0, false, fmt.Errorf("plm: spin %d: %v", i, err)
	}
	return res.X, res.MajorIterations, res.Status == optimize.GradientThreshold, nil
}

// eval returns ℓ_i(w) and leaves its gradient in r.g; a repeated call at
// the same w (L-BFGS asks for Func and Grad separately) costs nothing.
func (r *regression) eval(w []float64) float64 {
	same := true
	for k, v := range w {
		same = same && v == r.lastX[k]
	}
	if same {
		return r.lastF
	}
	i, n := r.spin, r.n
	lambda := r.cfg.Lambda
	f := 0.0
	for k := range r.g {
		r.g[k] = 0
	}
	sumC := 0.0
	inv := 1 / float64(r.m)
	for b := range r.m {
		row := r.x[b*n : (b+1)*n]
		xi := row[i]
		// θ = h_i + Σ_{j≠i} K_ij x_j: the dot product counts w_i·x_i, which
		// is corrected to w_i·1.
		theta := h2arnn.Dot(row, w) + w[i]*(1-xi)
		z := -2 * xi * theta
		f += softplus(z)
		c := -2 * xi * sigmoid(z) * inv // ∂ℓ/∂θ for this row
		h2arnn.Axpy(c, row, r.g)
		sumC += c
	}
	f *= inv
	r.g[i] = sumC
	for j, v := range w {
		if j != i {
			f += lambda * v * v
			r.g[j] += 2 * lambda * v
		}
	}
	copy(r.lastX, w)
	r.lastF = f
	return f
}

// softplus is ln(1 + e^z) without overflow or cancellation.
func softplus(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }

// sigmoid is 1/(1 + e^{-z}) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// PseudoNLL returns the mean negative log pseudo-likelihood per spin,
// -(1/(M·N)) Σ_m Σ_i ln P(x_i^m | x_\i^m), of data (rows of n spins ±1)
// under the model (J, h) at inverse temperature beta (0 means 1), in nats.
// It measures how well the couplings predict each spin from the others on
// data they were not fitted to.
func PseudoNLL(j, h []float64, beta float64, data []int8, n int) float64 {
	if beta == 0 {
		beta = 1
	}
	x := make([]float64, n)
	m := len(data) / n
	sum := 0.0
	for b := range m {
		for k, v := range data[b*n : (b+1)*n] {
			x[k] = float64(v)
		}
		for i := range n {
			// J_ii = 0, so the dot product is the field of the other spins.
			theta := beta * (h[i] + h2arnn.Dot(j[i*n:(i+1)*n], x))
			sum += softplus(-2 * x[i] * theta)
		}
	}
	return sum / float64(m*n)
}
