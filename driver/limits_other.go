//go:build !linux && !darwin

package driver

// availableMemoryDoc says in -h what the default of -max-memory is.
const availableMemoryDoc = "8GiB, assumed: the memory of this OS is not read"

// fallbackMemory is the limit assumed where the available memory is not
// read: enough for the paper's runs (SK N = 1000, k = 2 trains in well
// under 1 GB), small enough that an absurd flag is refused before Go's
// runtime dies of an out-of-memory error. -max-memory overrides it.
const fallbackMemory = 8 << 30

func availableMemory() (float64, string) {
	return fallbackMemory, "8GiB assumed, since the available memory of this OS is not read; set -max-memory"
}

// freeDisk reports that the free space of a file system is not read on
// this OS: outputs are then not checked against it.
func freeDisk(string) (float64, bool) { return 0, false }
