package driver

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/h2arnn/h2arnn/internal/decimal"

	"github.com/h2arnn/h2arnn/model"
)

// modelFlags select the Hamiltonian; exact, sample and train (and later
// bench) share them so that one model means the same flags everywhere.
type modelFlags struct {
	model            string
	n                int
	side             int // -L, the side of the ising2d torus
	j, field         float64
	seed             uint64
	couplings, hfile string
	// fileInputs is false for subcommands that cannot read a model from a
	// file (instance), which then have no -couplings and -fields flags.
	fileInputs bool
	// seedUsed is true for subcommands that use -seed for more than the
	// disorder (sample: the default sampling seed); elsewhere -seed is
	// refused for models without disorder.
	seedUsed bool
	// maxN, if not 0, is the largest N a couplings file may give, and
	// maxWhy the reason, added to the loader's refusal: the command's
	// method or memory limit, checked before the dense matrix is allocated.
	maxN   int
	maxWhy string
}

// limitN makes n the largest N a couplings file may give, for the reason
// why, unless a smaller limit is set already.
func (mf *modelFlags) limitN(n int, why string) {
	if mf.maxN == 0 || n < mf.maxN {
		mf.maxN, mf.maxWhy = max(n, 1), why
	}
}

// addModelFlags registers -model -n -J -field -seed and, when fileInputs,
// -couplings -fields.
func addModelFlags(fs *flagSet, fileInputs bool) *modelFlags {
	mf := &modelFlags{fileInputs: fileInputs}
	models := "cw|sk|ising2d|file (cw: Curie-Weiss J_ij = J/N; sk: Sherrington-Kirkpatrick J_ij ~ Normal(0, J²/N); ising2d: nearest neighbours J on an L×L torus; file: read -couplings)"
	if !fileInputs {
		models = "cw|sk|ising2d (cw: Curie-Weiss J_ij = J/N; sk: Sherrington-Kirkpatrick J_ij ~ Normal(0, J²/N); ising2d: nearest neighbours J on an L×L torus)"
	}
	fs.StringVar(&mf.model, "model", "", "spin model: "+models)
	fs.IntVar(&mf.n, "n", 0, "number of spins N (required for cw and sk; for file, 0 means 1 + the largest index in the files)")
	fs.IntVar(&mf.side, "L", 0, "side of the ising2d torus, at least 2 (N = L², spin i = row·L + column)")
	fs.Float64Var(&mf.j, "J", 1, "coupling scale J (dimensionless; cw, sk and ising2d)")
	fs.Float64Var(&mf.field, "field", 0, "uniform external field h on every spin (cw, sk and ising2d)")
	fs.Uint64Var(&mf.seed, "seed", 0, "disorder seed of the sk instance (one seed = one instance)")
	if fileInputs {
		fs.StringVar(&mf.couplings, "couplings", "", "couplings `FILE` (for -model file): text \"i j J_ij\" lines, 0-based, # comments; or, if the name ends in .npz, a SciPy sparse matrix (scipy.sparse.save_npz, any triangle). The couplings are held as a dense N×N matrix whatever the number of lines: 8·N² bytes, e.g. 3.2 GB for a file naming spin 19999 (N = 20000, at most); -max-memory refuses what does not fit")
		fs.StringVar(&mf.hfile, "fields", "", "optional fields `FILE` of \"i h_i\" lines (for -model file)")
	}
	return mf
}

// check validates the model flags without building anything: the model
// is known, and only the flags that apply to it are given. Every error is
// the user's to fix.
func (mf *modelFlags) check(fs *flagSet) error {
	if mf.n < 0 {
		return usagef("-n %d: the number of spins must be positive; give -n N with N ≥ 1", mf.n)
	}
	if fs.set("L") && mf.model != "ising2d" {
		return usagef("-L is the side of the -model ising2d torus; drop it or use -model ising2d")
	}
	switch mf.model {
	case "ising2d":
		for _, name := range []string{"n", "seed", "couplings", "fields"} {
			if fs.set(name) {
				return usagef("-%s does not apply to -model ising2d (N = L², the couplings are the lattice's); drop it", name)
			}
		}
		if mf.side < 2 {
			return usagef("-model ising2d needs the side of the torus; give -L L with L ≥ 2")
		}
		return nil
	case "cw", "sk":
		if mf.n == 0 {
			return usagef("-model %s needs the number of spins; give -n N with N ≥ 1", mf.model)
		}
		if mf.fileInputs {
			for _, name := range []string{"couplings", "fields"} {
				if fs.set(name) {
					return usagef("-%s is only read with -model file; drop it or use -model file", name)
				}
			}
		}
		if mf.model == "cw" && fs.set("seed") && !mf.seedUsed {
			return usagef("-seed is the disorder seed of -model sk; the Curie-Weiss model has no disorder, so drop it")
		}
		return nil
	case "file":
		if !mf.fileInputs {
			break
		}
		if mf.couplings == "" {
			return usagef("-model file needs a couplings file; give -couplings FILE")
		}
		for _, name := range []string{"J", "field", "seed"} {
			if fs.set(name) {
				return usagef("-%s does not apply to -model file (the files give J_ij and h_i); drop it", name)
			}
		}
		if isNPZ(mf.couplings) && mf.hfile != "" {
			return usagef("-fields cannot be combined with an .npz couplings file; write the couplings as text with 'h2arnn instance -format text', or drop -fields")
		}
		return nil
	case "":
		return usagef("no model given; give -model %s", mf.choices())
	}
	return usagef("-model %q is not a known model; give -model %s", mf.model, mf.choices())
}

