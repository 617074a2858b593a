package output

import (
	"io"

	"github.com/h2arnn/h2arnn/internal/npy"
)

// WriteNPYInt8 writes x, a rows×cols matrix stored row-major (sample b,
// spin i at x[b*cols+i]), as a .npy int8 array (format 1.0, C order) that
// numpy.load reads with shape (rows, cols). It fails, writing nothing, if
// len(x) != rows*cols or a dimension is negative. Use it inside
// WriteFileAtomic for a file.
func WriteNPYInt8(w io.Writer, x []int8, rows, cols int) error {
	return npy.WriteInt8(w, x, rows, cols)
}
