//go:build (darwin || freebsd || netbsd || openbsd || dragonfly) && !linux

package driver

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
