package driver

import (
	"math"
	"strconv"

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
	// MAbs is null when the method gives no magnetisation (kaufman).
	MAbs *float64 `json:"m_abs"`
}

// runExact prints the exact thermodynamics of a model at each β, by the
// method the user picked or the cheapest exact one (auto).
func runExact(args []string, e *env) (err error) {
	fs := newFlagSet("exact", "-model cw|sk|ising2d|file -n N|-L L [-J 1] [-field 0] [-seed S] [-couplings FILE] [-fields FILE] -beta B[,B...] [-method auto] [-workers 0]",
		"Prints one JSON line per β: {\"model\",\"n\",\"beta\",\"method\",\"f\",\"e\",\"s\",\"m_abs\"}, the exact\n"+
			"free energy f = -ln Z/(βN), energy e = <H>/N, entropy s = -<ln P>/N and |m| = <|Σx|>/N per spin.\n"+
			"Methods: analytic (cw only: log-binomial sum over the magnetisation, any N),\n"+
			"enumerate (any model, N ≤ 32: all 2^N states; N = 32 takes minutes),\n"+
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
	stopProf, err := pf.start()
	if err != nil {
		return err
	}
	defer func() {
		if perr := stopProf(); perr != nil && err == nil {
			err = perr
		}
	}()
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
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	meth := *method
	if meth == "auto" {
		switch {
		case m.CW != nil:
			meth = "analytic"
		case m.Ising2D != nil && m.Ising2D.H == 0:
			meth = "kaufman"
		default:
			meth = "enumerate"
		}
	}
	if meth == "kaufman" && m.Ising2D == nil {
		return usagef("-method kaufman needs -model ising2d (it is the 2D Ising torus's formula); use -method enumerate for N ≤ %d", model.MaxEnumerate)
	}
	if (meth == "analytic" || meth == "meanfield") && m.CW == nil {
		return usagef("-method %s needs -model cw (it uses the Curie-Weiss magnetisation sum); use -method enumerate for N ≤ %d", meth, model.MaxEnumerate)
	}
	if meth == "enumerate" && m.N > model.MaxEnumerate {
		hint := "give -n N with N ≤ " + strconv.Itoa(model.MaxEnumerate)
		if m.CW != nil {
			hint += " or -method analytic"
		}
		return usagef("-method enumerate sums all 2^N states and needs N ≤ %d, got N=%d; %s", model.MaxEnumerate, m.N, hint)
	}
	var th []model.Thermo
	switch meth {
	case "analytic":
		for _, b := range betas {
			th = append(th, model.CWExact(m.N, *m.CW, b))
		}
	case "meanfield":
		for _, b := range betas {
			th = append(th, model.CWMeanField(*m.CW, b))
		}
	case "enumerate":
		th, err = model.Enumerate(m, betas, *workers)
		if err != nil {
			return asUsage(err)
		}
	case "kaufman":
		for _, b := range betas {
			t, err := model.Ising2DExact(*m.Ising2D, b)
			if err != nil {
				return usagef("-method kaufman: %v; use -method enumerate for N ≤ %d", err, model.MaxEnumerate)
			}
			th = append(th, t)
		}
	}
	for k, t := range th {
		res := exactResult{Model: m.Kind, N: m.N, Beta: betas[k], Method: meth, F: t.F, E: t.E, S: t.S}
		if !math.IsNaN(t.MAbs) {
			res.MAbs = &t.MAbs
		}
		if err := e.emit(res); err != nil {
			return err
		}
	}
	return nil
}
