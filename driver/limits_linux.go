package driver

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// availableMemoryDoc says in -h what the default of -max-memory is.
const availableMemoryDoc = "the memory available when the command starts: MemAvailable of /proc/meminfo, or less if the cgroup's memory.max leaves less"

// availableMemory returns the memory this process can use now, in bytes,
// and where the figure comes from: MemAvailable (free memory plus the page
// cache the kernel can drop), lowered to memory.max - memory.current of the
// process's cgroup (v2) when a container limit leaves less. 0 if unknown.
func availableMemory() (float64, string) {
	avail, src := memInfoAvailable(), "MemAvailable of /proc/meminfo"
	if c := cgroupAvailable(); c > 0 && (avail <= 0 || c < avail) {
		avail, src = c, "the cgroup's memory.max less memory.current"
	}
	if avail <= 0 {
		return 0, "no limit: the available memory is unknown"
	}
	return avail, "the memory available now, " + src
}

// memInfoAvailable reads MemAvailable from /proc/meminfo (0 if absent).
func memInfoAvailable() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// cgroupAvailable is memory.max - memory.current of the cgroup (v2) this
// process belongs to, or 0 when there is no such limit.
func cgroupAvailable() float64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		dir := "/sys/fs/cgroup" + strings.TrimSpace(path)
		maxB, err1 := readNumberFile(dir + "/memory.max")
		cur, err2 := readNumberFile(dir + "/memory.current")
		if err1 != nil || err2 != nil || math.IsInf(maxB, 1) {
			return 0
		}
		return max(maxB-cur, 1)
	}
	return 0
}

// readNumberFile reads a cgroup file holding one number or "max" (+Inf).
func readNumberFile(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return math.Inf(1), nil
	}
	return strconv.ParseFloat(s, 64)
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
