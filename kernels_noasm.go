//go:build !amd64 || noasm

package h2arnn

// fmaPeak reports that there is no assembly FMA-peak loop in this build
// (non-amd64 or the noasm tag); the peak benchmark skips.
func fmaPeak(iters int) (flopsPerIter int, ok bool) { return 0, false }
