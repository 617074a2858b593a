package model

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// apiNets builds one net of every architecture (and option that changes a
// net's layout), each with parameters away from their initial values.
func apiNets(t *testing.T) map[string]Net {
	t.Helper()
	cw, err := CurieWeiss(9, 1, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := SherringtonKirkpatrick(9, 1, 0.1, 4)
	if err != nil {
		t.Fatal(err)
	}
	nets := map[string]Net{}
	for _, c := range []struct {
		name, arch string
		m          *Hamiltonian
		o          ArchOptions
	}{
		{"cw_n", "cw_n", cw, ArchOptions{Beta: 1.3}},
		{"h2arnn", "h2arnn", sk, ArchOptions{Beta: 0.8}},
		{"cw_inf analytic", "cw_inf", cw, ArchOptions{AnalyticInit: true, Beta: 1.2, Seed: 3}},
		{"cw_inf", "cw_inf", sk, ArchOptions{Seed: 3}},
		{"1p", "1p", sk, ArchOptions{Seed: 4}},
		{"1l", "1l", sk, ArchOptions{Seed: 5}},
		{"made", "made", sk, ArchOptions{Depth: 3, Width: 2, Seed: 6}},
		{"sk_rs", "sk_rs", sk, ArchOptions{Seed: 7}},
		{"sk_2rsb", "sk_krsb", sk, ArchOptions{K: 2, Seed: 8}},
		{"sk_1rsb first layer", "sk_1rsb", sk, ArchOptions{TrainFirstLayer: true, Seed: 9}},
	} {
		net, err := NewNet(c.arch, c.m, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p := net.Params(); p != nil {
			blRandomise(net, 11, 0.5)
			net.SetBeta(0.9) // trainable nets record it; Save keeps it
		}
		nets[c.name] = net
	}
	return nets
}

// randomConfigs returns m random ±1 configurations of n spins as int8 rows
// and as float64 vectors.
func randomConfigs(seed uint64, m, n int) ([]int8, [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x8 := make([]int8, m*n)
	xf := make([][]float64, m)
	for b := range m {
		xf[b] = make([]float64, n)
		for i := range n {
			v := int8(1 - 2*rng.IntN(2))
			x8[b*n+i], xf[b][i] = v, float64(v)
		}
	}
	return x8, xf
}

// equalBits reports whether a and b hold the same float64 bit patterns.
func equalBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// TestSaveLoadExact: a saved net loads back as the same net to the bit —
// architecture, options, β, parameters, and therefore the same ln q of any
// configuration and the same samples from the same streams.
func TestSaveLoadExact(t *testing.T) {
	for name, net := range apiNets(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Save(&buf, net); err != nil {
				t.Fatal(err)
			}
			buf.WriteString("TRAILER") // what a checkpoint puts after the net
			got, err := Load(&buf, net.Model())
			if err != nil {
				t.Fatal(err)
			}
			if rest, _ := io.ReadAll(&buf); string(rest) != "TRAILER" {
				t.Errorf("Load left %q after the net, want exactly the bytes that follow it", rest)
			}
			if got.Arch() != net.Arch() || got.Size() != net.Size() || got.ParamCount() != net.ParamCount() ||
				got.Beta() != net.Beta() || got.Model() != net.Model() {
				t.Fatalf("loaded %s N=%d P=%d β=%v, saved %s N=%d P=%d β=%v", got.Arch(), got.Size(), got.ParamCount(), got.Beta(),
					net.Arch(), net.Size(), net.ParamCount(), net.Beta())
			}
			if !equalBits(got.Params(), net.Params()) {
				t.Fatal("parameters differ after Save and Load")
			}
			if a, b := net.(netOptions).options(), got.(netOptions).options(); a != b {
				t.Errorf("options %+v, saved %+v", b, a)
			}
			_, xs := randomConfigs(2, 20, net.Size())
			w1, w2 := net.NewWorker(), got.NewWorker()
			for _, x := range xs {
				if a, b := w1.LogProb(x), w2.LogProb(x); math.Float64bits(a) != math.Float64bits(b) {
					t.Fatalf("ln q %v after Load, %v before", b, a)
				}
			}
			a, b := SampleBatch(net, 30, 5, 1), SampleBatch(got, 30, 5, 2)
			if !slices.Equal(a.X, b.X) || !equalBits(a.LogQ, b.LogQ) || !equalBits(a.Energy, b.Energy) {
				t.Error("samples differ after Save and Load")
			}
		})
	}
}

// TestLoadOtherModel: a net loads only on the model it was saved with.
func TestLoadOtherModel(t *testing.T) {
	sk, _ := SherringtonKirkpatrick(9, 1, 0.1, 4)
	net, _ := NewNet("sk_1rsb", sk, ArchOptions{Seed: 1})
	var buf bytes.Buffer
	if err := Save(&buf, net); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	other, _ := SherringtonKirkpatrick(9, 1, 0.1, 5) // another instance
	bigger, _ := SherringtonKirkpatrick(10, 1, 0.1, 4)
	tweaked, _ := SherringtonKirkpatrick(9, 1, 0.1, 4)
	tweaked.SetCoupling(2, 7, math.Nextafter(tweaked.Coupling(2, 7), 1)) // one ulp
	for name, m := range map[string]*Hamiltonian{"other instance": other, "other N": bigger, "one ulp": tweaked} {
		_, err := Load(bytes.NewReader(saved), m)
		var mm *ModelMismatchError
		if !errors.As(err, &mm) || mm.SavedN != 9 || mm.GivenN != m.N || mm.SavedHash != sk.Hash() {
			t.Errorf("%s: error %v, want a *ModelMismatchError", name, err)
		}
	}
	if sk.Hash() == tweaked.Hash() || sk.Hash() != mustSK(t, 9, 4).Hash() {
		t.Error("Hash does not tell models apart to the bit, or differs for the same model")
	}
	// ReadNet needs no model, and says what the net is.
	sn, err := ReadNet(bytes.NewReader(saved))
	if err != nil || sn.Arch != "sk_1rsb" || sn.N != 9 || sn.Options.K != 1 || sn.ModelHash != sk.Hash() || sn.ModelSource != sk.Source || len(sn.Params) != net.ParamCount() {
		t.Errorf("ReadNet: %+v, %v", sn, err)
	}
}

func mustSK(t *testing.T, n int, seed uint64) *Hamiltonian {
	t.Helper()
	m, err := SherringtonKirkpatrick(n, 1, 0.1, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoadDamaged: a file that is not a net, or a damaged one, gives a
// *NetFileError, never a net with wrong parameters.
func TestLoadDamaged(t *testing.T) {
	sk := mustSK(t, 6, 1)
	net, _ := NewNet("1l", sk, ArchOptions{Seed: 1})
	net.SetBeta(10)
	var buf bytes.Buffer
	if err := Save(&buf, net); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := func(k int) []byte { b := slices.Clone(good); b[k] ^= 0x10; return b }
	// Edits keep the header's length, so that each is refused for what it
	// changes.
	edit := func(old, new string) []byte {
		if len(old) != len(new) || !strings.Contains(string(good), old) {
			t.Fatalf("bad edit %q → %q", old, new)
		}
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a net file"},
		{"not npy", []byte("i j J\n0 1 0.5\n"), "not a net file"},
		{"truncated", good[:len(good)-3], "truncated"},
		{"flipped param", flip(len(good) - 9), "checksum"},
		{"other version", edit(`"version":1`, `"version":7`), "version 7"},
		{"other format", edit(`"format":"h2arnn net"`, `"format":"h2arnn xyz"`), `"h2arnn xyz"`},
		{"unknown arch", edit(`"arch":"1l"`, `"arch":"2l"`), `unknown architecture "2l"`},
		{"negative beta", edit(`"beta":10,"model`, `"beta":-1,"model`), "β = -1"},
		{"more params said", edit(`"params":21`, `"params":22`), "want 22 float64"},
	} {
		_, err := Load(bytes.NewReader(c.b), sk)
		var fe *NetFileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a *NetFileError saying %q", c.name, err, c.want)
		}
	}
	// A net with a non-finite parameter is refused when saved.
	net.Params()[3] = math.Inf(1)
	if err := Save(io.Discard, net); err == nil {
		t.Error("Save wrote an infinite parameter")
	}
}

// TestClone: a clone is the same net with its own parameters and β.
func TestClone(t *testing.T) {
	for name, net := range apiNets(t) {
		t.Run(name, func(t *testing.T) {
			c := net.Clone()
			if c.Arch() != net.Arch() || c.Beta() != net.Beta() || !equalBits(c.Params(), net.Params()) {
				t.Fatal("the clone differs from the net")
			}
			_, xs := randomConfigs(3, 5, net.Size())
			before := net.NewWorker().LogProb(xs[0])
			if math.Float64bits(c.NewWorker().LogProb(xs[0])) != math.Float64bits(before) {
				t.Fatal("the clone gives another ln q")
			}
			if p := c.Params(); p != nil {
				for i := range p {
					p[i] += 0.25
				}
			}
			c.SetBeta(c.Beta() + 0.5)
			if after := net.NewWorker().LogProb(xs[0]); math.Float64bits(after) != math.Float64bits(before) || net.Beta() == c.Beta() {
				t.Error("changing the clone changed the net")
			}
			if c.NewWorker().LogProb(xs[0]) == before {
				t.Error("the clone's change had no effect on its ln q")
			}
		})
	}
}

// TestSamplerBatchCalls: LogProbBatch has the bits of Worker.LogProb, and
// DrawInto in chunks the samples of one Draw, for any worker count; the
// drawn ln q is that of the drawn configuration and the energy H(x).
func TestSamplerBatchCalls(t *testing.T) {
	ctx := context.Background()
	for name, net := range apiNets(t) {
		t.Run(name, func(t *testing.T) {
			n := net.Size()
			x8, xf := randomConfigs(4, 37, n)
			w := net.NewWorker()
			want := make([]float64, len(xf))
			for b, x := range xf {
				want[b] = w.LogProb(x)
			}
			ref := NewSampler(net, 1)
			defer ref.Close()
			whole, err := ref.Draw(ctx, nil, 37, 9, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3} {
				s := NewSampler(net, workers)
				got := make([]float64, len(xf))
				s.LogProbBatch(got, x8)
				if !equalBits(got, want) {
					t.Errorf("%d workers: LogProbBatch differs from Worker.LogProb", workers)
				}
				x, lq, en := make([]int8, 37*n), make([]float64, 37), make([]float64, 37)
				for _, c := range [][2]int{{0, 10}, {10, 11}, {11, 37}} {
					if err := s.DrawInto(ctx, x[c[0]*n:c[1]*n], lq[c[0]:c[1]], en[c[0]:c[1]], 9, 2, c[0]); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Equal(x, whole.X) || !equalBits(lq, whole.LogQ) || !equalBits(en, whole.Energy) {
					t.Errorf("%d workers: DrawInto in chunks differs from one Draw", workers)
				}
				s.LogProbBatch(got, x)
				for b := range got {
					xb := whole.Sample(b)
					if d := math.Abs(got[b] - lq[b]); d > 1e-12*math.Max(1, math.Abs(lq[b])) {
						t.Fatalf("sample %d: drawn ln q %v, LogProbBatch %v", b, lq[b], got[b])
					}
					if e := net.Model().Energy(xb); math.Abs(e-en[b]) > 1e-12*math.Max(1, math.Abs(e)) {
						t.Fatalf("sample %d: drawn energy %v, H(x) = %v", b, en[b], e)
					}
				}
				s.Close()
			}
		})
	}
}

// TestSamplerAllocatesNothing: after the first call of each kind, a draw
// into caller buffers and a batch of ln q allocate nothing.
func TestSamplerAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	nets := apiNets(t)
	for _, name := range []string{"sk_2rsb", "made", "cw_n"} {
		net := nets[name]
		for _, workers := range []int{1, 2} {
			s := NewSampler(net, workers)
			n := net.Size()
			x, lq, en := make([]int8, 64*n), make([]float64, 64), make([]float64, 64)
			step := uint64(0)
			draw := func() {
				step++
				if err := s.DrawInto(ctx, x, lq, en, 1, step, 0); err != nil {
					t.Fatal(err)
				}
			}
			prob := func() { s.LogProbBatch(lq, x) }
			draw()
			prob()
			if a := testing.AllocsPerRun(20, draw); a != 0 {
				t.Errorf("%s, %d workers: DrawInto allocates %v times per call", name, workers, a)
			}
			if a := testing.AllocsPerRun(20, prob); a != 0 {
				t.Errorf("%s, %d workers: LogProbBatch allocates %v times per call", name, workers, a)
			}
			s.Close()
		}
	}
}

// TestSamplerCancel: a draw stops once its context is done.
func TestSamplerCancel(t *testing.T) {
	net := apiNets(t)["sk_2rsb"]
	s := NewSampler(net, 2)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := 1 << 14
	x, lq := make([]int8, m*net.Size()), make([]float64, m)
	if err := s.DrawInto(ctx, x, lq, nil, 1, 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("DrawInto with a cancelled context: %v", err)
	}
	if _, err := s.Draw(ctx, nil, 10, 1, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Draw with a cancelled context: %v", err)
	}
}

// TestEnumerateCancel: enumeration stops once its context is done, long
// before it would have finished.
func TestEnumerateCancel(t *testing.T) {
	m := mustSK(t, 30, 1) // about a minute of work on two cores
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Enumerate(ctx, m, []float64{1}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := Enumerate(ctx, m, []float64{1}, 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline during the run: %v", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("Enumerate took %v to stop after its context was done", d)
	}
}

// TestStatsAccumulatorParts: statistics accumulated part by part are those
// of the whole batch, and those of BatchStats.
func TestStatsAccumulatorParts(t *testing.T) {
	net := apiNets(t)["1l"]
	bt := SampleBatch(net, 101, 3, 2)
	n := bt.N
	whole := BatchStats(bt, 0.9)
	a := NewStatsAccumulator(0.9, n)
	for _, c := range [][2]int{{0, 1}, {1, 50}, {50, 101}} {
		a.Add(bt.X[c[0]*n:c[1]*n], bt.LogQ[c[0]:c[1]], bt.Energy[c[0]:c[1]])
	}
	if got := a.Stats(); got != whole || a.Count() != 101 {
		t.Errorf("in parts %+v, whole %+v", got, whole)
	}
	// The reference: two passes, plainly.
	l := make([]float64, bt.B)
	mean := 0.0
	for b := range l {
		l[b] = bt.LogQ[b] + 0.9*bt.Energy[b]
		mean += l[b] / float64(bt.B)
	}
	v := 0.0
	for _, x := range l {
		v += (x - mean) * (x - mean) / float64(bt.B)
	}
	if want := math.Sqrt(v) / (0.9 * float64(n)); math.Abs(whole.FStd-want) > 1e-12*want {
		t.Errorf("f_std %v, two-pass %v", whole.FStd, want)
	}
	if st := NewStatsAccumulator(1, 3).Stats(); !math.IsNaN(st.F) || !math.IsNaN(st.FStd) {
		t.Errorf("no samples: %+v, want NaN", st)
	}
}