// build validates the flags (check) and constructs the model. Every error
// is the user's to fix.
func (mf *modelFlags) build(fs *flagSet) (*model.Hamiltonian, error) {
	if err := mf.check(fs); err != nil {
		return nil, err
	}
	var m *model.Hamiltonian
	var err error
	switch mf.model {
	case "ising2d":
		m, err = model.Ising2D(mf.side, mf.side, mf.j, mf.field)
	case "cw":
		m, err = model.CurieWeiss(mf.n, mf.j, mf.field)
	case "sk":
		m, err = model.SherringtonKirkpatrick(mf.n, mf.j, mf.field, mf.seed)
	case "file":
		maxN := model.MaxSpins
		if mf.maxN > 0 {
			maxN = min(mf.maxN, maxN)
		}
		if isNPZ(mf.couplings) {
			m, err = model.LoadNPZCouplingsMax(mf.couplings, mf.n, maxN)
		} else {
			m, err = model.LoadCouplingsMax(mf.couplings, mf.hfile, mf.n, maxN)
		}
		if err != nil && maxN < model.MaxSpins && strings.Contains(err.Error(), fmt.Sprintf("at most %d spins", maxN)) {
			return nil, &usageError{msg: asUsage(err).Error() + "; " + mf.maxWhy, err: err}
		}
	}
	return m, asUsage(err)
}

func (mf *modelFlags) choices() string {
	if mf.fileInputs {
		return "cw, sk, ising2d or file"
	}
	return "cw, sk or ising2d"
}

// parseBetas parses a comma-separated list of inverse temperatures, each a
// finite number > 0 (f = -ln Z/(βN) needs β > 0).
func parseBetas(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usagef("no inverse temperature given; give -beta B or -beta B1,B2,... with each B > 0")
	}
	var out []float64
	for _, part := range strings.Split(s, ",") {
		b, err := parseBeta(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func parseBeta(s string) (float64, error) {
	b, err := decimal.Parse(s)
	if err != nil {
		return 0, usagef("-beta %q is not a number; give inverse temperatures like -beta 0.5,1,1.5", s)
	}
	if b <= 0 {
		return 0, usagef("-beta %v: the inverse temperature must be > 0", b)
	}
	return b, nil
}

// checkWorkers validates -workers (0 = one per available core).
func checkWorkers(w int) error {
	if w < 0 {
		return usagef("-workers %d: give -workers W with W ≥ 1 parallel workers, or 0 for one per core", w)
	}
	return nil
}

// isNPZ reports whether path names a NumPy .npz archive (by its extension,
// case-insensitive).
func isNPZ(path string) bool { return strings.EqualFold(filepath.Ext(path), ".npz") }

// flagUse says whether a flag applies (ok) and, if not, what it applies to
// (use, e.g. "-arch made").
type flagUse struct {
	flag string
	ok   bool
	use  string
}

// archKnobs lists the architecture flags with the -arch each applies to:
// train, bench and the memory estimates share it, so that a knob refused
// by one is refused by all.
func archKnobs(arch string) []flagUse {
	return []flagUse{
		{"k", arch == "sk_krsb", "-arch sk_krsb"},
		{"depth", arch == "made", "-arch made"},
		{"width", arch == "made", "-arch made"},
		{"analytic-init", arch == "cw_inf", "-arch cw_inf"},
	}
}

// refuseUnused refuses the first flag given on the command line that does
// not apply to -arch arch: a knob the chosen net would silently ignore is
// most likely a typo in -arch.
func (fs *flagSet) refuseUnused(arch string, uses []flagUse) error {
	for _, c := range uses {
		if fs.set(c.flag) && !c.ok {
			return usagef("-%s applies only to %s, not -arch %q; drop it", c.flag, c.use, arch)
		}
	}
	return nil
}
