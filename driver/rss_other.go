//go:build !unix

package main

// peakRSSMB returns -1: this OS's peak memory is not read here.
func peakRSSMB() float64 { return -1 }
