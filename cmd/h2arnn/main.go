// Command h2arnn computes exact references for pairwise spin models, trains
// autoregressive neural networks of their Boltzmann distributions, samples
// from them and writes model instances. Install it with
//
//	go install github.com/h2arnn/h2arnn/cmd/h2arnn@latest
//
// Run `h2arnn -h` for the subcommands and `h2arnn <subcommand> -h` for the
// flags of one. Examples:
//
//	h2arnn exact -model cw -n 20 -beta 0.5,1,1.5           # analytic finite-N reference
//	h2arnn exact -model sk -n 20 -seed 3 -beta 1 -workers 2 # enumeration of 2^20 states
//	h2arnn instance -model sk -n 20 -seed 3 > sk20.txt      # the same instance as a file
//	h2arnn exact -model file -couplings sk20.txt -beta 1    # ... gives the same numbers
//	h2arnn sample -model cw -n 200 -arch cw_n -beta 1.3 -samples 20000 -out samples.npy
//	h2arnn train -model sk -n 50 -seed 1 -arch sk_1rsb -out run1
//	h2arnn train -resume run1                               # after Ctrl-C: continue bit for bit
//	h2arnn plot -out cmp run1 run2                          # cmp_free_energy.png/.svg, ...
//
// The subcommands live in package driver; this file only connects them to
// the process: arguments, standard streams, signals and the exit status.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/h2arnn/h2arnn/driver"
)

func main() {
	// SIGINT (Ctrl-C) or SIGTERM cancels the context: long subcommands stop
	// at the next step boundary, write a checkpoint and exit with status
	// 130, so that nothing already computed is lost. After the first signal
	// the default handling is restored, so a second one kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(driver.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
