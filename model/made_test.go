package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// madeMaskCount counts MADE's trainable numbers by building every layer's
// full (out·N) × (in·N) mask from the degree rule of SPEC §3 (exclusive:
// input degree < output degree; inclusive: ≤) and adding the biases and
// the d-1 PReLU slopes: an oracle independent of the row layout.
func madeMaskCount(n, d, w int) int {
	type layer struct {
		in, out int
		excl    bool
	}
	var ls []layer
	if d == 1 {
		ls = []layer{{1, 1, true}}
	} else {
		ls = append(ls, layer{1, w, true})
		for range d - 2 {
			ls = append(ls, layer{w, w, false})
		}
		ls = append(ls, layer{w, 1, false})
	}
	count := d - 1
	for _, l := range ls {
		for u := 0; u < l.out*n; u++ {
			du := u / l.out
			for v := 0; v < l.in*n; v++ {
				dv := v / l.in
				if dv < du || (!l.excl && dv == du) {
					count++
				}
			}
		}
		count += l.out * n
	}
	return count
}

func TestMADEParamCount(t *testing.T) {
	m, _ := CurieWeiss(13, 1, 0)
	for d := 1; d <= 4; d++ {
		for w := 1; w <= 3; w++ {
			net, err := NewMADE(m, ArchOptions{Depth: d, Width: w})
			if err != nil {
				t.Fatal(err)
			}
			if want := madeMaskCount(13, d, w); net.ParamCount() != want || len(net.Params()) != want {
				t.Fatalf("d=%d w=%d: ParamCount %d, len(Params) %d, mask count %d", d, w, net.ParamCount(), len(net.Params()), want)
			}
		}
	}
}

