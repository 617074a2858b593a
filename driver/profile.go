package driver

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// profFlags are the profiling flags of every subcommand that computes.
type profFlags struct {
	cpu, mem, trace string
}

// addProfileFlags registers -cpuprofile, -memprofile and -trace.
func addProfileFlags(fs *flagSet) *profFlags {
	pf := &profFlags{}
	fs.StringVar(&pf.cpu, "cpuprofile", "", "write a CPU profile to this `FILE` (read it with 'go tool pprof')")
	fs.StringVar(&pf.mem, "memprofile", "", "write a heap profile (allocations) to this `FILE` at exit")
	fs.StringVar(&pf.trace, "trace", "", "write an execution trace to this `FILE` (read it with 'go tool trace')")
	return pf
}

// start opens the profile files and starts the CPU profile and the trace.
// The returned stop must be called on every exit path, errors and
// interrupts included (defer it): it stops them and writes the heap
// profile, so that a profile always covers the whole run. A file that
// cannot be created is the user's to fix.
func (pf *profFlags) start() (stop func() error, err error) {
	var cpuF, traceF *os.File
	cleanup := func() {
		if cpuF != nil {
			pprof.StopCPUProfile()
			cpuF.Close()
		}
		if traceF != nil {
			trace.Stop()
			traceF.Close()
		}
	}
	if pf.mem != "" {
		// Create the heap profile's file now, so that a bad path is
		// reported before the work instead of after it.
		f, err := os.Create(pf.mem)
		if err != nil {
			return nil, usagef("-memprofile %s: cannot create the file (%v); give a writable path", pf.mem, err)
		}
		f.Close()
	}
	if pf.cpu != "" {
		f, err := os.Create(pf.cpu)
		if err != nil {
			return nil, usagef("-cpuprofile %s: cannot create the file (%v); give a writable path", pf.cpu, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("-cpuprofile: %v", err)
		}
		cpuF = f
	}
	if pf.trace != "" {
		f, err := os.Create(pf.trace)
		if err != nil {
			cleanup()
			return nil, usagef("-trace %s: cannot create the file (%v); give a writable path", pf.trace, err)
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			cleanup()
			return nil, fmt.Errorf("-trace: %v", err)
		}
		traceF = f
	}
	return func() error {
		var errs []error
		if cpuF != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpuF.Close())
		}
		if traceF != nil {
			trace.Stop()
			errs = append(errs, traceF.Close())
		}
		if pf.mem != "" {
			f, err := os.Create(pf.mem)
			if err != nil {
				errs = append(errs, err)
			} else {
				runtime.GC() // up-to-date statistics of live memory
				errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("writing the profiles: %v", err)
		}
		return nil
	}, nil
}

// withProfiles runs work between pf.start and its stop. An error from
// work takes precedence over one from writing the profiles.
func withProfiles(pf *profFlags, work func() error) error {
	stop, err := pf.start()
	if err != nil {
		return err
	}
	werr := work()
	serr := stop()
	if werr != nil {
		return werr
	}
	return serr
}
