package model

import (
	"github.com/h2arnn/h2arnn"
)

// MADE is the made architecture of depth d and width w (SPEC §3): d masked
// dense layers over N spins, each hidden layer holding w channels per spin
// (w·N units); unit (i, c) of every layer has degree i.
//
//	layer 0 (exclusive, 1 → w):  h⁰_ic = b_ic + Σ_{s<i} W_ic,s x_s
//	layers 1..d-2 (inclusive, w → w): hᵏ_ic = b_ic + Σ_{i'≤i, c'} W_ic,i'c' PReLU_{k-1}(hᵏ⁻¹_i'c')
//	layer d-1 (inclusive, w → 1): z_i = b_i + Σ_{i'≤i, c'} W_i,i'c' PReLU_{d-2}(h^{d-2}_i'c')
//	q_i = σ(z_i)
//
// Depth 1 is the single exclusive layer 1 → 1, i.e. the 1l network (the
// width is then unused). PReLU(h) = h for h > 0 and α h otherwise, with one
// learnable slope α per activation layer (PyTorch's nn.PReLU default),
// initialised to 0.5.
//
// Parameters (Params) are stored without masked entries. Layer after
// layer, the weight rows of the units (i, c) in order i·out + c, each row
// holding exactly its unmasked inputs, which are a prefix of the layer
// input in unit order (inputs s < i for the exclusive layer, i.e. i
// numbers; inputs of degree ≤ i for inclusive layers, i.e. (i+1)·in
// numbers); then the layer's out·N biases in unit order. The d-1 PReLU
// slopes come last. ParamCount counts all of them.
//
// Initialisation (SPEC §3): PyTorch's default dense layer, U(±1/√fan_in)
// with fan_in = in·N, for weights and biases, the weights scaled by
// √(#entries / #unmasked entries) of their layer.
//
// Sampling is incremental: at step i only the units of degree i of every
// layer are computed (they need x_<i and units of degree ≤ i below), so a
// sample costs about d w² N²/2 multiply-adds, the cost of one forward pass.
type MADE struct {
	trainable
	depth, width int
	layers       []madeLayer
	// slope0 is the index in p of the first PReLU slope; activation layer k
	// (after dense layer k) uses p[slope0+k].
	slope0 int
	maxOut int
}

// madeLayer describes one masked dense layer and where its parameters sit.
type madeLayer struct {
	in, out   int // channels per spin of input and output
	exclusive bool
	// wOff[u] is the offset in p of the weight row of output unit u = i·out+c.
	wOff []int
	bOff int
}

// rowLen is the number of unmasked inputs of an output unit of degree i.
func (ly *madeLayer) rowLen(i int) int {
	if ly.exclusive {
		return i * ly.in
	}
	return (i + 1) * ly.in
}

func init() {
	registerArch("made", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewMADE(m, o) })
}

// maxMADEParams bounds the parameter count so that an impossible request
// fails with an error instead of an allocation failure.
const maxMADEParams = 1 << 30

// NewMADE builds made of depth o.Depth (≥ 1) and width o.Width (≥ 1 when
// the depth is at least 2) for model m, initialised from o.Seed.
func NewMADE(m *Hamiltonian, o ArchOptions) (*MADE, error) {
	if err := checkNetModel("made", m); err != nil {
		return nil, err
	}
	if o.Depth < 1 {
		return nil, argErr("made", "Depth", o.Depth, "the number of masked layers must be at least 1")
	}
	if o.Depth >= 2 && o.Width < 1 {
		return nil, argErr("made", "Width", o.Width, "the channels per spin must be at least 1 for depth %d", o.Depth)
	}
	n, d := m.N, o.Depth
	opts := ArchOptions{Depth: d, Width: o.Width, Seed: o.Seed, Beta: o.Beta}
	net := &MADE{trainable: trainable{m: m, opts: opts, beta: o.Beta}, depth: d, width: o.Width, maxOut: 1}
	if d == 1 {
		net.layers = []madeLayer{{in: 1, out: 1, exclusive: true}}
	} else {
		net.layers = append(net.layers, madeLayer{in: 1, out: o.Width, exclusive: true})
		for range d - 2 {
			net.layers = append(net.layers, madeLayer{in: o.Width, out: o.Width})
		}
		net.layers = append(net.layers, madeLayer{in: o.Width, out: 1})
		net.maxOut = o.Width
	}
	// Lay the parameters out and count them before allocating.
	total := 0
	for k := range net.layers {
		ly := &net.layers[k]
		if float64(ly.out)*float64(n)*float64(ly.in)*float64(n) > 2*maxMADEParams {
			return nil, argErr("made", "Width", o.Width, "depth %d, width %d at N = %d needs more than %d parameters; use a smaller width or depth", d, o.Width, n, maxMADEParams)
		}
		ly.wOff = make([]int, ly.out*n)
		for i := range n {
			for c := range ly.out {
				ly.wOff[i*ly.out+c] = total
				total += ly.rowLen(i)
			}
		}
		ly.bOff = total
		total += ly.out * n
		if total > maxMADEParams {
			return nil, argErr("made", "Width", o.Width, "depth %d, width %d at N = %d needs more than %d parameters; use a smaller width or depth", d, o.Width, n, maxMADEParams)
		}
	}
	net.slope0 = total
	total += d - 1
	net.p = make([]float64, total)
	rng := newInitRNG(o.Seed)
	for k := range net.layers {
		ly := &net.layers[k]
		unmasked := ly.bOff - ly.wOff[0]
		wb, bb := maskedInitBounds(ly.in*n, ly.out*n, unmasked)
		uniformFill(rng, net.p[ly.wOff[0]:ly.bOff], wb)
		uniformFill(rng, net.p[ly.bOff:ly.bOff+ly.out*n], bb)
	}
	for k := range d - 1 {
		net.p[net.slope0+k] = 0.5
	}
	return net, nil
}