// TestMADEInit checks the initial values: PReLU slopes 0.5, biases within
// ±1/√fan_in, weights within the mask-scaled bound and spread over it
// (largest magnitude above 90% of the bound), so both scalings are used.
func TestMADEInit(t *testing.T) {
	const n, d, w = 30, 3, 2
	m, _ := CurieWeiss(n, 1, 0)
	net, err := NewMADE(m, ArchOptions{Depth: d, Width: w, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	ins := []int{1, w, w}
	outs := []int{w, w, 1}
	unmasked := []float64{float64(w * n * (n - 1) / 2), float64(w * w * n * (n + 1) / 2), float64(w * n * (n + 1) / 2)}
	for k := range d {
		fanIn := float64(ins[k] * n)
		bb := 1 / math.Sqrt(fanIn)
		wb := bb * math.Sqrt(fanIn*float64(outs[k]*n)/unmasked[k])
		maxW, maxB := 0.0, 0.0
		for i := range n {
			for c := range outs[k] {
				for _, v := range net.WeightRow(k, i, c) {
					maxW = math.Max(maxW, math.Abs(v))
				}
				maxB = math.Max(maxB, math.Abs(net.Params()[net.BiasIndex(k, i, c)]))
			}
		}
		if maxW > wb || maxW < 0.9*wb || maxB > bb || maxB < 0.9*bb {
			t.Fatalf("layer %d: max |W| %v (bound %v), max |b| %v (bound %v)", k, maxW, wb, maxB, bb)
		}
	}
	for k := range d - 1 {
		if s := net.Params()[net.SlopeIndex(k)]; s != 0.5 {
			t.Fatalf("slope %d = %v, want 0.5", k, s)
		}
	}
}

// TestMADEDepth1EqualsOneL copies 1l's weights into made of depth 1 and
// width 1 through the explicit map W_is → WeightRow(0, i, 0)[s],
// b_i → Params()[BiasIndex(0, i, 0)], and checks that both networks give
// the same ln q, conditionals and (mapped) gradients.
func TestMADEDepth1EqualsOneL(t *testing.T) {
	const n = 11
	m, _ := SherringtonKirkpatrick(n, 1, 0.1, 4)
	ol, err := NewOneL(m, ArchOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	md, err := NewMADE(m, ArchOptions{Depth: 1, Width: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	blRandomise(ol, 3, 0.8)
	// mapIdx[k] is the index in md.Params of 1l's parameter k.
	mapIdx := make([]int, len(ol.Params()))
	pm := md.Params()
	for i := range n {
		mapIdx[i] = md.BiasIndex(0, i, 0)
		row := md.WeightRow(0, i, 0)
		if len(row) != i {
			t.Fatalf("row %d has %d weights, want %d", i, len(row), i)
		}
		for s := range i {
			k := n + i*(i-1)/2 + s
			row[s] = ol.Params()[k]
			// Locate row[s] inside pm by address to record the map.
			for j := range pm {
				if &pm[j] == &row[s] {
					mapIdx[k] = j
				}
			}
		}
		pm[mapIdx[i]] = ol.Params()[i]
	}
	seen := make(map[int]bool)
	for _, j := range mapIdx {
		seen[j] = true
	}
	if len(seen) != len(pm) {
		t.Fatalf("map covers %d of %d made parameters", len(seen), len(pm))
	}
	wl, wm := ol.NewWorker(), md.NewWorker()
	rng := rand.New(rand.NewPCG(6, 7))
	x := make([]float64, n)
	ql, qm := make([]float64, n), make([]float64, n)
	for range 20 {
		blRandomSpins(rng, x)
		a, b := wl.LogProb(x), wm.LogProb(x)
		if math.Abs(a-b) > 1e-13*(1+math.Abs(a)) {
			t.Fatalf("ln q: 1l %.17g, made %.17g", a, b)
		}
		gl := make([]float64, len(pm))
		gm := make([]float64, len(pm))
		wl.Backward(1, gl, 0, nil)
		wm.Backward(1, gm, 0, nil)
		for k, j := range mapIdx {
			if math.Abs(gl[k]-gm[j]) > 1e-13 {
				t.Fatalf("gradient of 1l param %d: %v, made param %d: %v", k, gl[k], j, gm[j])
			}
		}
		wl.Conditionals(x, ql)
		wm.Conditionals(x, qm)
		for i := range n {
			if math.Abs(ql[i]-qm[i]) > 1e-14 {
				t.Fatalf("q_%d: 1l %v, made %v", i, ql[i], qm[i])
			}
		}
	}
}

// TestMADEDenseOracle evaluates made as SPEC §3 writes it: full dense
// (out·N) × (in·N) matrices, zero where the degree mask forbids an entry
// (exclusive layer 0: input degree < output degree; inclusive layers: ≤),
// the unmasked entries filled from WeightRow in the order of the allowed
// inputs, PReLU between layers, all N logits in one pass. Its
// conditionals must equal the incremental worker's.
func TestMADEDenseOracle(t *testing.T) {
	const n = 8
	m, _ := SherringtonKirkpatrick(n, 1, 0, 2)
	for _, dw := range [][2]int{{1, 1}, {2, 1}, {2, 3}, {3, 2}, {4, 2}} {
		d, w := dw[0], dw[1]
		net, err := NewMADE(m, ArchOptions{Depth: d, Width: w, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		blRandomise(net, 8, 0.6)
		p := net.Params()
		ins, outs := []int{1}, []int{1}
		if d > 1 {
			ins, outs = []int{1}, []int{w}
			for range d - 2 {
				ins, outs = append(ins, w), append(outs, w)
			}
			ins, outs = append(ins, w), append(outs, 1)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		x := make([]float64, n)
		q := make([]float64, n)
		wk := net.NewWorker()
		for range 10 {
			blRandomSpins(rng, x)
			a := append([]float64(nil), x...)
			for k := range d {
				in, out := ins[k], outs[k]
				h := make([]float64, out*n)
				for u := range out * n {
					row := net.WeightRow(k, u/out, u%out)
					idx := 0
					h[u] = p[net.BiasIndex(k, u/out, u%out)]
					for v := range in * n {
						if v/in < u/out || (k > 0 && v/in == u/out) {
							h[u] += row[idx] * a[v]
							idx++
						}
					}
					if idx != len(row) {
						t.Fatalf("d=%d w=%d layer %d unit %d: mask allows %d inputs, row has %d", d, w, k, u, idx, len(row))
					}
				}
				if k < d-1 {
					s := p[net.SlopeIndex(k)]
					for u, v := range h {
						if v <= 0 {
							h[u] = s * v
						}
					}
				}
				a = h
			}
			wk.Conditionals(x, q)
			for i := range n {
				if want := 1 / (1 + math.Exp(-a[i])); math.Abs(q[i]-want) > 1e-14 {
					t.Fatalf("d=%d w=%d: q_%d = %.17g, dense oracle %.17g", d, w, i, q[i], want)
				}
			}
		}
	}
}

// BenchmarkMADESampleBackward times one sample plus its backward pass
// (both accumulators) for MADE at N = 200.
func BenchmarkMADESampleBackward(b *testing.B) {
	m, _ := SherringtonKirkpatrick(200, 1, 0, 1)
	for _, dw := range [][2]int{{2, 1}, {2, 2}, {3, 2}} {
		net, _ := NewMADE(m, ArchOptions{Depth: dw[0], Width: dw[1]})
		b.Run(fmt.Sprintf("d%d_w%d", dw[0], dw[1]), func(b *testing.B) {
			w := net.NewWorker()
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float64, 200)
			gA := make([]float64, net.ParamCount())
			gC := make([]float64, net.ParamCount())
			for b.Loop() {
				w.Sample(rng, x)
				w.Backward(1, gA, 1, gC)
			}
		})
	}
}
