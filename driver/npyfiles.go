package driver

import (
	"io"

	"github.com/h2arnn/h2arnn/internal/npy"
	"github.com/h2arnn/h2arnn/output"
)

// npyFile is one .npy output of a command: its path ("" for none), its
// dtype and its shape, known before the data.
type npyFile struct {
	path, descr string
	shape       []int
}

// npyOut writes the items of one output; without a path it discards them.
type npyOut struct{ w *npy.Writer }

func (o npyOut) writeInt8s(x []int8) error {
	if o.w == nil {
		return nil
	}
	return o.w.WriteInt8s(x)
}

func (o npyOut) writeFloat64s(x []float64) error {
	if o.w == nil {
		return nil
	}
	return o.w.WriteFloat64s(x)
}

// withNPYFiles opens the outputs that have a path, each through
// output.WriteFileAtomic, writes their headers and calls body with one
// npyOut per file (in order), which writes their items as they are
// produced. If body fails (an interrupt, say), no output is left behind and
// files that were at the paths before are untouched.
func withNPYFiles(files []npyFile, body func([]npyOut) error) error {
	return openNPY(files, nil, body)
}

// openNPY opens files[0] and recurses on the rest, collecting the writers.
func openNPY(files []npyFile, outs []npyOut, body func([]npyOut) error) error {
	if len(files) == 0 {
		return body(outs)
	}
	f := files[0]
	if f.path == "" {
		return openNPY(files[1:], append(outs, npyOut{}), body)
	}
	return output.WriteFileAtomic(f.path, func(w io.Writer) error {
		nw, err := npy.NewWriter(w, f.descr, f.shape...)
		if err != nil {
			return err
		}
		if err := openNPY(files[1:], append(outs, npyOut{nw}), body); err != nil {
			return err
		}
		return nw.Close()
	})
}
