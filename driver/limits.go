package driver

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/h2arnn/h2arnn/internal/decimal"
	"github.com/h2arnn/h2arnn/model"
)

// A command estimates the memory it will need from its flags before it
// allocates anything large, and refuses to start when the estimate exceeds a
// limit: by default the memory the machine has available now
// (availableMemory), or -max-memory. The estimate is the sum of the large
// allocations the command makes (the dense couplings, the net's parameters
// and the optimiser's copies of them, the sample buffers, histograms, the β
// schedule), read off the structures that make them; small per-goroutine
// scratch is left out. A refusal names the flag whose allocation is the
// largest, so that the user knows what to make smaller.

// memoryFlag is the -max-memory flag of a command that allocates.
type memoryFlag struct{ s string }

// addMemoryFlag registers -max-memory.
func addMemoryFlag(fs *flagSet) *memoryFlag {
	f := &memoryFlag{}
	fs.StringVar(&f.s, "max-memory", "", "refuse to start when the estimated memory of the command exceeds this `SIZE`: bytes, or a number with a unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 8GiB; 0 = no limit (default: "+availableMemoryDoc+")")
	return f
}

// memLimit is the limit a command's estimate is held to.
type memLimit struct {
	bytes float64 // 0: no limit
	// source says where the limit comes from, for messages.
	source string
}

// limit returns the limit -max-memory sets, or the available memory.
func (f *memoryFlag) limit() (memLimit, error) {
	if f.s == "" {
		b, src := availableMemory()
		return memLimit{bytes: b, source: src}, nil
	}
	b, err := parseBytes(f.s)
	if err != nil {
		return memLimit{}, usagef("-max-memory %q: %v; give e.g. -max-memory 8GiB, or 0 for no limit", f.s, err)
	}
	return memLimit{bytes: b, source: "-max-memory " + f.s}, nil
}

// byteUnits are the units parseBytes accepts, lower case.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// parseBytes parses a size: a decimal number (with an exponent if need be)
// followed by an optional unit of byteUnits, in any case. It returns the
// number of bytes, rounded down.
func parseBytes(s string) (float64, error) {
	s = strings.TrimSpace(s)
	// The unit is the trailing letters: "8GiB", "1e3KB"; "1e9" has none.
	i := len(s)
	for i > 0 && (s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= 'A' && s[i-1] <= 'Z') {
		i--
	}
	mult, ok := byteUnits[strings.ToLower(s[i:])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s[i:])
	}
	v, err := decimal.Parse(strings.TrimSpace(s[:i]))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a size in bytes")
	}
	b := math.Floor(v * mult)
	if math.IsInf(b, 0) {
		return 0, fmt.Errorf("not a size in bytes")
	}
	return b, nil
}

// formatBytes writes a size in bytes for messages, in powers of 1000.
func formatBytes(b float64) string {
	switch {
	case b >= 1e12:
		return fmt.Sprintf("%.3g TB", b/1e12)
	case b >= 1e9:
		return fmt.Sprintf("%.3g GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.3g MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.3g kB", b/1e3)
	}
	return fmt.Sprintf("%.0f bytes", b)
}

// memItem is one large allocation of a command: its size in bytes, what
// it holds, and the flag that sets its size ("" if none does).
type memItem struct {
	flag, what string
	bytes      float64
}

// memPlan is the estimated memory of a command, item by item. Sizes are
// float64 so that absurd flags (-batch 1e18) cannot overflow the sum.
type memPlan []memItem

func (p memPlan) total() float64 {
	t := 0.0
	for _, it := range p {
		t += it.bytes
	}
	return t
}

