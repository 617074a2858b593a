package model

import (
	"context"
	"fmt"
	"math"
	"math/bits"

	"github.com/h2arnn/h2arnn/internal/par"
)

// Stats are the per-spin figures of one batch at inverse temperature β
// (SPEC §4), with L_b = ln q(x_b) + β H(x_b):
//
//	F    = mean_b L_b / (βN)         variational free energy per spin
//	FStd = std_b L_b / (βN)          population std (divides by B, not B-1)
//	E    = mean_b H(x_b) / N         energy per spin
//	EMin = min_b H(x_b) / N          lowest energy per spin in the batch
//	S    = -mean_b ln q(x_b) / N     entropy per spin (nats)
//	MAbs = mean_b |Σ_i x_{b,i}| / N  absolute magnetisation per spin
//
// At β = 0, F and FStd are ±Inf or NaN (division by zero), as the
// definition gives. The JSON names are those of every file and result line
// the command writes.
type Stats struct {
	F    float64 `json:"f"`
	FStd float64 `json:"f_std"`
	E    float64 `json:"e"`
	EMin float64 `json:"e_min"`
	S    float64 `json:"s"`
	MAbs float64 `json:"m_abs"`
}

// BatchStats returns the Stats of bt at β (a StatsAccumulator given the
// whole batch). An empty batch gives NaN in every field.
func BatchStats(bt *Batch, beta float64) Stats {
	if bt == nil || bt.B <= 0 || bt.N <= 0 {
		return NewStatsAccumulator(beta, 1).Stats()
	}
	a := NewStatsAccumulator(beta, bt.N)
	a.Add(bt.X, bt.LogQ, bt.Energy)
	return a.Stats()
}

// StatsAccumulator forms the Stats of samples given in parts — a batch
// drawn chunk by chunk — without keeping them: the Stats of the parts
// added so far are those of one batch holding them all, in the order
// added. Means are compensated sums; the std is taken about the first
// sample's L (a shift that keeps the one-pass sums free of cancellation:
// an exact net, whose L_b all equal -ln Z, reports a std at rounding level,
// not the rounding error of E[L²] - E[L]²). Magnetisations are summed as
// integers, exactly.
type StatsAccumulator struct {
	beta     float64
	n        int
	count    int
	shift    float64 // L of the first sample
	l, d, d2 neumaier
	e, q     neumaier
	emin     float64
	mSum     int64
}

// NewStatsAccumulator starts the statistics at β of samples of n spins.
func NewStatsAccumulator(beta float64, n int) *StatsAccumulator {
	return &StatsAccumulator{beta: beta, n: n, emin: math.Inf(1)}
}

// Add adds m = len(logq) samples: x holds their m·N spins (±1, row-major),
// logq and energy their ln q and total energies H. It panics if the
// lengths do not match.
func (a *StatsAccumulator) Add(x []int8, logq, energy []float64) {
	m := len(logq)
	if len(energy) != m || len(x) != m*a.n {
		panic(fmt.Sprintf("model: StatsAccumulator.Add: %d spins and %d energies for %d samples of N = %d", len(x), len(energy), m, a.n))
	}
	for b := range m {
		l := logq[b] + a.beta*energy[b]
		if a.count == 0 && b == 0 {
			a.shift = l
		}
		a.l.add(l)
		d := l - a.shift
		a.d.add(d)
		a.d2.add(d * d)
		a.e.add(energy[b])
		a.q.add(logq[b])
		a.emin = math.Min(a.emin, energy[b])
		M := 0
		for _, v := range x[b*a.n : (b+1)*a.n] {
			M += int(v)
		}
		if M < 0 {
			M = -M
		}
		a.mSum += int64(M)
	}
	a.count += m
}

// Count returns the number of samples added.
func (a *StatsAccumulator) Count() int { return a.count }

// Stats returns the statistics of the samples added so far (NaN in every
// field before any).
func (a *StatsAccumulator) Stats() Stats {
	if a.count == 0 {
		nan := math.NaN()
		return Stats{nan, nan, nan, nan, nan, nan}
	}
	bf, nf, beta := float64(a.count), float64(a.n), a.beta
	md := a.d.value() / bf
	v := math.Max(a.d2.value()/bf-md*md, 0)
	return Stats{
		F:    a.l.value() / bf / (beta * nf),
		FStd: math.Sqrt(v) / (beta * nf),
		E:    a.e.value() / bf / nf,
		EMin: a.emin / nf,
		S:    -a.q.value() / bf / nf,
		MAbs: float64(a.mSum) / bf / nf,
	}
}

