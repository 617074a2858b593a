//go:build !unix

package output

// isEINVAL reports every directory-sync failure as unsupported: outside
// Unix, directories cannot be fsynced portably, and the file data itself is
// already on disk when syncDir runs.
func isEINVAL(error) bool { return true }
