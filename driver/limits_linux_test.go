package driver

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadNumberFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]float64{"max\n": math.Inf(1), "123\n": 123, " 7 ": 7} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := readNumberFile(p); err != nil || got != want {
			t.Errorf("readNumberFile(%q) = %v, %v; want %v", content, got, err, want)
		}
	}
	if _, err := readNumberFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file reads")
	}
}

// TestAvailableMemory: the default limit is MemAvailable in bytes (the
// file gives kB), or less when a cgroup leaves less, and says so.
func TestAvailableMemory(t *testing.T) {
	info := memInfoAvailable()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var totalKB float64
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "MemTotal:" {
			totalKB, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	// MemAvailable is less than MemTotal, the line before it.
	if info < 1<<20 || info >= totalKB*1024 {
		t.Fatalf("MemAvailable = %v bytes; MemTotal %v kB", info, totalKB)
	}
	avail, src := availableMemory()
	if avail <= 0 || avail > 1.5*info || !strings.HasPrefix(src, "the memory available now, ") {
		t.Errorf("availableMemory() = %v, %q; MemAvailable %v", avail, src, info)
	}
	if c := cgroupAvailable(); c == 0 && !strings.HasSuffix(src, "MemAvailable of /proc/meminfo") {
		t.Errorf("without a cgroup limit the source is %q", src)
	}
}

// TestFreeDisk: the free space of a directory's file system is read on
// Linux; a path that does not exist has none.
func TestFreeDisk(t *testing.T) {
	if free, ok := freeDisk(t.TempDir()); !ok || free <= 0 {
		t.Errorf("freeDisk(a temporary directory) = %v, %v", free, ok)
	}
	if free, ok := freeDisk(filepath.Join(t.TempDir(), "missing")); ok {
		t.Errorf("freeDisk(a missing directory) = %v, %v", free, ok)
	}
}
