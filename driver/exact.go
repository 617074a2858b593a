package driver

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/model"
)

// exactResult is one JSON line of `h2arnn exact`: per-spin figures at one β.
type exactResult struct {
	Model  string  `json:"model"`
	N      int     `json:"n"`
	Beta   float64 `json:"beta"`
	Method string  `json:"method"`
	F      float64 `json:"f"`
	E      float64 `json:"e"`
	S      float64 `json:"s"`
	// MAbs is NaN, written null, when the method gives no magnetisation
	// (kaufman).
	MAbs float64 `json:"m_abs"`
}

// runExact prints the exact thermodynamics of a model at each β, by the
// method the user picked or the cheapest exact one (auto).
func runExact(args []string, e *env) error {
	fs := newFlagSet("exact", "-model cw|sk|ising2d|file -n N|-L L [-J 1] [-field 0] [-seed S] [-couplings FILE] [-fields FILE] -beta B[,B...] [-method auto] [-workers 0]",
		"Prints one JSON line per β: {\"model\",\"n\",\"beta\",\"method\",\"f\",\"e\",\"s\",\"m_abs\"}, the exact\n"+
			"free energy f = -ln Z/(βN), energy e = <H>/N, entropy s = -<ln P>/N and |m| = <|Σx|>/N per spin.\n"+
			"Methods: analytic (cw only: log-binomial sum over the magnetisation, any N),\n"+
			"enumerate (any model, N ≤ 32: all 2^N states; N = 32 takes minutes; Ctrl-C stops it at once),\n"+
			"meanfield (cw only: the N → ∞ limit; n is printed but does not enter),\n"+
			"kaufman (ising2d without field, any L: Kaufman's finite-torus formula; m_abs is null, the\n"+
			"formula gives no magnetisation), auto (analytic for cw, kaufman for ising2d without field,\n"+
			"else enumerate).", e.stderr)
	mf := addModelFlags(fs, true)
	betaList := fs.String("beta", "", "inverse temperature(s) β > 0, comma-separated, e.g. 0.5,1,1.5 (required)")
	method := fs.String("method", "auto", "auto|analytic|enumerate|meanfield|kaufman")
	workers := fs.Int("workers", 0, "goroutines for enumerate (0 = one per core)")
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	betas, err := parseBetas(*betaList)
	if err != nil {
		return err
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	switch *method {
	case "auto", "analytic", "enumerate", "meanfield", "kaufman":
	default:
		return usagef("-method %q is not known; give -method auto, analytic, enumerate, meanfield or kaufman", *method)
	}
	m, meth, err := exactModel(fs, mf, *method)
	if err != nil {
		return err
	}
	return withProfiles(pf, func() error {
		th, err := exactThermo(e, meth, m, betas, *workers)
		if err != nil {
			return err
		}
		for k, t := range th {
			if !fmath.Finite(t.F) || !fmath.Finite(t.E) || !fmath.Finite(t.S) {
				return fmt.Errorf("the result at β %v is not a finite number; inputs this large overflow float64: try smaller -J, -field or -beta values", betas[k])
			}
			if err := e.emit(exactResult{Model: m.Kind, N: m.N, Beta: betas[k], Method: meth, F: t.F, E: t.E, S: t.S, MAbs: t.MAbs}); err != nil {
				return err
			}
		}
		return nil
	})
}

// exactModel resolves -method auto, checks that the method applies to the
// model of the flags, and returns the model the method needs, built only
// as far as the method reads it. All of it happens before any large
// allocation: the formulas need no couplings matrix (cw by the analytic sum
// or the mean field needs N, J and h; ising2d by Kaufman's formula L, J and
// h), and an enumeration of more than model.MaxEnumerate spins is refused
// before the model is built (for a couplings file without -n, right after
// it is read).
func exactModel(fs *flagSet, mf *modelFlags, method string) (*model.Hamiltonian, string, error) {
	if err := mf.check(fs); err != nil {
		return nil, "", err
	}
	if method == "auto" {
		switch {
		case mf.model == "cw":
			method = "analytic"
		case mf.model == "ising2d" && mf.field == 0:
			method = "kaufman"
		default:
			method = "enumerate"
		}
	}
	n := mf.n // the N of the flags, or 0 for a file's own
	if mf.model == "ising2d" {
		n = mf.side * mf.side
		if mf.side > model.MaxSpins {
			n = model.MaxSpins + 1
		}
	}
	switch method {
	case "kaufman":
		if mf.model != "ising2d" {
			return nil, "", usagef("-method kaufman needs -model ising2d (it is the 2D Ising torus's formula); use -method enumerate for N ≤ %d", model.MaxEnumerate)
		}
		if n > model.MaxSpins {
			return nil, "", usagef("-L %d: at most %d spins are supported; give a smaller -L", mf.side, model.MaxSpins)
		}
		p := model.Ising2DParams{Lx: mf.side, Ly: mf.side, J: mf.j, H: mf.field}
		return &model.Hamiltonian{N: n, Kind: "ising2d", Ising2D: &p}, method, nil
	case "analytic", "meanfield":
		if mf.model != "cw" {
			return nil, "", usagef("-method %s needs -model cw (it uses the Curie-Weiss magnetisation sum); use -method enumerate for N ≤ %d", method, model.MaxEnumerate)
		}
		if method == "analytic" && n > model.MaxSpins {
			return nil, "", usagef("-method analytic: -n %d: the sum over magnetisations is checked for N ≤ %d; give a smaller -n, or -method meanfield for the N → ∞ limit", n, model.MaxSpins)
		}
		return &model.Hamiltonian{N: n, Kind: "cw", CW: &model.CWParams{J: mf.j, H: mf.field}}, method, nil
	}
	if n > model.MaxEnumerate {
		return nil, "", enumerateTooLarge(n, mf.model == "cw")
	}
	mf.limitN(model.MaxEnumerate, fmt.Sprintf("-method enumerate sums all 2^N states and needs N ≤ %d", model.MaxEnumerate))
	m, err := mf.build(fs)
	if err != nil {
		return nil, "", err
	}
	if m.N > model.MaxEnumerate {
		return nil, "", enumerateTooLarge(m.N, false)
	}
	return m, method, nil
}

// enumerateTooLarge is the refusal of an enumeration of n spins.
func enumerateTooLarge(n int, cw bool) error {
	hint := "give -n N with N ≤ " + strconv.Itoa(model.MaxEnumerate)
	if cw {
		hint += " or -method analytic"
	}
	return usagef("-method enumerate: -n %d: the enumeration sums all 2^N states and needs N ≤ %d; %s", n, model.MaxEnumerate, hint)
}

// exactThermo computes the exact thermodynamics of m at every β by method.
func exactThermo(e *env, method string, m *model.Hamiltonian, betas []float64, workers int) ([]model.Thermo, error) {
	if method == "enumerate" {
		th, err := model.Enumerate(e.ctx, m, betas, workers)
		if isInterrupt(err) {
			return nil, errInterrupted
		}
		return th, asUsage(err)
	}
	th := make([]model.Thermo, len(betas))
	for k, b := range betas {
		var err error
		switch method {
		case "analytic":
			th[k], err = model.CWExact(m.N, *m.CW, b)
		case "meanfield":
			th[k], err = model.CWMeanField(*m.CW, b)
		case "kaufman":
			if th[k], err = model.Ising2DExact(*m.Ising2D, b); errors.Is(err, model.ErrNoExactFormula) {
				return nil, usagef("-method kaufman: %v; use -method enumerate for N ≤ %d", err, model.MaxEnumerate)
			}
		}
		if err != nil {
			return nil, asUsage(err)
		}
	}
	return th, nil
}
