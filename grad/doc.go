// Package grad trains the networks of package model: the REINFORCE
// estimator of the gradient of the variational free energy (SPEC §4), the
// likelihood gradient for learning from data (SPEC §5), the Adam and SGD
// optimisers on flat parameter slices, the annealing Trainer, and training
// checkpoints (WriteCheckpoint, ReadCheckpoint: a saved net followed by the
// trainer's position and optimiser state).
//
// Networks are seen only through model.Net and its workers. Every estimator
// draws sample b of a step from its own random stream
// model.SampleRNG(seed, step, b), hands chunks of consecutive samples to its
// goroutines, sums each chunk's gradient contributions in sample order, and
// adds the chunks in chunk order. Within a chunk:
//
//   - a model.Worker draws one sample and runs its backward pass at once,
//     from the activations it kept;
//   - a model.BlockWorker (sk_krsb) draws a lockstep block of samples
//     conditional by conditional, so that each conditional's parameter and
//     gradient rows are fetched once per block, keeping the block's
//     activations, and adds the block's gradients at once (BackwardBlock).
//     The block is the largest that lets the parameters, the accumulators
//     and the activations of every goroutine stay in the last-level cache;
//   - when not even one sample's activations fit there (sk_krsb at large N),
//     a model.GradWorker keeps nothing: Reinforce draws the whole batch,
//     then re-runs every sample with GradBlock, which adds each
//     conditional's gradient right after evaluating it — a second forward
//     pass instead of activations streamed through DRAM.
//
// In one pass REINFORCE's coefficient L_b - L̄ is not known while the
// batch is drawn, so the gradient is formed from two accumulators,
// Σ (L_b - shift) ∇ln q and Σ ∇ln q (SPEC §4; see Reinforce).
//
// Results are bit-for-bit identical for any number of goroutines and any
// block size (the form, which changes rounding, is chosen from the machine,
// not from the number of goroutines). Gradient memory is O(workers ×
// parameters) whatever the batch size (only the batch's spins, ln q and
// energies grow with it), and a training step allocates nothing after the
// first.
//
// Trainer.Train takes a context: cancelling it stops training between two
// steps, at a position that State, WriteCheckpoint and a later Train
// continue from exactly.
package grad
