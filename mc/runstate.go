package mc

import (
	"errors"
	"fmt"
	"math"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/model"
)

// RunState is everything a Run needs to continue exactly where it was: the
// configuration, and for every chain its sweep count, its kept samples and,
// for every replica, the spins, the incrementally kept local fields and
// energy (as they are, rounding included, so that no recomputation changes
// a later acceptance decision), the random stream's position and the
// acceptance counters. It encodes to JSON exactly (encoding/json writes
// float64 in the shortest form that parses back to the same bits; byte
// slices as base64).
type RunState struct {
	N      int          `json:"n"`
	Config RunConfig    `json:"config"`
	Chains []ChainState `json:"chains"`
}

// ChainState is one chain of a RunState.
type ChainState struct {
	Sweeps int64 `json:"sweeps"`
	// Samples holds the kept rows of N spins, packed: spin k of the rows
	// laid end to end is bit k%8 of byte k/8, set for +1 (unused high bits
	// of the last byte are zero). An eighth of the int8 size keeps
	// checkpoints of long runs small.
	Samples  []byte         `json:"samples"`
	Replicas []ReplicaState `json:"replicas"`
	// SwapRNG is the exchange stream's PCG state (MarshalBinary); SwapTried
	// and SwapAccepted the exchange counters per neighbouring pair. All
	// empty without tempering.
	SwapRNG      []byte  `json:"swap_rng,omitempty"`
	SwapTried    []int64 `json:"swap_tried,omitempty"`
	SwapAccepted []int64 `json:"swap_accepted,omitempty"`
}

// ReplicaState is one replica (slot) of a chain.
type ReplicaState struct {
	Spins     []byte    `json:"spins"` // two's complement int8 ±1
	Fields    []float64 `json:"fields"`
	Energy    float64   `json:"energy"`
	RNG       []byte    `json:"rng"` // PCG MarshalBinary
	Attempted int64     `json:"attempted"`
	Accepted  int64     `json:"accepted"`
}

// State returns a deep copy of the run's position. Call it only while
// Advance is not running.
func (r *Run) State() (*RunState, error) {
	n := r.m.N
	st := &RunState{N: n, Config: r.Config()}
	for _, ch := range r.chains {
		cs := ChainState{Sweeps: ch.sweeps.Load(), Samples: packSpins(ch.rows[:ch.kept*n])}
		for k, c := range ch.reps {
			rs := ReplicaState{Spins: make([]byte, n), Fields: append([]float64(nil), c.phi...), Energy: c.e}
			for i, v := range c.x {
				rs.Spins[i] = byte(int8(v))
			}
			var err error
			if rs.RNG, err = ch.srcs[k].MarshalBinary(); err != nil {
				return nil, err
			}
			rs.Attempted, rs.Accepted = c.Acceptance()
			cs.Replicas = append(cs.Replicas, rs)
		}
		if ch.pt != nil {
			var err error
			if cs.SwapRNG, err = ch.swapSrc.MarshalBinary(); err != nil {
				return nil, err
			}
			cs.SwapTried, cs.SwapAccepted = ch.pt.SwapRates()
		}
		st.Chains = append(st.Chains, cs)
	}
	return st, nil
}

// ErrRunState is wrapped by the errors of a RunState that does not fit the
// model or is inconsistent.
var ErrRunState = errors.New("mc: saved run state does not fit")

