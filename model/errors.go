package model

import (
	"errors"
	"fmt"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// ErrInvalidBeta is matched (errors.Is) by the error of every function given
// an inverse temperature β it cannot use: the exact references (Enumerate,
// CWExact, CWMeanField, CWMagnetisation) and the analytic nets accept any
// finite β ≥ 0, the variational free energy any finite β > 0.
var ErrInvalidBeta = errors.New("invalid inverse temperature")

// An ArgError is an argument that a function or an architecture refuses. It
// names the argument as the library does — a parameter or an ArchOptions
// field — so that a caller can say it in its own terms (the command line
// maps Arg "K" to its flag -k, for instance).
type ArgError struct {
	// Func is the function or architecture that refused the argument
	// ("CurieWeiss", "Enumerate", "sk_krsb", ...).
	Func string
	// Arg is the argument's name: "N" (number of spins), "J" (coupling
	// scale), "H" (field), "Beta", "K", "Depth", "Width", "Model" (the
	// Hamiltonian's Kind, for architectures that need a particular model)
	// or "Arch" (an architecture name).
	Arg string
	// Value is the refused value.
	Value any
	// Reason says what is wrong and what would be accepted, in the
	// library's terms.
	Reason string
	// Err, when not nil, classifies the error for errors.Is (ErrInvalidBeta).
	Err error
}

// Error returns "model: Func: Arg = Value: Reason".
func (e *ArgError) Error() string {
	return fmt.Sprintf("model: %s: %s = %v: %s", e.Func, e.Arg, e.Value, e.Reason)
}

// Unwrap returns Err.
func (e *ArgError) Unwrap() error { return e.Err }

// argErr builds an *ArgError.
func argErr(fn, arg string, v any, format string, a ...any) *ArgError {
	return &ArgError{Func: fn, Arg: arg, Value: v, Reason: fmt.Sprintf(format, a...)}
}

// checkBeta returns nil for a finite β ≥ 0 and otherwise an *ArgError for
// fn that matches ErrInvalidBeta.
func checkBeta(fn string, beta float64) error {
	if !fmath.Finite(beta) || beta < 0 {
		return &ArgError{Func: fn, Arg: "Beta", Value: beta, Reason: "the inverse temperature must be a finite number ≥ 0", Err: ErrInvalidBeta}
	}
	return nil
}

// A ModelMismatchError is returned by SavedNet.Net and Load when the saved
// net was trained on a different Hamiltonian than the one given: another N,
// or other couplings or fields (compared by Hamiltonian.Hash).
type ModelMismatchError struct {
	// SavedN and SavedHash describe the model the net was saved with,
	// GivenN and GivenHash the one given.
	SavedN, GivenN       int
	SavedHash, GivenHash string
}

func (e *ModelMismatchError) Error() string {
	if e.SavedN != e.GivenN {
		return fmt.Sprintf("model: the saved net is for N = %d spins, the model given has N = %d", e.SavedN, e.GivenN)
	}
	return fmt.Sprintf("model: the saved net was trained on another model (couplings and fields hash %.12s…, the model given has %.12s…)", e.SavedHash, e.GivenHash)
}
