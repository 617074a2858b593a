//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package driver

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// prepareChild puts a run's process in its own process group, so that a
// terminal's Ctrl-C reaches it only through reproduce (see the local
// executor's comment), and, where the system offers it, has it sent
// SIGTERM when reproduce dies.
func prepareChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

// runChild starts cmd and waits for it. The goroutine keeps its thread
// while the child lives: Linux sends the parent-death signal when the
// thread that started the child ends, not the process.
func runChild(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return cmd.Run()
}

// interruptChild asks a run to stop as Ctrl-C would: it writes a checkpoint
// and exits with status 130.
func interruptChild(p *os.Process) error { return p.Signal(os.Interrupt) }

// childPeakRSSMB returns the peak resident memory of a finished child in
// MB (-1 if unknown).
func childPeakRSSMB(ps *os.ProcessState) float64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return -1
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / (1 << 10)
}