// RestoreRun rebuilds a Run on m from a State. The state must come from a
// run on the same model (the caller checks that, e.g. by a hash of the
// couplings); its own consistency is checked here.
func RestoreRun(m *model.Hamiltonian, st *RunState) (*Run, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrRunState, fmt.Sprintf(format, a...))
	}
	if st == nil || m == nil {
		return nil, bad("nothing to restore")
	}
	if st.N != m.N {
		return nil, bad("state of %d spins for a model of %d", st.N, m.N)
	}
	r, err := NewRun(m, st.Config)
	if err != nil {
		return nil, err
	}
	if len(st.Chains) != len(r.chains) {
		return nil, bad("%d chains saved, the configuration has %d", len(st.Chains), len(r.chains))
	}
	n := m.N
	for c, cs := range st.Chains {
		ch := r.chains[c]
		if cs.Sweeps < 0 || cs.Sweeps > r.cfg.TotalSweeps(c) {
			return nil, bad("chain %d: %d sweeps done of %d", c, cs.Sweeps, r.cfg.TotalSweeps(c))
		}
		kept := 0
		if s := cs.Sweeps - int64(r.cfg.BurnIn); s > 0 {
			kept = int(s / int64(r.cfg.Sweeps))
		}
		if err := unpackSpins(ch.rows[:kept*n], cs.Samples); err != nil {
			return nil, bad("chain %d: %d sweeps mean %d samples of %d spins: %v", c, cs.Sweeps, kept, n, err)
		}
		if len(cs.Replicas) != len(ch.reps) {
			return nil, bad("chain %d: %d replicas saved, the ladder has %d", c, len(cs.Replicas), len(ch.reps))
		}
		ch.kept = kept
		for k := range kept {
			row := ch.rows[k*n : (k+1)*n]
			x := make([]float64, n)
			mag := 0
			for i, v := range row {
				x[i] = float64(v)
				mag += int(v)
			}
			// The same expressions keep uses: Energy of the resynced
			// configuration and |Σx|, so restored series are bit-identical.
			ch.e = append(ch.e, m.Energy(x)/float64(n))
			ch.mAbs = append(ch.mAbs, math.Abs(float64(mag))/float64(n))
		}
		ch.sweeps.Store(cs.Sweeps)
		for k, rs := range cs.Replicas {
			if err := ch.reps[k].restore(rs); err != nil {
				return nil, bad("chain %d replica %d: %v", c, k, err)
			}
			if err := ch.srcs[k].UnmarshalBinary(rs.RNG); err != nil {
				return nil, bad("chain %d replica %d: random stream: %v", c, k, err)
			}
		}
		if ch.pt == nil {
			if cs.SwapRNG != nil || cs.SwapTried != nil || cs.SwapAccepted != nil {
				return nil, bad("chain %d: exchange state saved for a run without tempering", c)
			}
			continue
		}
		if err := ch.swapSrc.UnmarshalBinary(cs.SwapRNG); err != nil {
			return nil, bad("chain %d: exchange stream: %v", c, err)
		}
		if err := ch.pt.SetSwapCounts(cs.SwapTried, cs.SwapAccepted); err != nil {
			return nil, bad("chain %d: %v", c, err)
		}
		ch.pt.SetSweeps(cs.Sweeps)
	}
	return r, nil
}

// restore sets the chain's spins, fields, energy and counters from a saved
// replica, keeping the saved fields and energy bit for bit.
func (c *Chain) restore(rs ReplicaState) error {
	n := len(c.x)
	if len(rs.Spins) != n || len(rs.Fields) != n {
		return fmt.Errorf("%d spins and %d fields saved for %d spins", len(rs.Spins), len(rs.Fields), n)
	}
	for i, v := range rs.Spins {
		switch v {
		case 1:
			c.x[i] = 1
		case 255:
			c.x[i] = -1
		default:
			return fmt.Errorf("spin %d is %d, not ±1", i, int8(v))
		}
	}
	for i, v := range rs.Fields {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("local field %d is %v", i, v)
		}
	}
	if math.IsNaN(rs.Energy) || math.IsInf(rs.Energy, 0) {
		return fmt.Errorf("energy is %v", rs.Energy)
	}
	if rs.Attempted < 0 || rs.Accepted < 0 || rs.Accepted > rs.Attempted {
		return fmt.Errorf("acceptance counters %d of %d", rs.Accepted, rs.Attempted)
	}
	// The saved fields and energy carry the rounding of incremental
	// updates, so they differ from a recomputation only in the last bits;
	// anything more means the state does not belong to these spins.
	m := c.m
	for i, v := range rs.Fields {
		want := m.H[i] + h2arnn.Dot(m.Row(i), c.x)
		if math.Abs(v-want) > 1e-6*(1+math.Abs(want)) {
			return fmt.Errorf("local field %d is %v, the spins give %v", i, v, want)
		}
	}
	if want := m.Energy(c.x); math.Abs(rs.Energy-want) > 1e-6*(1+math.Abs(want)) {
		return fmt.Errorf("energy %v, the spins give %v", rs.Energy, want)
	}
	copy(c.phi, rs.Fields)
	c.e = rs.Energy
	c.attempted, c.accepted = rs.Attempted, rs.Accepted
	return nil
}

// packSpins packs ±1 spins into bits (see ChainState.Samples).
func packSpins(x []int8) []byte {
	out := make([]byte, (len(x)+7)/8)
	for k, v := range x {
		if v > 0 {
			out[k/8] |= 1 << (k % 8)
		}
	}
	return out
}

// unpackSpins fills dst with the spins packed in b, which must hold
// exactly len(dst) of them.
func unpackSpins(dst []int8, b []byte) error {
	if len(b) != (len(dst)+7)/8 {
		return fmt.Errorf("%d bytes of packed spins, want %d", len(b), (len(dst)+7)/8)
	}
	if r := len(dst) % 8; r != 0 && b[len(b)-1]>>r != 0 {
		return errors.New("packed spins have bits set after the last spin")
	}
	for k := range dst {
		dst[k] = int8(2*(b[k/8]>>(k%8)&1)) - 1
	}
	return nil
}
