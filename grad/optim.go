package grad

import (
	"fmt"
	"math"
	"slices"
)

// Optimizer updates a flat parameter slice in place from a gradient of the
// same length (descent: the loss decreases along -grad).
type Optimizer interface {
	// Step applies one update. It allocates nothing once the state exists.
	Step(params, grad []float64)
	// State returns a deep copy of everything the next updates depend on.
	State() OptimizerState
	// SetState restores a State of the same kind and parameter count.
	SetState(OptimizerState) error
}

// OptimizerState is the checkpointable state of an optimiser. Hyper-
// parameters are included so a resumed run can check it uses the same ones.
type OptimizerState struct {
	// Kind is "adam" or "sgd".
	Kind string `json:"kind"`
	// Steps is the number of updates applied so far.
	Steps int64 `json:"steps"`
	// M is Adam's first moment or SGD's momentum buffer (nil without
	// momentum); V is Adam's second moment.
	M []float64 `json:"m,omitempty"`
	V []float64 `json:"v,omitempty"`
	// LR, Beta1, Beta2, Eps (Adam) and Momentum (SGD).
	LR       float64 `json:"lr"`
	Beta1    float64 `json:"beta1,omitempty"`
	Beta2    float64 `json:"beta2,omitempty"`
	Eps      float64 `json:"eps,omitempty"`
	Momentum float64 `json:"momentum,omitempty"`
}

// Adam is the optimiser of Kingma and Ba with PyTorch's arithmetic
// (torch.optim.Adam, non-fused, amsgrad off, no weight decay): with t the
// step count after increment,
//
//	m ← β₁ m + (1-β₁) g,   v ← β₂ v + (1-β₂) g²
//	p ← p - (lr/(1-β₁ᵗ)) · m / (√v/√(1-β₂ᵗ) + ε)
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	// M and V are the moment estimates (len = number of parameters).
	M, V []float64
	// T is the number of steps taken.
	T int64
}

// NewAdam returns Adam for n parameters with the defaults lr 1e-3,
// β₁ 0.9, β₂ 0.999, ε 1e-8.
func NewAdam(n int) *Adam {
	return &Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: make([]float64, n), V: make([]float64, n)}
}

// Step implements Optimizer.
func (a *Adam) Step(params, grad []float64) {
	if len(params) != len(a.M) || len(grad) != len(a.M) {
		panic(fmt.Sprintf("grad: Adam for %d parameters given %d parameters and %d gradients", len(a.M), len(params), len(grad)))
	}
	a.T++
	t := float64(a.T)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := 1 - math.Pow(a.Beta2, t)
	stepSize := a.LR / bc1
	sq2 := math.Sqrt(bc2)
	b1, b2 := a.Beta1, a.Beta2
	for i, g := range grad {
		// PyTorch: m.lerp_(g, 1-β₁) = m + (1-β₁)(g - m); v.mul_(β₂).addcmul_(g, g, 1-β₂).
		m := a.M[i] + (1-b1)*(g-a.M[i])
		v := a.V[i]*b2 + (1-b2)*g*g
		a.M[i], a.V[i] = m, v
		params[i] -= stepSize * (m / (math.Sqrt(v)/sq2 + a.Eps))
	}
}

// State implements Optimizer.
func (a *Adam) State() OptimizerState {
	return OptimizerState{Kind: "adam", Steps: a.T, M: slices.Clone(a.M), V: slices.Clone(a.V), LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps}
}

// SetState implements Optimizer.
func (a *Adam) SetState(s OptimizerState) error {
	if s.Kind != "adam" {
		return fmt.Errorf("optimiser state is %q, not adam", s.Kind)
	}
	if len(s.M) != len(a.M) || len(s.V) != len(a.V) {
		return fmt.Errorf("adam state for %d/%d parameters, the network has %d", len(s.M), len(s.V), len(a.M))
	}
	if s.Steps < 0 {
		return fmt.Errorf("adam state has negative step count %d", s.Steps)
	}
	copy(a.M, s.M)
	copy(a.V, s.V)
	a.T = s.Steps
	a.LR, a.Beta1, a.Beta2, a.Eps = s.LR, s.Beta1, s.Beta2, s.Eps
	return nil
}

// SGD is stochastic gradient descent with optional heavy-ball momentum in
// PyTorch's form (dampening 0, not Nesterov):
//
//	b ← μ b + g  (b = g at the first step),   p ← p - lr·b
//
// and p ← p - lr·g when Momentum is 0.
type SGD struct {
	LR, Momentum float64
	// Buf is the momentum buffer (unused when Momentum is 0).
	Buf []float64
	// T is the number of steps taken.
	T int64
}

// NewSGD returns SGD for n parameters with learning rate lr and momentum mu.
func NewSGD(n int, lr, mu float64) *SGD {
	return &SGD{LR: lr, Momentum: mu, Buf: make([]float64, n)}
}

// Step implements Optimizer.
func (s *SGD) Step(params, grad []float64) {
	if len(params) != len(s.Buf) || len(grad) != len(s.Buf) {
		panic(fmt.Sprintf("grad: SGD for %d parameters given %d parameters and %d gradients", len(s.Buf), len(params), len(grad)))
	}
	if s.Momentum == 0 {
		for i, g := range grad {
			params[i] -= s.LR * g
		}
		s.T++
		return
	}
	for i, g := range grad {
		b := g
		if s.T > 0 {
			b = s.Momentum*s.Buf[i] + g
		}
		s.Buf[i] = b
		params[i] -= s.LR * b
	}
	s.T++
}

// State implements Optimizer.
func (s *SGD) State() OptimizerState {
	st := OptimizerState{Kind: "sgd", Steps: s.T, LR: s.LR, Momentum: s.Momentum}
	if s.Momentum != 0 {
		st.M = slices.Clone(s.Buf)
	}
	return st
}

// SetState implements Optimizer.
func (s *SGD) SetState(st OptimizerState) error {
	if st.Kind != "sgd" {
		return fmt.Errorf("optimiser state is %q, not sgd", st.Kind)
	}
	if st.Steps < 0 {
		return fmt.Errorf("sgd state has negative step count %d", st.Steps)
	}
	if st.M != nil && len(st.M) != len(s.Buf) {
		return fmt.Errorf("sgd state for %d parameters, the network has %d", len(st.M), len(s.Buf))
	}
	if st.M == nil {
		clear(s.Buf)
	} else {
		copy(s.Buf, st.M)
	}
	s.T, s.LR, s.Momentum = st.Steps, st.LR, st.Momentum
	return nil
}
