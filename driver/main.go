// Package driver is the h2arnn command: it parses the flags of each
// subcommand, wires the model, grad and output packages together and writes
// their results. It holds no physics and no numerics. The program itself is
// cmd/h2arnn, which calls Main; other programs can call Main too, e.g. to
// run a subcommand in-process with their own context and writers.
//
// Usage of the command:
//
//	h2arnn <subcommand> [flags]
//
// Run `h2arnn -h` for the list of subcommands and `h2arnn <subcommand> -h`
// for the flags of one. Results go to standard output as JSON lines, one
// object per result; messages go to standard error. Bad flags or bad input
// files give one line on standard error and exit status 2; an internal
// failure gives one line and exit status 1; an interrupted command exits
// with status 130.
package driver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/internal/decimal"
	"github.com/h2arnn/h2arnn/output"
)

// errInterrupted stops a subcommand after an interrupt: exit status 130,
// the shell's convention for death by SIGINT.
var errInterrupted = errors.New("interrupted")

// isInterrupt reports whether err says that the command was interrupted:
// errInterrupted, or the error of its cancelled context that a library
// call returned (the signal context of cmd/h2arnn, or a caller's).
func isInterrupt(err error) bool {
	return errors.Is(err, errInterrupted) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Exit statuses.
const (
	exitOK       = 0
	exitInternal = 1 // a bug or an I/O failure: not the user's fault
	exitUsage    = 2 // bad flags or bad input: the message says what to fix
	exitSignal   = 130
)

// command is one subcommand.
type command struct {
	name, summary string
	// run parses args with its own FlagSet and does the work. It returns a
	// *usageError for anything the user can fix and any other error for
	// internal failures.
	run func(args []string, env *env) error
}

// env is what a subcommand writes to, and its cancellation.
type env struct {
	// ctx is cancelled by SIGINT or SIGTERM.
	ctx            context.Context
	stdout, stderr io.Writer
}

// commands lists the subcommands in the order `h2arnn -h` shows them.
func commands() []command {
	return []command{
		{"exact", "exact free energy, energy, entropy and |m| of a model at given β", runExact},
		{"sample", "sample a trained net (-run DIR) or an exact one (cw_n, h2arnn) to .npy files, with statistics", runSample},
		{"train", "train a variational autoregressive net with the paper's β annealing", runTrain},
		{"estimate", "unbiased free energy and energy with error bars from a trained net (importance sampling, neural MCMC)", runEstimate},
		{"mcmc", "Monte Carlo samples of the Boltzmann distribution (Metropolis, parallel tempering) with τ-corrected errors", runMCMC},
		{"fit", "fit a net (or plm) to samples by maximum likelihood; compare learned with true couplings", runFit},
		{"plot", "overlay the free energy and P(q) of several training runs in one figure", runPlot},
		{"instance", "write a model instance (couplings file, text or .npz) to standard output or a file", runInstance},
		{"bench", "time a training step and sampling of one architecture on this machine", runBench},
		{"reproduce", "run the grid of runs behind one of the paper's figures, locally or as a SLURM job array", runReproduce},
		{"collect", "gather a reproduction's runs into one CSV and draw the paper's figures from it", runCollect},
		{"version", "print the module and Go versions and the kernel sets in use", runVersion},
	}
}

// usageError is a problem the user can fix: exit status 2. It wraps the
// library's error, if any, so that errors.Is and errors.As see through it.
type usageError struct {
	msg string
	err error
}

func (e *usageError) Error() string { return e.msg }

func (e *usageError) Unwrap() error { return e.err }

// usagef builds a *usageError. By convention the message is
// "<what was wrong>; <what to do>".
func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// run is Main without cancellation (for tests).
func run(args []string, stdout, stderr io.Writer) int {
	return Main(context.Background(), args, stdout, stderr)
}

// Main runs the h2arnn command line args (without the program name),
// writing results to stdout and messages to stderr, and returns the exit
// status: 0 success, 1 internal failure, 2 bad flags or input, 130
// interrupted. Cancelling ctx (the command's SIGINT/SIGTERM) makes long
// subcommands stop at the next step, write what they have (a checkpoint)
// and return 130. Main never panics: a panic inside a subcommand becomes a
// one-line internal error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) (status int) {
	sub := ""
	defer func() {
		if r := recover(); r != nil {
			name := "h2arnn"
			if sub != "" {
				name += " " + sub
			}
			fmt.Fprintf(stderr, "%s: internal error: %s; this is a bug, please report it with the command line\n", name, oneLine(fmt.Sprint(r)))
			status = exitInternal
		}
	}()
	if len(args) == 0 {
		fmt.Fprintln(stderr, "h2arnn: no subcommand given; run 'h2arnn -h' for the list")
		return exitUsage
	}
	sub = args[0]
	switch sub {
	case "-h", "-help", "--help", "help":
		topUsage(stderr)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != sub {
			continue
		}
		if err := h2arnn.KernelsError(); err != nil { // the kernel package reports, the command prints
			fmt.Fprintf(stderr, "h2arnn: %s\n", oneLine(err.Error()))
		}
		err := c.run(args[1:], &env{ctx: ctx, stdout: stdout, stderr: stderr})
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		}
		if isInterrupt(err) {
			if !errors.Is(err, errInterrupted) {
				err = errInterrupted // the library's "context canceled" says less
			}
			fmt.Fprintf(stderr, "h2arnn %s: %s\n", sub, oneLine(err.Error()))
			return exitSignal
		}
		fmt.Fprintf(stderr, "h2arnn %s: %s\n", sub, oneLine(err.Error()))
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitInternal
	}
	fmt.Fprintf(stderr, "h2arnn: unknown subcommand %q; run 'h2arnn -h' for the list\n", sub)
	sub = ""
	return exitUsage
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "h2arnn: autoregressive neural networks of the Boltzmann distribution of pairwise spin systems")
	fmt.Fprintln(w, "\nUsage:\n\n\th2arnn <subcommand> [flags]\n\nSubcommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'h2arnn <subcommand> -h' for its flags. Results are JSON lines on standard output;")
	fmt.Fprintln(w, "errors are one line on standard error with exit status 2 (bad input) or 1 (internal);")
	fmt.Fprintln(w, "Ctrl-C or SIGTERM stops a command within about a second with status 130; an interrupted")
	fmt.Fprintln(w, "train first writes a checkpoint that 'h2arnn train -resume DIR' continues from.")
}

