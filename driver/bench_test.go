package driver

import (
	"bytes"
	"encoding/json"
	"math"
	"runtime"
	"testing"

	"github.com/h2arnn/h2arnn"
)

func TestBenchReportsEveryField(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-model", "sk", "-n", "12", "-k", "1", "-batch", "16", "-steps", "1", "-workers", "2"},
		{"bench", "-model", "sk", "-n", "12", "-arch", "sk_2rsb", "-batch", "16", "-steps", "1"},
		{"bench", "-model", "cw", "-n", "12", "-arch", "cw_n", "-batch", "16", "-steps", "1"},
	} {
		var out, errb bytes.Buffer
		if st := run(args, &out, &errb); st != 0 {
			t.Fatalf("%v: status %d, stderr %q", args, st, errb.String())
		}
		var r map[string]any
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%v: output %q is not one JSON object: %v", args, out.String(), err)
		}
		for _, k := range []string{"arch", "n", "k", "batch", "kernels", "sec_per_step", "samples_per_sec", "peak_rss_mb"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v: field %q missing in %s", args, k, out.String())
			}
		}
		if r["samples_per_sec"].(float64) <= 0 {
			t.Errorf("%v: samples_per_sec %v", args, r["samples_per_sec"])
		}
		trainable := args[2] != "cw"
		if sps := r["sec_per_step"].(float64); trainable != (sps > 0) {
			t.Errorf("%v: sec_per_step %v", args, sps)
		}
		if g, _ := r["gradient"].(string); trainable != (g == "one-pass" || g == "two-pass") {
			t.Errorf("%v: gradient %q", args, g)
		}
		if trainable {
			for _, f := range []string{"lnsig_nodes_per_ns_per_core", "fma_peak_gflops_per_core", "fma_peak_fraction"} {
				v, _ := r[f].(float64)
				if v <= 0 && (f == "lnsig_nodes_per_ns_per_core" || h2arnn.Kernels() != "generic") {
					t.Errorf("%v: %s = %v", args, f, r[f])
				}
			}
			// the fraction is the node rate at the kernel's flop count over the peak
			if p, _ := r["fma_peak_gflops_per_core"].(float64); p > 0 {
				want := r["lnsig_nodes_per_ns_per_core"].(float64) * float64(h2arnn.LnSigmoidFlops()) / p
				if got := r["fma_peak_fraction"].(float64); math.Abs(got-want) > 1e-9*want {
					t.Errorf("%v: fma_peak_fraction %v, want %v", args, got, want)
				}
			}
			// lnσ nodes: (k+1)·N·(N-1) per sample, over the cores used
			nodes := (r["k"].(float64) + 1) * 12 * 11
			cores := math.Min(float64(runtime.NumCPU()), r["workers"].(float64))
			if got, want := r["lnsig_nodes_per_ns_per_core"].(float64), r["samples_per_sec"].(float64)*nodes/1e9/cores; math.Abs(got-want) > 1e-9*want {
				t.Errorf("%v: lnsig_nodes_per_ns_per_core %v, want %v", args, got, want)
			}
		} else if _, ok := r["fma_peak_fraction"]; ok {
			t.Errorf("%v: a machine-standing field for a net without lnσ chains: %s", args, out.String())
		}
		// k is the net's own: -k for sk_krsb, the name's for sk_<k>rsb.
		wantK := map[string]float64{"sk_1rsb": 1, "sk_2rsb": 2, "cw_n": 0}[r["arch"].(string)]
		if r["k"].(float64) != wantK {
			t.Errorf("%v: k %v, want %v", args, r["k"], wantK)
		}
	}
}
