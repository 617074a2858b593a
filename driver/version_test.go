package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBadKernelsEnv runs this test binary again with H2ARNN_KERNELS naming
// no kernel set: the kernel package must stay silent at initialisation, the
// command print exactly one line on stderr saying what was wrong and which
// set it uses, and `version` report the same in its JSON line.
func TestBadKernelsEnv(t *testing.T) {
	if os.Getenv("H2ARNN_DRIVER_CHILD") == "1" {
		os.Exit(Main(context.Background(), []string{"version"}, os.Stdout, os.Stderr))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBadKernelsEnv$")
	cmd.Env = append(os.Environ(), "H2ARNN_DRIVER_CHILD=1", "H2ARNN_KERNELS=nonesuch")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v; stderr %q", err, errb.String())
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("stdout %q: %v", out.String(), err)
	}
	want := `H2ARNN_KERNELS="nonesuch": no kernel set "nonesuch"`
	if !strings.HasPrefix(v.KernelsError, want) || !strings.HasSuffix(v.KernelsError, `using "`+v.AvailableKernels[0]+`"`) {
		t.Errorf("kernels_error %q, want it to start %q and end with the set used", v.KernelsError, want)
	}
	if v.Kernels != v.AvailableKernels[0] {
		t.Errorf("kernels %q, want the best available %q", v.Kernels, v.AvailableKernels[0])
	}
	if errb.String() != "h2arnn: "+v.KernelsError+"\n" {
		t.Errorf("stderr %q, want exactly the one line %q", errb.String(), "h2arnn: "+v.KernelsError)
	}
}
