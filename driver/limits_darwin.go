package driver

import "golang.org/x/sys/unix"

// availableMemoryDoc says in -h what the default of -max-memory is.
const availableMemoryDoc = "the machine's physical memory, hw.memsize (macOS reports no available figure)"

// availableMemory returns the physical memory (hw.memsize): macOS has no
// MemAvailable, and its compressor and swap make the free figure
// misleading. 0 if unknown.
func availableMemory() (float64, string) {
	b, err := unix.SysctlUint64("hw.memsize")
	if err != nil || b == 0 {
		return 0, "no limit: the physical memory is unknown"
	}
	return float64(b), "the physical memory, hw.memsize"
}

// freeDisk returns the bytes an unprivileged user may still write to the
// file system holding dir (statfs f_bavail), and false if unknown.
func freeDisk(dir string) (float64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return float64(st.Bavail) * float64(st.Bsize), true
}