// oneLine folds a message onto one line so that every error is exactly one
// line of standard error.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// flagSet is a subcommand's FlagSet with its help text.
type flagSet struct {
	*flag.FlagSet
	synopsis, description string
	stderr                io.Writer
}

// newFlagSet returns the FlagSet of subcommand name. Its -h prints the
// synopsis, the description and every flag with its default to stderr.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet("h2arnn "+name, flag.ContinueOnError)
	// The flag package prints the whole usage after every parse error;
	// parse reports errors in one line instead, and prints the usage only
	// for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, description: description, stderr: stderr}
}

func (fs *flagSet) printUsage() {
	fmt.Fprintf(fs.stderr, "Usage: %s %s\n\n%s\n\nFlags:\n", fs.Name(), fs.synopsis, fs.description)
	fs.SetOutput(fs.stderr)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args; -h prints the usage and returns flag.ErrHelp, other
// problems become one-line usage errors. Positional arguments are refused:
// every input is a flag.
func (fs *flagSet) parse(args []string) error {
	err := fs.parseStrict(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage()
			return err
		}
		return usagef("%v; run '%s -h' for the flags", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (every input is a flag, e.g. -n 20); run '%s -h' for the flags", fs.Arg(0), fs.Name())
	}
	return nil
}

// parsePositional parses args in which flags and positional arguments
// (directories, a figure name) come in any order, and returns the
// positional ones. The flag package stops at the first positional
// argument, so parsing starts again after each one.
func (fs *flagSet) parsePositional(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.parseStrict(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printUsage()
				return nil, err
			}
			return nil, usagef("%v; run '%s -h' for the flags", err, fs.Name())
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// set reports whether the flag called name was given on the command line.
func (fs *flagSet) set(name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// emit writes one JSON line through output.MarshalJSON: a figure that is
// not a finite number (the statistics of a β without samples, say) is
// written as null.
func (e *env) emit(v any) error {
	b, err := output.MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("writing result: %v", err)
	}
	if _, err := e.stdout.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing result: %v", err)
	}
	return nil
}

// parseStrict is fs.Parse with numeric flags accepting plain decimal
// notation only (see plainNumber). The wrappers are removed again after
// parsing so that -h still shows each flag's type and default.
func (fs *flagSet) parseStrict(args []string) error {
	orig := map[string]flag.Value{}
	fs.VisitAll(func(f *flag.Flag) {
		if k := numberKind(f.Value); k != "" {
			orig[f.Name] = f.Value
			f.Value = plainNumber{Value: f.Value, kind: k}
		}
	})
	err := fs.Parse(args)
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := orig[f.Name]; ok {
			f.Value = v
		}
	})
	return err
}

// plainNumber wraps a numeric flag so that it accepts plain decimal
// notation only: the flag package parses numbers with Go literal syntax,
// in which -n 0x10 is 16, -J 1_0 is 10 and -beta 0x1p-1 is 0.5 — not what
// a user typing a number means.
type plainNumber struct {
	flag.Value
	kind string // "float" or "int"
}

func (p plainNumber) Set(s string) error {
	ok := decimal.Valid(s)
	if p.kind == "int" {
		_, err := decimal.ParseIndex(strings.TrimPrefix(s, "-"))
		ok = ok && err == nil && !strings.ContainsAny(s, ".eE")
	}
	if !ok {
		if p.kind == "int" {
			return fmt.Errorf("%q is not a whole number written in decimal digits", s)
		}
		return fmt.Errorf("%q is not a decimal number (write e.g. 0.5 or 1e-3)", s)
	}
	return p.Value.Set(s)
}

// numberKind says whether a flag value holds a float or an integer ("" for
// other kinds), from the type its Get returns.
func numberKind(v flag.Value) string {
	g, ok := v.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case float64:
		return "float"
	case int, int64, uint, uint64:
		return "int"
	}
	return ""
}
