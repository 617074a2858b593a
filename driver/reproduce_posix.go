//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package driver

import (
	"errors"
	"fmt"
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

// lockDir takes an exclusive lock on the file path (created if missing)
// for the life of the returned unlock, so that two reproduce commands do
// not run the same directory at once. The lock goes with the process, so a
// crash leaves none behind.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another 'h2arnn reproduce' is working in this directory; wait for it, or stop it first")
		}
		return nil, fmt.Errorf("locking %s: %v", path, err)
	}
	return func() { f.Close() }, nil
}

// lockHeld reports whether a reproduce command holds the lock at path.
func lockHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
}
