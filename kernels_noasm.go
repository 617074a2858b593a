//go:build !amd64 || noasm

package h2arnn

// compiled lists the assembly kernel sets of this build: none (another
// architecture, or the noasm tag).
var compiled []struct {
	set *kernelSet
	ok  func() bool
}