// MeanStats averages several Stats field by field (used for "the mean over
// the last 20 batches"): every field is the arithmetic mean, except EMin,
// which is the minimum. FStd is therefore the mean of the per-batch stds.
// An empty slice gives NaN in every field.
func MeanStats(s []Stats) Stats {
	if len(s) == 0 {
		nan := math.NaN()
		return Stats{nan, nan, nan, nan, nan, nan}
	}
	var f, fs, e, sv, m neumaier
	emin := math.Inf(1)
	for _, x := range s {
		f.add(x.F)
		fs.add(x.FStd)
		e.add(x.E)
		sv.add(x.S)
		m.add(x.MAbs)
		emin = math.Min(emin, x.EMin)
	}
	k := float64(len(s))
	return Stats{F: f.value() / k, FStd: fs.value() / k, E: e.value() / k, EMin: emin, S: sv.value() / k, MAbs: m.value() / k}
}

// overlapRowBlock is the number of first-sample rows a worker claims at a
// time: small enough to balance the triangular workload, large enough that
// claiming costs nothing.
const overlapRowBlock = 16

// Overlaps returns the overlap distribution P(q) of bt as a density
// histogram on [-1, 1]: bins equal bins of width 2/bins, element j counting
// the pairs with -1 + j·w ≤ q < -1 + (j+1)·w (q = 1 goes in the last bin),
// normalised so that Σ_j density_j · w = 1. The overlaps are
// q_ab = (1/N) Σ_i x^a_i x^b_i over all B(B-1)/2 distinct pairs a < b.
//
// Spins are packed into 64-bit words (bit set ⇔ x = +1), so a pair costs
// ⌈N/64⌉ XORs and popcounts: with d differing spins, q = 1 - 2d/N, and the
// bin is the exact integer ⌊(N-d)·bins/N⌋, free of floating-point boundary
// effects. The pairs are shared among workers goroutines (≤ 0 means
// GOMAXPROCS), each counting into its own integer histogram over d; integer
// sums make the result identical for any worker count.
//
// bins < 1 gives nil; a batch with fewer than two samples (no pairs) gives a
// histogram of NaN.
func Overlaps(bt *Batch, bins int, workers int) []float64 {
	h, _ := OverlapsContext(context.Background(), bt, bins, workers)
	return h
}

// OverlapsContext is Overlaps that stops with ctx's error (and a nil
// histogram) once ctx is done.
func OverlapsContext(ctx context.Context, bt *Batch, bins int, workers int) ([]float64, error) {
	out, ok := overlapHistogram(bt, bins)
	if !ok {
		return out, nil
	}
	c, err := OverlapCountsContext(ctx, bt, workers)
	if err != nil {
		return nil, err
	}
	return OverlapDensity(c, bins), nil
}

// OverlapCounts returns the distribution of the overlaps of bt: element d
// (0 ≤ d ≤ N) counts the pairs of distinct samples a < b whose
// configurations differ in d spins, i.e. have q_ab = 1 - 2d/N. Up to
// MaxOverlapPairs pairs (about 23,000 samples) it counts every pair;
// beyond, the deterministic subsample of overlapOffsets. It is the integer
// histogram Overlaps bins, and identical for any workers; nil for fewer
// than two samples.
func OverlapCounts(bt *Batch, workers int) []int64 {
	c, _ := OverlapCountsContext(context.Background(), bt, workers)
	return c
}

