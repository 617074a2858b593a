package grad

import (
	"math"
	"slices"
	"testing"
)

var optGrads = [][]float64{{0.5, -1, 3e-9}, {0.1, 2, -4}, {-0.3, 0, 1e3}, {2, -0.25, 0}}

// TestAdamFirstStep: with zero moments the first bias-corrected step is
// lr·g/(|g|+ε) whatever the size of g.
func TestAdamFirstStep(t *testing.T) {
	p := []float64{1, -2, 0.5}
	a := NewAdam(3)
	a.Step(p, optGrads[0])
	want := []float64{1 - 1e-3*0.5/(0.5+1e-8), -2 + 1e-3*1/(1+1e-8), 0.5 - 1e-3*3e-9/(3e-9+1e-8)}
	for i := range p {
		if math.Abs(p[i]-want[i]) > 1e-15 {
			t.Errorf("param %d: %.17g, want %.17g", i, p[i], want[i])
		}
	}
}

// TestAdamClosedForm checks four steps against the closed forms
// m_t = (1-β₁) Σ_k β₁^{t-k} g_k, v_t likewise, p -= lr·m̂/(√v̂+ε).
func TestAdamClosedForm(t *testing.T) {
	p := []float64{1, -2, 0.5}
	want := slices.Clone(p)
	a := NewAdam(3)
	a.LR = 0.01
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for step := 1; step <= len(optGrads); step++ {
		a.Step(p, optGrads[step-1])
		for i := range want {
			var m, v float64
			for k := 1; k <= step; k++ {
				g := optGrads[k-1][i]
				m += (1 - b1) * math.Pow(b1, float64(step-k)) * g
				v += (1 - b2) * math.Pow(b2, float64(step-k)) * g * g
			}
			mh := m / (1 - math.Pow(b1, float64(step)))
			vh := v / (1 - math.Pow(b2, float64(step)))
			want[i] -= 0.01 * mh / (math.Sqrt(vh) + eps)
			if math.Abs(p[i]-want[i]) > 1e-14*math.Max(1, math.Abs(want[i])) {
				t.Errorf("step %d param %d: %.17g, closed form %.17g", step, i, p[i], want[i])
			}
		}
	}
	if a.T != int64(len(optGrads)) {
		t.Errorf("step count %d", a.T)
	}
}

// TestAdamStateRoundTrip: restoring a saved state into a fresh optimiser
// continues bit for bit.
func TestAdamStateRoundTrip(t *testing.T) {
	p := []float64{1, -2, 0.5}
	a := NewAdam(3)
	a.Step(p, optGrads[0])
	a.Step(p, optGrads[1])
	st := a.State()
	q := slices.Clone(p)
	saved := slices.Clone(st.M)
	a.Step(p, optGrads[2])
	a.Step(p, optGrads[3])
	if !slices.Equal(st.M, saved) {
		t.Fatal("State shares its moments with the optimiser")
	}
	b := NewAdam(3)
	if err := b.SetState(st); err != nil {
		t.Fatal(err)
	}
	b.Step(q, optGrads[2])
	b.Step(q, optGrads[3])
	if !slices.Equal(math64bits(p), math64bits(q)) {
		t.Errorf("resumed %v, uninterrupted %v", q, p)
	}
	if err := b.SetState(OptimizerState{Kind: "sgd"}); err == nil {
		t.Error("sgd state accepted by adam")
	}
	if err := b.SetState(OptimizerState{Kind: "adam", M: []float64{1}, V: []float64{1}}); err == nil {
		t.Error("wrong-size state accepted")
	}
}

func TestSGD(t *testing.T) {
	p := []float64{1, -2, 0.5}
	s := NewSGD(3, 0.1, 0)
	s.Step(p, optGrads[0])
	for i, w := range []float64{1 - 0.05, -2 + 0.1, 0.5 - 3e-10} {
		if math.Abs(p[i]-w) > 1e-15 {
			t.Errorf("plain SGD param %d: %v, want %v", i, p[i], w)
		}
	}
	// Momentum μ: b_1 = g_1, b_t = μ b_{t-1} + g_t, p -= lr b_t.
	p = []float64{1, -2, 0.5}
	want := slices.Clone(p)
	s = NewSGD(3, 0.1, 0.9)
	buf := make([]float64, 3)
	for k, g := range optGrads {
		if k == 2 {
			st := s.State()
			s2 := NewSGD(3, 0, 0)
			if err := s2.SetState(st); err != nil {
				t.Fatal(err)
			}
			s = s2
		}
		s.Step(p, g)
		for i := range buf {
			buf[i] = 0.9*buf[i] + g[i]
			want[i] -= 0.1 * buf[i]
		}
	}
	for i := range p {
		if math.Abs(p[i]-want[i]) > 1e-13*math.Max(1, math.Abs(want[i])) {
			t.Errorf("momentum SGD param %d: %v, want %v", i, p[i], want[i])
		}
	}
}

// TestOptimizerStateEdges: a state at step 0 restores (a fresh optimiser's
// own), a negative step count or a momentum buffer of the wrong length does
// not, and SGD counts its steps with and without momentum.
func TestOptimizerStateEdges(t *testing.T) {
	a := NewAdam(3)
	if err := a.SetState(NewAdam(3).State()); err != nil {
		t.Errorf("Adam at step 0: %v", err)
	}
	for _, mu := range []float64{0, 0.9} {
		s := NewSGD(3, 0.1, mu)
		p, g := []float64{1, 2, 3}, []float64{0.5, -1, 2}
		s.Step(p, g)
		s.Step(p, g)
		if st := s.State(); st.Steps != 2 {
			t.Errorf("SGD momentum %v: %d steps counted, want 2", mu, st.Steps)
		}
		if err := s.SetState(NewSGD(3, 0.1, mu).State()); err != nil {
			t.Errorf("SGD momentum %v at step 0: %v", mu, err)
		}
		bad := s.State()
		bad.Steps = -1
		if s.SetState(bad) == nil {
			t.Errorf("SGD momentum %v: negative step count accepted", mu)
		}
	}
	s := NewSGD(3, 0.1, 0.9)
	st := s.State()
	st.M = []float64{1, 2}
	if s.SetState(st) == nil {
		t.Error("SGD momentum buffer of 2 values for 3 parameters accepted")
	}
	st.M = []float64{1, 2, 3}
	if err := s.SetState(st); err != nil || s.Buf[2] != 3 {
		t.Errorf("SGD momentum buffer of the right length: %v, %v", err, s.Buf)
	}
}
