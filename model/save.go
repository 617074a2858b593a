package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/internal/netfile"
)

// Hash returns the hexadecimal SHA-256 of N, the couplings J (row-major)
// and the fields h, as little-endian 64-bit words (N, then the IEEE-754
// bits of each value): two models have the same hash exactly when they are
// the same Hamiltonian to the bit. Save records it, and Load refuses a net
// saved with another model.
func (m *Hamiltonian) Hash() string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(m.N))
	h.Write(b[:])
	for _, vs := range [][]float64{m.J, m.H} {
		for _, v := range vs {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Net file format. A saved net is two .npy arrays one after the other (so
// numpy reads it with two numpy.load calls on one open file, see the
// README):
//
//  1. a 1-D uint8 array holding a JSON object, the header (netHeader): the
//     format name and version, the architecture, N, the options that define
//     the net, β, the model's Hash and Source, the number of parameters and
//     their SHA-256;
//  2. a 1-D little-endian float64 array of the parameters, in the layout
//     the architecture documents (empty for the analytic nets).
//
// Nothing follows; a caller may write more after it (a training checkpoint
// does), and Load reads exactly the net's bytes.
const (
	netFormat  = "h2arnn net"
	netVersion = 1
)

// netHeader is the JSON header of a net file.
type netHeader struct {
	Format  string      `json:"format"`
	Version int         `json:"version"`
	Arch    string      `json:"arch"`
	N       int         `json:"n"`
	Options ArchOptions `json:"options"`
	Beta    float64     `json:"beta"`
	// ModelSHA256 is Hamiltonian.Hash of the model, ModelSource its Source
	// (for people: it is not checked).
	ModelSHA256 string `json:"model_sha256"`
	ModelSource string `json:"model_source"`
	// Params is the number of parameters and ParamsSHA256 their
	// netfile.Checksum.
	Params       int    `json:"params"`
	ParamsSHA256 string `json:"params_sha256"`
}

// A NetFileError is a net file (or the net at the start of a checkpoint)
// that cannot be read: not a net file, truncated, another format version,
// a checksum that does not match, or a value outside its domain.
type NetFileError struct {
	Reason string
	// Err is the underlying error, if any (an I/O error, for instance).
	Err error
}

func (e *NetFileError) Error() string {
	if e.Err != nil {
		return "model: net file: " + e.Reason + ": " + e.Err.Error()
	}
	return "model: net file: " + e.Reason
}

func (e *NetFileError) Unwrap() error { return e.Err }

// netOptions is implemented by the architectures of this package: the
// options that define the net (those it was built with that matter), for
// Save.
type netOptions interface {
	options() ArchOptions
}

// Save writes net to w in the net file format (see the README for reading
// it with numpy): its architecture, N, the options that define it, its
// current β (Beta), the hash of its model (Hamiltonian.Hash) and its
// parameters, exactly (float64 bits). Load rebuilds the same net, bit for
// bit. Only the architectures of this package, with finite parameters, can
// be saved.
func Save(w io.Writer, net Net) error {
	no, ok := net.(netOptions)
	if !ok {
		return fmt.Errorf("model: Save: architecture %q is not one of this package's; it cannot be saved", net.Arch())
	}
	p := net.Params()
	if i := slices.IndexFunc(p, func(v float64) bool { return !fmath.Finite(v) }); i >= 0 {
		return fmt.Errorf("model: Save: parameter %d is %v; only a net with finite parameters can be saved", i, p[i])
	}
	m := net.Model()
	h := netHeader{
		Format: netFormat, Version: netVersion, Arch: net.Arch(), N: net.Size(), Options: no.options(),
		Beta: net.Beta(), ModelSHA256: m.Hash(), ModelSource: m.Source, Params: len(p), ParamsSHA256: netfile.Checksum(p),
	}
	if err := netfile.WriteJSON(w, h); err != nil {
		return fmt.Errorf("model: Save: %w", err)
	}
	if err := netfile.WriteFloats(w, p); err != nil {
		return fmt.Errorf("model: Save: %w", err)
	}
	return nil
}

// SavedNet is a net file read without its model: what the net is, and its
// parameters. Net rebuilds the net on its model.
type SavedNet struct {
	// Arch and N are the architecture and the number of spins.
	Arch string
	N    int
	// Options are the options that define the net (as NewNet takes them).
	Options ArchOptions
	// Beta is the net's β when it was saved (the β it was last trained
	// at, for trainable nets).
	Beta float64
	// ModelHash is Hamiltonian.Hash of the model the net was saved with,
	// and ModelSource that model's Source.
	ModelHash, ModelSource string
	// Params are the parameters (nil for the analytic nets).
	Params []float64
}

// ReadNet reads a net written by Save from r, reading exactly its bytes
// (whatever follows in r is left there). Every problem with the file is a
// *NetFileError.
func ReadNet(r io.Reader) (*SavedNet, error) {
	var h netHeader
	if err := netfile.ReadJSON(r, &h, "header"); err != nil {
		return nil, &NetFileError{Reason: "not a net file, or a damaged one", Err: err}
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	p, err := netfile.ReadFloats(r, h.Params, "parameters")
	if err != nil {
		return nil, &NetFileError{Reason: "truncated or damaged parameters", Err: err}
	}
	if sum := netfile.Checksum(p); sum != h.ParamsSHA256 {
		return nil, &NetFileError{Reason: fmt.Sprintf("the parameters do not match their checksum (SHA-256 %.12s…, the header says %.12s…): the file is damaged", sum, h.ParamsSHA256)}
	}
	if i := slices.IndexFunc(p, func(v float64) bool { return !fmath.Finite(v) }); i >= 0 {
		return nil, &NetFileError{Reason: fmt.Sprintf("parameter %d is %v; a saved net holds finite parameters", i, p[i])}
	}
	if len(p) == 0 {
		p = nil
	}
	return &SavedNet{Arch: h.Arch, N: h.N, Options: h.Options, Beta: h.Beta, ModelHash: h.ModelSHA256, ModelSource: h.ModelSource, Params: p}, nil
}

// validate checks the header's values before the parameters are read.
func (h *netHeader) validate() error {
	bad := func(format string, a ...any) error { return &NetFileError{Reason: fmt.Sprintf(format, a...)} }
	switch {
	case h.Format != netFormat:
		return bad("format %q, want %q: not a net file", h.Format, netFormat)
	case h.Version != netVersion:
		return bad("format version %d; this version of h2arnn reads version %d", h.Version, netVersion)
	case !slices.Contains(Archs(), h.Arch):
		return bad("unknown architecture %q", h.Arch)
	case h.N < 1 || h.N > MaxSpins:
		return bad("N = %d is outside [1, %d]", h.N, MaxSpins)
	case h.Params < 0:
		return bad("a negative number of parameters, %d", h.Params)
	case !fmath.Finite(h.Beta) || h.Beta < 0:
		return bad("β = %v is not a finite number ≥ 0", h.Beta)
	case len(h.ModelSHA256) != 2*sha256.Size || len(h.ParamsSHA256) != 2*sha256.Size:
		return bad("the model or parameter checksum is not a SHA-256")
	}
	return nil
}

// Net rebuilds the saved net on model m, which must be the model it was
// saved with (same N, couplings and fields to the bit, compared by
// Hamiltonian.Hash): otherwise it returns a *ModelMismatchError. The net
// has the saved parameters and β, bit for bit.
func (s *SavedNet) Net(m *Hamiltonian) (Net, error) {
	if m == nil {
		return nil, argErr("SavedNet.Net", "Model", nil, "no model given")
	}
	if hash := m.Hash(); m.N != s.N || hash != s.ModelHash {
		return nil, &ModelMismatchError{SavedN: s.N, GivenN: m.N, SavedHash: s.ModelHash, GivenHash: hash}
	}
	net, err := NewNet(s.Arch, m, s.Options)
	if err != nil {
		return nil, &NetFileError{Reason: fmt.Sprintf("the saved options of %s do not build a net", s.Arch), Err: err}
	}
	if len(net.Params()) != len(s.Params) {
		return nil, &NetFileError{Reason: fmt.Sprintf("%d parameters saved, %s with these options has %d", len(s.Params), s.Arch, len(net.Params()))}
	}
	copy(net.Params(), s.Params)
	net.SetBeta(s.Beta)
	return net, nil
}

// Load reads a net written by Save from r (exactly its bytes) and rebuilds
// it on model m: ReadNet, then SavedNet.Net. A model other than the one the
// net was saved with gives a *ModelMismatchError; a file that is not a
// readable net file, a *NetFileError.
func Load(r io.Reader, m *Hamiltonian) (Net, error) {
	s, err := ReadNet(r)
	if err != nil {
		return nil, err
	}
	return s.Net(m)
}
