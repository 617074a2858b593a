package driver

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/output"
)

// progress reports a training run on standard error: on a terminal one live
// line per β, redrawn at most 10 times a second; otherwise (a log file, a
// pipe) a plain line every plainEvery and at the end of each β. Standard
// output is left to the JSON results.
type progress struct {
	w     io.Writer
	off   bool
	tty   bool
	sched []float64
	limit func(j int) int
	refs  []float64

	begin     time.Time // this process's start of training
	steps     int       // steps taken in this process
	lastPrint time.Time
	lineOpen  bool // a live line is on the terminal without its newline
}

// plainEvery is the interval of progress lines when stderr is not a
// terminal; liveEvery the redraw interval of the live line.
const (
	plainEvery = 10 * time.Second
	liveEvery  = 100 * time.Millisecond
)

func newProgress(w io.Writer, quiet bool, sched []float64, limit func(int) int, refs []float64) *progress {
	p := &progress{w: w, off: quiet, sched: sched, limit: limit, refs: refs, begin: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	p.lastPrint = p.begin
	return p
}

// step is called after every optimiser step with the step's batch figures.
func (p *progress) step(j, steps int, st grad.Stats) {
	p.steps++
	if p.off {
		return
	}
	now := time.Now()
	every := plainEvery
	if p.tty {
		every = liveEvery
	}
	if now.Sub(p.lastPrint) < every {
		return
	}
	p.lastPrint = now
	line := fmt.Sprintf("β %g [%d/%d] step %d/%d  f %.6g ± %.2g", p.sched[j], j+1, len(p.sched), steps, p.limit(j), st.F, st.FStd)
	if p.refs != nil {
		line += fmt.Sprintf("  rel_err %.2e", output.RelErr(st.F, p.refs[j]))
	}
	line += p.rate(j, steps, now)
	p.print(line, false)
}

// rate formats the step rate of this process and an upper bound of the
// remaining time: every remaining β may take its full step budget (early
// stops make it shorter).
func (p *progress) rate(j, steps int, now time.Time) string {
	el := now.Sub(p.begin).Seconds()
	if p.steps == 0 || el <= 0 {
		return ""
	}
	r := float64(p.steps) / el
	eta := time.Duration(float64(p.remaining(j, steps)) / r * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("  %.3g steps/s  ETA ≤ %s", r, eta)
}

// remaining is the most steps left after steps done at schedule index j:
// the rest of this β's budget and the full budget of every later β.
func (p *progress) remaining(j, steps int) int {
	left := max(p.limit(j)-steps, 0)
	for k := j + 1; k < len(p.sched); k++ {
		left += p.limit(k)
	}
	return left
}

// betaDone reports a finished β with its reported (evaluation) figures.
func (p *progress) betaDone(j int, res output.StatsRow) {
	if p.off {
		return
	}
	line := fmt.Sprintf("β %g [%d/%d] done: %d steps  f %.8g ± %.2g", res.Beta, j+1, len(p.sched), res.Steps, res.F, res.FStd)
	if res.Exact != nil {
		line += fmt.Sprintf("  rel_err %.2e", res.RelErr)
	}
	line += fmt.Sprintf("  %.3gs", res.Seconds)
	if j+1 < len(p.sched) {
		line += p.rate(j+1, 0, time.Now())
	}
	p.print(line, true)
	p.lastPrint = time.Now()
}

// print writes a line: on a terminal the live line is redrawn in place and
// kept (newline) only when final.
func (p *progress) print(line string, final bool) {
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K"+strings.TrimSpace(line))
	p.lineOpen = !final
	if final {
		fmt.Fprintln(p.w)
	}
}

// finish ends an open live line so that a following message starts on its
// own line.
func (p *progress) finish() {
	if p.tty && p.lineOpen && !p.off {
		fmt.Fprintln(p.w)
		p.lineOpen = false
	}
}
