package model

import (
	"slices"
	"strings"
)

// ArchOptions are the knobs of every architecture; each constructor reads
// the ones it needs and ignores the rest.
//
// The JSON names are those of a saved net's header (see Save).
type ArchOptions struct {
	// K is the number of replica-symmetry-breaking steps of sk_krsb (0 = sk_rs).
	K int `json:"k"`
	// Depth and Width are MADE's number of masked layers and channels per spin.
	Depth int `json:"depth"`
	Width int `json:"width"`
	// Seed seeds the random initialisation of trainable parameters.
	Seed uint64 `json:"seed"`
	// TrainFirstLayer makes the Hamiltonian-derived first layer (J, h) of
	// sk_krsb trainable, initialised small and random (learning from data).
	TrainFirstLayer bool `json:"train_first_layer"`
	// FirstLayerStd is the standard deviation of the random initial
	// couplings W of a trainable first layer: W_ij ~ Normal(0,
	// FirstLayerStd²). 0 means 1/N, the scale of every other parameter.
	FirstLayerStd float64 `json:"first_layer_std"`
	// AnalyticInit starts cw_inf from its analytic parameters at Beta
	// instead of small random values.
	AnalyticInit bool `json:"analytic_init"`
	// Beta is the inverse temperature of the analytic nets' parameters and
	// of cw_inf's analytic start, and the initial Net.Beta of every net.
	Beta float64 `json:"beta"`
}

// archConstructor builds one architecture for a model.
type archConstructor func(m *Hamiltonian, o ArchOptions) (Net, error)

var archs = map[string]archConstructor{}

// checkNetModel returns arch's error for a missing model or one without
// spins.
func checkNetModel(arch string, m *Hamiltonian) error {
	if m == nil {
		return argErr(arch, "Model", nil, "the architecture needs a model")
	}
	if m.N < 1 {
		return argErr(arch, "N", m.N, "the architecture needs a model with at least one spin")
	}
	return nil
}

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
		return nil, argErr("NewNet", "Arch", name, "unknown architecture; choose one of %s", strings.Join(Archs(), ", "))
	}
	return c(m, o)
}