// OverlapCountsContext is OverlapCounts that stops with ctx's error (and
// nil counts) once ctx is done; it looks at ctx every overlapRowBlock
// samples.
func OverlapCountsContext(ctx context.Context, bt *Batch, workers int) ([]int64, error) {
	if bt == nil || bt.B < 2 || bt.N < 1 {
		return nil, nil
	}
	n, nb := bt.N, bt.B
	packed, nw := packSpins(bt)
	offsets := overlapOffsets(nb)
	counts := make([][]int64, par.Workers(workers))
	par.For(workers, rowBlocks(nb), func(slot, blk int) {
		if ctx.Err() != nil {
			return
		}
		if counts[slot] == nil {
			counts[slot] = make([]int64, n+1)
		}
		for a := blk * overlapRowBlock; a < min((blk+1)*overlapRowBlock, nb-1); a++ {
			if offsets == nil {
				overlapRow(counts[slot], packed, nw, a, nb)
				continue
			}
			ra := packed[a*nw : (a+1)*nw]
			for _, d := range offsets {
				b := (a + d) % nb
				counts[slot][distance(ra, packed[b*nw:(b+1)*nw])]++
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	total := make([]int64, n+1)
	for _, c := range counts {
		for d, v := range c { // nil for a worker that got no block
			total[d] += v
		}
	}
	return total, nil
}

// MaxOverlapPairs bounds the pairs of samples the overlap histograms
// (OverlapCounts, Overlaps, WeightedOverlaps) visit. The B(B-1)/2 pairs of
// B samples exceed it from B = 23,171 on; then each sample a < B-1 is paired
// with the K = ⌊MaxOverlapPairs/B⌋ samples (a + d_j) mod B at offsets d_j
// spread evenly over [1, ⌊(B-1)/2⌋] (overlapOffsets): about
// MaxOverlapPairs distinct pairs in all, every sample in about 2K of them,
// the same pairs for any worker count. Samples drawn independently (every
// net's) make every pair an equally good draw of q, so the subsample
// estimates the same P(q); its sampling error is that of about
// MaxOverlapPairs pairs plus the samples' own.
const MaxOverlapPairs = 1 << 28

// overlapPairCap is MaxOverlapPairs, a variable so that tests can compare
// a subsample with the full count at small sizes.
var overlapPairCap = MaxOverlapPairs

// overlapOffsets returns the partner offsets of the subsample of pairs of
// nb samples (see MaxOverlapPairs), or nil when every pair is counted.
func overlapOffsets(nb int) []int {
	if float64(nb)*float64(nb-1)/2 <= float64(overlapPairCap) {
		return nil
	}
	half := (nb - 1) / 2 // offsets ≤ half never name one pair twice
	k := min(max(overlapPairCap/nb, 1), half)
	offsets := make([]int, k)
	for j := range offsets {
		offsets[j] = 1
		if k > 1 {
			offsets[j] = 1 + j*(half-1)/(k-1)
		}
	}
	return offsets
}

// OverlapDensity bins an exact overlap distribution (OverlapCounts, of
// N+1 counts) into the density histogram Overlaps returns. Without pairs
// (nil or all-zero counts) the histogram is NaN; bins < 1 gives nil.
func OverlapDensity(counts []int64, bins int) []float64 {
	if bins < 1 {
		return nil
	}
	out := make([]float64, bins)
	n := len(counts) - 1
	var pairs int64
	for _, v := range counts {
		pairs += v
	}
	if n < 1 || pairs == 0 {
		for j := range out {
			out[j] = math.NaN()
		}
		return out
	}
	for d, v := range counts {
		out[overlapBin(d, n, bins)] += float64(v)
	}
	// density = count / (pairs · width), width = 2/bins.
	norm := float64(bins) / (2 * float64(pairs))
	for j := range out {
		out[j] *= norm
	}
	return out
}

// overlapRow adds to cnt[d] the pairs (a, b), b > a, whose configurations
// differ in d spins.
func overlapRow(cnt []int64, packed []uint64, nw, a, nb int) {
	ra := packed[a*nw : (a+1)*nw]
	switch nw {
	case 1:
		x0 := ra[0]
		for _, y := range packed[a+1 : nb] {
			cnt[bits.OnesCount64(x0^y)]++
		}
	case 2:
		x0, x1 := ra[0], ra[1]
		rest := packed[(a+1)*2 : nb*2]
		for k := 0; k+1 < len(rest); k += 2 {
			cnt[bits.OnesCount64(x0^rest[k])+bits.OnesCount64(x1^rest[k+1])]++
		}
	case 4:
		x0, x1, x2, x3 := ra[0], ra[1], ra[2], ra[3]
		rest := packed[(a+1)*4 : nb*4]
		for k := 0; k+3 < len(rest); k += 4 {
			cnt[bits.OnesCount64(x0^rest[k])+bits.OnesCount64(x1^rest[k+1])+
				bits.OnesCount64(x2^rest[k+2])+bits.OnesCount64(x3^rest[k+3])]++
		}
	default:
		for b := a + 1; b < nb; b++ {
			cnt[distance(ra, packed[b*nw:(b+1)*nw])]++
		}
	}
}

// distance returns the number of spins in which two packed configurations
// differ.
func distance(ra, rb []uint64) int {
	d := 0
	for k, v := range ra {
		d += bits.OnesCount64(v ^ rb[k])
	}
	return d
}

// overlapHistogram returns the zeroed histogram of bins bins and true, or,
// when there is nothing to count, the answer of Overlaps and false: nil for
// bins < 1, all NaN for a batch without pairs.
func overlapHistogram(bt *Batch, bins int) ([]float64, bool) {
	if bins < 1 {
		return nil, false
	}
	out := make([]float64, bins)
	if bt == nil || bt.B < 2 || bt.N < 1 {
		for j := range out {
			out[j] = math.NaN()
		}
		return out, false
	}
	return out, true
}

// overlapBin is the bin of a pair differing in d of n spins: q = 1 - 2d/n
// falls in bin ⌊(n-d)·bins/n⌋, with q = 1 in the last bin.
func overlapBin(d, n, bins int) int {
	return min((n-d)*bins/n, bins-1)
}

// packSpins packs the spins of every sample of bt into nw = ⌈N/64⌉ words
// (bit set ⇔ x = +1): sample b occupies packed[b*nw : (b+1)*nw].
func packSpins(bt *Batch) (packed []uint64, nw int) {
	n, nb := bt.N, bt.B
	nw = (n + 63) / 64
	packed = make([]uint64, nb*nw)
	for b := range nb {
		row := bt.X[b*n : (b+1)*n]
		words := packed[b*nw : (b+1)*nw]
		for i, v := range row {
			if v > 0 {
				words[i>>6] |= 1 << (i & 63)
			}
		}
	}
	return packed, nw
}

// rowBlocks is the number of overlapRowBlock-row blocks of the first
// samples a of the pairs (a, b > a) of nb samples: rows 0..nb-2.
func rowBlocks(nb int) int { return (nb - 1 + overlapRowBlock - 1) / overlapRowBlock }

// WeightedOverlaps is Overlaps with every pair (a, b) counted with weight
// weights[a]·weights[b] (one finite weight ≥ 0 per sample) instead of 1,
// over the same pairs (all, or MaxOverlapPairs' subsample):
// with importance weights w_b ∝ P(x_b)/q(x_b) of samples drawn from q it
// estimates P(q) under P. The density is normalised by the total weight of
// the pairs; if that is 0 (at most one sample has weight) every bin is NaN.
// Nil weights give Overlaps.
//
// Float sums depend on their order, so each block of overlapRowBlock first
// rows accumulates its own histogram (sums over b in index order, scaled by
// weights[a] row by row), and the blocks are added in block order: the
// result is the same for any worker count.
func WeightedOverlaps(bt *Batch, weights []float64, bins, workers int) []float64 {
	if weights == nil {
		return Overlaps(bt, bins, workers)
	}
	out, ok := overlapHistogram(bt, bins)
	if !ok {
		return out
	}
	n, nb := bt.N, bt.B
	if len(weights) != nb {
		panic(fmt.Sprintf("model: WeightedOverlaps: %d weights for %d samples", len(weights), nb))
	}
	packed, nw := packSpins(bt)
	offsets := overlapOffsets(nb)
	hist := make([][]float64, rowBlocks(nb))
	rows := make([][]float64, par.Workers(workers)) // per-goroutine Σ_b w_b by distance
	par.For(workers, rowBlocks(nb), func(w, blk int) {
		if rows[w] == nil {
			rows[w] = make([]float64, n+1)
		}
		acc, h := rows[w], make([]float64, bins)
		for a := blk * overlapRowBlock; a < min((blk+1)*overlapRowBlock, nb-1); a++ {
			ra := packed[a*nw : (a+1)*nw]
			if offsets == nil {
				for b := a + 1; b < nb; b++ {
					acc[distance(ra, packed[b*nw:(b+1)*nw])] += weights[b]
				}
			}
			for _, d := range offsets {
				b := (a + d) % nb
				acc[distance(ra, packed[b*nw:(b+1)*nw])] += weights[b]
			}
			for d, v := range acc {
				h[overlapBin(d, n, bins)] += weights[a] * v
				acc[d] = 0
			}
		}
		hist[blk] = h
	})
	total := 0.0
	for _, h := range hist {
		for j, v := range h {
			out[j] += v
			total += v
		}
	}
	norm := float64(bins) / (2 * total)
	if !(total > 0) {
		norm = math.NaN()
	}
	for j := range out {
		out[j] *= norm
	}
	return out
}

// OverlapAsymmetry returns how far the overlap distribution with counts
// (OverlapCounts: count[d] pairs at q = 1 - 2d/N) is from the symmetry
// P(q) = P(-q) that every model without fields has: the total variation
// distance ½ Σ_d |c_d - c_{N-d}| / Σ_d c_d between the distribution and its
// mirror image, 0 when symmetric and 1 when all the weight is on one side.
// Samples that stay in one of two valleys related by x → -x (chains that
// have not equilibrated) give a value well above the sampling noise. It is
// NaN without pairs.
func OverlapAsymmetry(counts []int64) float64 {
	var total, diff int64
	for d, c := range counts {
		total += c
		diff += max(c-counts[len(counts)-1-d], counts[len(counts)-1-d]-c)
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(diff) / 2 / float64(total)
}
