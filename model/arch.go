package model

import (
	"fmt"
	"slices"
	"strings"
)

// ArchOptions are the knobs of every architecture; each constructor reads
// the ones it needs and ignores the rest.
type ArchOptions struct {
	// K is the number of replica-symmetry-breaking steps of sk_krsb (0 = sk_rs).
	K int
	// Depth and Width are MADE's number of masked layers and channels per spin.
	Depth, Width int
	// Seed seeds the random initialisation of trainable parameters.
	Seed uint64
	// TrainFirstLayer makes the Hamiltonian-derived first layer (J, h) of
	// sk_krsb trainable, initialised small and random (learning from data).
	TrainFirstLayer bool
	// FirstLayerStd is the standard deviation of the random initial
	// couplings W of a trainable first layer: W_ij ~ Normal(0,
	// FirstLayerStd²). 0 means 1/N, the scale of every other parameter.
	FirstLayerStd float64
	// AnalyticInit starts cw_inf from its analytic parameters at Beta
	// instead of small random values.
	AnalyticInit bool
	// Beta is the inverse temperature for analytic parameters.
	Beta float64
}

// archConstructor builds one architecture for a model.
type archConstructor func(m *Hamiltonian, o ArchOptions) (Net, error)

var archs = map[string]archConstructor{}

// registerArch makes an architecture available to NewNet under name. Each
// architecture's file registers itself in an init function.
func registerArch(name string, c archConstructor) {
	if _, dup := archs[name]; dup {
		panic("model: architecture registered twice: " + name)
	}
	archs[name] = c
}

// Archs returns the names NewNet accepts, sorted.
func Archs() []string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewNet builds the architecture called name for model m.
func NewNet(name string, m *Hamiltonian, o ArchOptions) (Net, error) {
	c, ok := archs[name]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q (choose one of %s)", name, strings.Join(Archs(), ", "))
	}
	return c(m, o)
}
