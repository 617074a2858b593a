//go:build !unix

package h2arnn

import "time"

// ProcessCPU reports that this OS's CPU time is not read here: -1.
func ProcessCPU() time.Duration { return -1 }
