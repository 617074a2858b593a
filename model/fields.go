package model

import "github.com/h2arnn/h2arnn"

// pastField is the recurrent first layer of SPEC §2 for one sample:
// F[l] = Σ_{s<i} J_sl x_s, the field that the spins already fixed put on
// spin l, kept for every l and advanced by one AXPY per spin
// (F[l] += J_il x_i for l > i). Entries F[l] for l ≤ i are no longer
// updated and hold the field spin l felt when it was drawn.
type pastField struct {
	m *Hamiltonian
	F []float64
	// energy accumulates H(x) = -Σ_i x_i (h_i + F[i]) as spins are pushed.
	energy float64
}

func newPastField(m *Hamiltonian) *pastField {
	return &pastField{m: m, F: make([]float64, m.N)}
}

// reset clears the field for a new sample.
func (p *pastField) reset() {
	clear(p.F)
	p.energy = 0
}

// local returns h_i + F[i], the full field on spin i from its past (the
// residual input x¹_i = 2β·local(i) of SPEC §2).
func (p *pastField) local(i int) float64 { return p.m.H[i] + p.F[i] }

// push fixes spin i to xi: it adds spin i's energy terms and updates the
// fields on the later spins.
func (p *pastField) push(i int, xi float64) {
	p.energy -= xi * p.local(i)
	n := p.m.N
	if i+1 < n {
		h2arnn.Axpy(xi, p.m.J[i*n+i+1:(i+1)*n], p.F[i+1:])
	}
}
