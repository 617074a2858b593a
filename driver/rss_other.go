//go:build !unix

package driver

// peakRSSMB returns -1: this OS's peak memory is not read here.
func peakRSSMB() float64 { return -1 }

// cpuSeconds returns -1: this OS's processor time is not read here.
func cpuSeconds() float64 { return -1 }
