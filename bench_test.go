package h2arnn

// Kernel benchmarks, one sub-benchmark per kernel set ("generic", "avx2").
// Compare sets with
//
//	go test -run XXX -bench 'Kernel|Chain|FMAPeak' -count 6 . > bench.txt
//	benchstat -col /set bench.txt
//
// Metrics: elem/ns (elements per nanosecond) for the vector kernels;
// GFLOP/s for the FMA peak; lnσ node/ns for the chain, and for its forward
// pass also GFLOP/s at the flop count the generator counted in the set's
// kernel (LnSigmoidFlops), to set against the FMA peak.

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/internal/cputime"
)

// forEachSetB runs f as a sub-benchmark per available kernel set, restoring
// the active set afterwards.
func forEachSetB(b *testing.B, f func(b *testing.B)) {
	old := active.Load()
	defer active.Store(old)
	for _, s := range available {
		active.Store(s)
		b.Run("set="+s.name, f)
	}
}

// cpuTimer measures the process's CPU time over a benchmark's loop (see
// cputime.Process): start it just before the loop, report just after. On a
// machine whose cores are shared with other work, the wall clock counts the
// time the benchmark waited for a core, the CPU time does not.
type cpuTimer time.Duration

func startCPU() cpuTimer { return cpuTimer(cputime.Process()) }

// report adds the metric "cpu-ns/op" (or, with per set, CPU seconds per
// that unit) when the OS reports CPU time.
func (c cpuTimer) report(b *testing.B, scale float64, unit string) {
	if c < 0 {
		return
	}
	b.ReportMetric((cputime.Process()-time.Duration(c)).Seconds()*scale/float64(b.N), unit)
}

func benchInput(n int, scale float64) []float64 {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * scale
	}
	return x
}

func BenchmarkKernel(b *testing.B) {
	type kernel struct {
		name string
		run  func(dst, x, y []float64)
	}
	kernels := []kernel{
		{"Exp", func(dst, x, _ []float64) { Exp(dst, x) }},
		{"Log1p", func(dst, x, _ []float64) { Log1p(dst, x) }},
		{"LogSigmoid", func(dst, x, _ []float64) { LogSigmoid(dst, x) }},
		{"Sigmoid", func(dst, x, _ []float64) { Sigmoid(dst, x) }},
		{"LogSumExp", func(dst, x, _ []float64) { dst[0] = LogSumExp(x) }},
		{"LogSumExpAffine", func(dst, x, y []float64) { dst[0] = LogSumExpAffine(x, y, 0.5) }},
		{"Axpy", func(dst, x, _ []float64) { Axpy(1e-9, x, dst) }},
		{"Dot", func(dst, x, y []float64) { dst[0] = Dot(x, y) }},
	}
	for _, k := range kernels {
		b.Run(k.name, func(b *testing.B) {
			for _, n := range []int{16, 199, 4096} {
				x, y := benchInput(n, 3), benchInput(n+1, 1)[:n]
				dst := make([]float64, n)
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					forEachSetB(b, func(b *testing.B) {
						cpu := startCPU()
						for b.Loop() {
							k.run(dst, x, y)
						}
						cpu.report(b, 1e9, "cpu-ns/op")
						b.ReportMetric(float64(n)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "elem/ns")
					})
				})
			}
		})
	}
}

// BenchmarkFMAPeak measures the float64 FMA peak of one core with 12
// independent VFMADD231PD chains, on YMM registers (avx2) and ZMM (avx512).
func BenchmarkFMAPeak(b *testing.B) {
	const iters = 1 << 16
	ran := false
	for _, s := range available {
		if s.peak == nil {
			continue
		}
		ran = true
		b.Run("set="+s.name, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				s.peak(iters)
			}
			cpu.report(b, 1e9, "cpu-ns/op")
			b.ReportMetric(float64(s.peakFlops*iters*b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
		})
	}
	if !ran {
		b.Skip("no FMA-peak assembly loop in this build/CPU")
	}
}

