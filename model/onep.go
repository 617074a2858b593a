package model

// OneP is the 1p architecture (SPEC §3): one weight per conditional acting
// on the magnetisation of the past,
//
//	logit q_i = w_i M_<i,   M_<i = Σ_{s<i} x_s,
//
// so q_0 = 1/2. Params() is [w_0, ..., w_{N-1}]. Initial weights are
// Normal(0, (1/N)²) from ArchOptions.Seed, like cw_inf's.
type OneP struct {
	trainable
}

func init() {
	registerArch("1p", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewOneP(m, o) })
}

// NewOneP builds 1p for model m with weights drawn from o.Seed.
func NewOneP(m *Hamiltonian, o ArchOptions) (*OneP, error) {
	if err := checkNetModel("1p", m); err != nil {
		return nil, err
	}
	p := &OneP{newTrainable(m, m.N, ArchOptions{Seed: o.Seed, Beta: o.Beta})}
	normalFill(newInitRNG(o.Seed), p.p, 1/float64(m.N))
	return p, nil
}

// Arch returns "1p".
func (p *OneP) Arch() string { return "1p" }

// Clone returns a copy of the net with its own parameters.
func (p *OneP) Clone() Net { return &OneP{p.clone()} }

// NewWorker returns per-goroutine scratch.
func (p *OneP) NewWorker() Worker {
	n := p.m.N
	w := &onePWorker{p: p, mp: make([]float64, n), dz: make([]float64, n)}
	w.baselineWorker = baselineWorker{c: w, et: newEnergyTracker(p.m)}
	return w
}

type onePWorker struct {
	baselineWorker
	p *OneP
	// M = M_<i during a pass; mp[i] = M_<i and dz[i] = ∂ ln q(x)/∂ logit_i
	// of the last sample.
	M      float64
	mp, dz []float64
}

func (w *onePWorker) begin()              { w.M = 0 }
func (w *onePWorker) logit(i int) float64 { return w.p.p[i] * w.M }
func (w *onePWorker) fix(i int, xi, z float64) {
	w.mp[i] = w.M
	w.dz[i] = dLogProb(xi, z)
	w.M += xi
}

// Backward adds c·∂ln q/∂w_i = c·(∂ln q/∂z_i)·M_<i for both accumulators.
func (w *onePWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	for i, d := range w.dz {
		g := d * w.mp[i]
		gA[i] += cA * g
		if gC != nil {
			gC[i] += cC * g
		}
	}
}
