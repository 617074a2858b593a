//go:build unix

package h2arnn

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time (user + system) the process has used, or
// -1 where the OS does not report it. The benchmarks report it per
// operation beside the wall-clock time: on a machine whose cores are shared
// with other work, the wall clock counts the time the benchmark waited for a
// core, the CPU time does not. (Exported for the external test package.)
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
