package driver

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// fuzzMemoryLimit is the -max-memory every fuzzed command runs under.
const fuzzMemoryLimit = 256 << 20

// FuzzFlags runs the flag parsing and validation of every subcommand that
// allocates on arbitrary argument strings (split at blanks, under
// -max-memory 256MiB where the subcommand has it, in a scratch directory, with the context already
// cancelled so that a command that accepts its flags stops at its first
// step). It asserts: no panic (Main would report it as an internal error),
// a usage error is exactly one stderr line, and the heap never grows by
// more than the limit (plus slack for the runtime and the test).
func FuzzFlags(f *testing.F) {
	for _, s := range []string{
		"train -model sk -n 20 -arch sk_krsb -beta-range 1,2,1000000000",
		"train -model cw -n 20000 -arch 1p",
		"train -model sk -n 10 -arch made -width 1000000 -depth 5",
		"train -model ising2d -L 4 -arch 1p -overlap-bins 1000000000",
		"sample -model cw -n 2000 -arch cw_n -beta 1 -samples 100000000",
		"sample -model sk -n 30 -arch h2arnn -beta 1",
		"bench -model sk -n 50 -batch 1000000000",
		"bench -model cw -n 8 -arch 1p -k 3",
		"exact -model sk -n 20000 -beta 1",
		"exact -model cw -n 100000 -method meanfield -beta 1",
		"exact -model cw -n 5 -seed 5 -beta 0x1p-1",
		"estimate -run . -samples 1e12",
		"mcmc -model sk -n 20 -beta 1 -samples 1000000000",
		"mcmc -model sk -n 20 -beta 1 -temperatures 100000000",
		"train -max-memory 1e400 -model cw -n 8 -arch 1p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) == 0 {
			return
		}
		switch args[0] {
		case "sample", "train", "bench", "estimate", "mcmc":
			args = append(args, "-max-memory", "256MiB")
		case "exact", "fit", "instance": // nothing large without a -max-memory
		default:
			return
		}
		t.Chdir(t.TempDir())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var stdout, stderr bytes.Buffer
		var st int
		alloc := allocatedBy(func() { st = Main(ctx, args, &stdout, &stderr) })
		if st == exitInternal && strings.Contains(stderr.String(), "internal error") {
			t.Fatalf("%q: %s", line, stderr.String())
		}
		if st == exitUsage && strings.Count(stderr.String(), "\n") != 1 {
			t.Fatalf("%q: usage error of %d lines: %q", line, strings.Count(stderr.String(), "\n"), stderr.String())
		}
		if alloc > 2*fuzzMemoryLimit {
			t.Fatalf("%q: %d MB allocated under -max-memory 256MiB", line, alloc>>20)
		}
	})
}
