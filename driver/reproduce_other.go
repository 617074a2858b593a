//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package driver

import (
	"os"
	"os/exec"
)

// On systems without process groups (Windows), an interrupt kills the runs
// (they resume from their last periodic checkpoint).

func prepareChild(*exec.Cmd) {}

func runChild(cmd *exec.Cmd) error { return cmd.Run() }

func interruptChild(p *os.Process) error { return p.Kill() }

func childPeakRSSMB(*os.ProcessState) float64 { return -1 }