// chainBench is the state of a k-layer chain over R spins: parameters,
// activations and both gradient accumulators.
type chainBench struct {
	k, r               int
	f, w, bias, act    []float64
	gwA, gbA, gwC, gbC []float64
}

func newChainBench(k, r int) *chainBench {
	c := &chainBench{k: k, r: r}
	c.f = benchInput(r, 2)
	c.w = benchInput((k+2)*r, 1)
	c.bias = benchInput((k+1)*r, 1)
	c.act = make([]float64, 2*(k+1)*r)
	c.gwA, c.gbA = make([]float64, (k+2)*r), make([]float64, (k+1)*r)
	c.gwC, c.gbC = make([]float64, (k+2)*r), make([]float64, (k+1)*r)
	return c
}

// step is one forward and one backward of the chain with both accumulators,
// as in a training step.
func (c *chainBench) step() float64 {
	s := ChainForward(c.k, c.f, c.w, c.bias, c.act)
	ChainBackward(c.k, c.f, c.w, c.act, 0.25, 1e-3, -1e-3, c.gwA, c.gbA, c.gwC, c.gbC, nil)
	return s
}

var benchSink float64

// BenchmarkChain: ChainForward+ChainBackward with k = 2 over one row of
// R = 199, and over a whole N = 200 sample (rows R = 199..0, two signs each:
// 2·3·19900 = 119400 lnσ nodes), reporting node/ns; the forward and the
// backward alone over R = 200.
func BenchmarkChain(b *testing.B) {
	const k = 2
	b.Run("row_R=199", func(b *testing.B) {
		c := newChainBench(k, 199)
		nodes := (k + 1) * 199
		forEachSetB(b, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				benchSink += c.step()
			}
			cpu.report(b, 1e9, "cpu-ns/op")
			b.ReportMetric(float64(nodes*b.N)/float64(b.Elapsed().Nanoseconds()), "node/ns")
		})
	})
	// forward and backward separately, R = 200 (no tail)
	b.Run("fwd_R=200", func(b *testing.B) {
		c := newChainBench(k, 200)
		forEachSetB(b, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				benchSink += ChainForward(c.k, c.f, c.w, c.bias, c.act)
			}
			cpu.report(b, 1e9, "cpu-ns/op")
			nodesPerNs := float64((k+1)*200*b.N) / float64(b.Elapsed().Nanoseconds())
			b.ReportMetric(nodesPerNs, "node/ns")
			if f := LnSigmoidFlops(); f > 0 {
				b.ReportMetric(nodesPerNs*float64(f), "GFLOP/s")
			}
		})
	})
	b.Run("bwd_R=200", func(b *testing.B) {
		c := newChainBench(k, 200)
		c.step()
		forEachSetB(b, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				ChainBackward(c.k, c.f, c.w, c.act, 0.25, 1e-3, -1e-3, c.gwA, c.gbA, c.gwC, c.gbC, nil)
			}
			cpu.report(b, 1e9, "cpu-ns/op")
			b.ReportMetric(float64((k+1)*200*b.N)/float64(b.Elapsed().Nanoseconds()), "node/ns")
		})
	})
	b.Run("sample_N=200", func(b *testing.B) {
		const n = 200
		var rows []*chainBench
		nodes := 0
		for i := 0; i < n; i++ {
			for sign := 0; sign < 2; sign++ {
				rows = append(rows, newChainBench(k, n-1-i))
				nodes += (k + 1) * (n - 1 - i)
			}
		}
		forEachSetB(b, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				for _, c := range rows {
					benchSink += c.step()
				}
			}
			cpu.report(b, 1e9, "cpu-ns/op")
			b.ReportMetric(float64(nodes*b.N)/float64(b.Elapsed().Nanoseconds()), "node/ns")
		})
	})
}
