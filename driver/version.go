package driver

import (
	"runtime"
	"runtime/debug"

	"github.com/h2arnn/h2arnn"
)

// versionInfo is the one JSON line of `h2arnn version`.
type versionInfo struct {
	Module           string   `json:"module"`
	Version          string   `json:"version"`
	Go               string   `json:"go"`
	OS               string   `json:"os"`
	Arch             string   `json:"arch"`
	Kernels          string   `json:"kernels"`
	AvailableKernels []string `json:"available_kernels"`
	KernelsError     string   `json:"kernels_error,omitempty"` // why H2ARNN_KERNELS was not followed
}

func buildVersion() versionInfo {
	v := versionInfo{
		Module:           "github.com/h2arnn/h2arnn",
		Version:          "(unknown)",
		Go:               runtime.Version(),
		OS:               runtime.GOOS,
		Arch:             runtime.GOARCH,
		Kernels:          h2arnn.Kernels(),
		AvailableKernels: h2arnn.AvailableKernels(),
	}
	if err := h2arnn.KernelsError(); err != nil {
		v.KernelsError = err.Error()
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			v.Module = bi.Main.Path
		}
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
	}
	return v
}

func runVersion(args []string, e *env) error {
	fs := newFlagSet("version", "", "Prints one JSON line: module path and version, Go version, OS/arch,\n"+
		"the kernel set in use (H2ARNN_KERNELS=generic|avx2|avx512 forces one), those available on this\n"+
		"CPU and build (best first) and, when H2ARNN_KERNELS names one that is not, \"kernels_error\" saying why.", e.stderr)
	if err := fs.parse(args); err != nil {
		return err
	}
	return e.emit(buildVersion())
}