// check refuses the plan if its total exceeds the limit: one line naming
// the flag of the largest item that has a flag (or, if none has one, the
// largest item), the estimate and the limit.
func (l memLimit) check(p memPlan) error {
	total := p.total()
	if l.bytes <= 0 || total <= l.bytes {
		return nil
	}
	var big memItem
	for _, it := range p {
		if it.flag != "" && it.bytes > big.bytes {
			big = it
		}
	}
	if big.flag == "" {
		for _, it := range p {
			if it.bytes > big.bytes {
				big = it
			}
		}
	}
	what := fmt.Sprintf("%s for %s", formatBytes(big.bytes), big.what)
	fix := "give smaller sizes"
	if big.flag != "" {
		what = big.flag + " (" + what + ")"
		fix = "make " + strings.Fields(big.flag)[0] + " smaller"
	}
	return usagef("%s: the command would need about %s of memory, more than the limit of %s (%s); %s, or raise the limit with -max-memory (0: no limit)",
		what, formatBytes(total), formatBytes(l.bytes), l.source, fix)
}

// fileItem is one file a command will write: the flag that names it (or
// sizes it), its path and its estimated size in bytes.
type fileItem struct {
	flag, path string
	bytes      float64
}

// existingDir is dir or its nearest ancestor that exists: a run directory
// not created yet will be on its parent's file system.
func existingDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// checkDisk refuses the files if, on any file system where the free space
// can be read (freeDisk), the files going there add up to more than it.
// sizeFlag is the flag that sets their size with its value (e.g.
// "-samples 100000000"), for the message.
func checkDisk(files []fileItem, sizeFlag string) error {
	type fsUse struct {
		need float64
		big  fileItem
	}
	byDir := map[string]*fsUse{}
	var order []string
	for _, f := range files {
		if f.path == "" || f.bytes <= 0 {
			continue
		}
		dir := existingDir(filepath.Dir(f.path))
		u := byDir[dir]
		if u == nil {
			u = &fsUse{}
			byDir[dir] = u
			order = append(order, dir)
		}
		u.need += f.bytes
		if f.bytes > u.big.bytes {
			u.big = f
		}
	}
	for _, dir := range order {
		u := byDir[dir]
		free, ok := freeDisk(dir)
		if ok && u.need > free {
			return usagef("%s: the output would take about %s (%s the largest file), more than the %s free on the file system of %s; reduce %s or write to another file system",
				sizeFlag, formatBytes(u.need), u.big.path, formatBytes(free), dir, strings.Fields(sizeFlag)[0])
		}
	}
	return nil
}

// limitFileN bounds the N of a couplings file that gives N itself (-model
// file without -n) before it is read: to what the net arch accepts, and to
// the largest N whose plan fits the memory limit, so that a 13-byte file
// naming spin 19999 is refused before its 3.2 GB matrix is allocated.
func limitFileN(mf *modelFlags, arch string, lim memLimit, plan func(n int) memPlan) {
	if mf == nil || mf.model != "file" || mf.knownN() > 0 {
		return
	}
	if arch == "h2arnn" {
		mf.limitN(model.MaxExactNet, fmt.Sprintf("-arch h2arnn is exponentially wide and limited to N ≤ %d", model.MaxExactNet))
	}
	if n := maxSpinsWithin(lim, plan); n < model.MaxSpins {
		mf.limitN(n, fmt.Sprintf("within the memory limit of %s (%s) the command fits at most %d spins (the couplings alone are a dense N×N matrix of 8·N² bytes, whatever the number of lines); raise -max-memory", formatBytes(lim.bytes), lim.source, n))
	}
}

// maxSpinsWithin returns the largest N ≤ model.MaxSpins whose plan fits
// the limit (0 if none does; model.MaxSpins without a limit). Every plan
// grows with N, so a bisection finds it.
func maxSpinsWithin(lim memLimit, plan func(n int) memPlan) int {
	if lim.bytes <= 0 || plan(model.MaxSpins).total() <= lim.bytes {
		return model.MaxSpins
	}
	lo, hi := 0, model.MaxSpins // plan(lo) fits (or lo = 0), plan(hi) does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if plan(mid).total() <= lim.bytes {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
