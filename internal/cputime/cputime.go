// Package cputime reads the CPU time the process has used, for benchmarks
// on machines shared with other work: there, wall-clock time measures the
// competition as much as the code, while CPU time (user + system, summed
// over threads) moves much less.
package cputime

// Seconds returns the user plus system CPU time this process has used so
// far, in seconds, summed over all its threads; 0 where the operating
// system does not report it.
func Seconds() float64 { return seconds() }
