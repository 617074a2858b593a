//go:build unix

package output

import (
	"errors"
	"syscall"
)

// isEINVAL reports whether err says that the file system cannot sync a
// directory (EINVAL), which is not a failure of the write.
func isEINVAL(err error) bool { return errors.Is(err, syscall.EINVAL) }