// Arch returns "made".
func (net *MADE) Arch() string { return "made" }

// Depth returns the number of masked dense layers.
func (net *MADE) Depth() int { return net.depth }

// Width returns the channels per spin of the hidden layers.
func (net *MADE) Width() int { return net.width }

// WeightRow returns the unmasked weights of unit (i, c) of dense layer k
// (a view into Params): entry j multiplies input unit j of the layer, in
// the input's unit order (spin s = j for layer 0, unit (j / w, j % w)
// otherwise).
func (net *MADE) WeightRow(k, i, c int) []float64 {
	ly := &net.layers[k]
	o := ly.wOff[i*ly.out+c]
	return net.p[o : o+ly.rowLen(i)]
}

// BiasIndex returns the index in Params of the bias of unit (i, c) of
// dense layer k.
func (net *MADE) BiasIndex(k, i, c int) int {
	ly := &net.layers[k]
	return ly.bOff + i*ly.out + c
}

// SlopeIndex returns the index in Params of the PReLU slope applied to the
// output of dense layer k (k = 0..Depth-2).
func (net *MADE) SlopeIndex(k int) int { return net.slope0 + k }

// Clone returns a copy of the net with its own parameters.
func (net *MADE) Clone() Net {
	c := *net
	c.trainable = net.clone()
	return &c
}

// NewWorker returns per-goroutine scratch: for one sample, every layer's
// pre-activations and every hidden activation, O(d w N) numbers.
func (net *MADE) NewWorker() Worker {
	n, d := net.m.N, net.depth
	w := &madeWorker{net: net, x: make([]float64, n),
		pre: make([][]float64, d), act: make([][]float64, d-1),
		dOut: make([]float64, n*net.maxOut), dIn: make([]float64, n*net.maxOut)}
	for k := range net.layers {
		w.pre[k] = make([]float64, n*net.layers[k].out)
		if k < d-1 {
			w.act[k] = make([]float64, n*net.layers[k].out)
		}
	}
	w.baselineWorker = baselineWorker{c: w, et: newEnergyTracker(net.m)}
	return w
}

type madeWorker struct {
	baselineWorker
	net *MADE
	// x is the last sample; pre[k] the pre-activations of dense layer k
	// (pre[d-1] holds the logits z_i); act[k] = PReLU_k(pre[k]).
	x   []float64
	pre [][]float64
	act [][]float64
	// dOut and dIn are backward scratch: ∂ln q/∂(layer output) and
	// ∂ln q/∂(layer input).
	dOut, dIn []float64
}

func (w *madeWorker) begin() {}

// logit computes the units of degree i of every layer (they need x_<i and
// the units of degree ≤ i below) and returns z_i.
func (w *madeWorker) logit(i int) float64 {
	net := w.net
	p := net.p
	last := len(net.layers) - 1
	for k := range net.layers {
		ly := &net.layers[k]
		in := w.x
		if k > 0 {
			in = w.act[k-1]
		}
		L := ly.rowLen(i)
		in = in[:L]
		pre := w.pre[k]
		for c := range ly.out {
			u := i*ly.out + c
			o := ly.wOff[u]
			pre[u] = p[ly.bOff+u] + h2arnn.Dot(p[o:o+L], in)
		}
		if k < last {
			a := p[net.slope0+k]
			act := w.act[k]
			for u := i * ly.out; u < (i+1)*ly.out; u++ {
				if h := pre[u]; h > 0 {
					act[u] = h
				} else {
					act[u] = a * h
				}
			}
		}
	}
	return w.pre[last][i]
}

func (w *madeWorker) fix(i int, xi, z float64) { w.x[i] = xi }

// Backward back-propagates ln q(x) of the last sample layer by layer from
// the logits down, adding c·∂ln q/∂θ into each accumulator. The error
// signal is propagated once; only the parameter updates are done twice.
func (w *madeWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	net := w.net
	p := net.p
	n := net.m.N
	last := len(net.layers) - 1
	dOut, dIn := w.dOut, w.dIn
	z := w.pre[last]
	for i := range n {
		dOut[i] = dLogProb(w.x[i], z[i])
	}
	for k := last; k >= 0; k-- {
		ly := &net.layers[k]
		in := w.x
		if k > 0 {
			in = w.act[k-1]
			clear(dIn[:n*ly.in])
		}
		for i := range n {
			L := ly.rowLen(i)
			for c := range ly.out {
				u := i*ly.out + c
				d := dOut[u]
				if d == 0 {
					continue
				}
				o := ly.wOff[u]
				gA[ly.bOff+u] += cA * d
				h2arnn.Axpy(cA*d, in[:L], gA[o:o+L])
				if gC != nil {
					gC[ly.bOff+u] += cC * d
					h2arnn.Axpy(cC*d, in[:L], gC[o:o+L])
				}
				if k > 0 {
					h2arnn.Axpy(d, p[o:o+L], dIn[:L])
				}
			}
		}
		if k == 0 {
			break
		}
		// Through PReLU_{k-1}: ∂a/∂h = 1 (h > 0) or α, ∂a/∂α = h (h ≤ 0).
		si := net.slope0 + k - 1
		a := p[si]
		pre := w.pre[k-1]
		ga := 0.0
		for v, h := range pre {
			if h <= 0 {
				ga += dIn[v] * h
				dIn[v] *= a
			}
		}
		gA[si] += cA * ga
		if gC != nil {
			gC[si] += cC * ga
		}
		dOut, dIn = dIn, dOut
	}
}
