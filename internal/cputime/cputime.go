// Package cputime reads the CPU time the process has used, for benchmarks
// on machines shared with other work: there the wall clock counts the time
// a benchmark waited for a core, the CPU time (user + system, summed over
// threads) does not.
package cputime

import "time"

// Process returns the CPU time (user + system, all threads) the process
// has used so far, or -1 where the operating system does not report it.
func Process() time.Duration { return process() }
