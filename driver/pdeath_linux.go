package driver

import "syscall"

// setParentDeathSignal has the child sent SIGTERM (checkpoint, exit) when
// the thread that started it, kept for the child's life by runChild, ends.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
