// Package grad trains the networks of package model: the REINFORCE
// estimator of the gradient of the variational free energy (SPEC §4), the
// likelihood gradient for learning from data (SPEC §5), the Adam and SGD
// optimisers on flat parameter slices, the annealing Trainer, and training
// checkpoints (WriteCheckpoint, ReadCheckpoint: a saved net followed by the
// trainer's position and optimiser state).
//
// Networks are seen only through model.Net and model.Worker. Every
// estimator draws sample b of a step from its own random stream
// model.SampleRNG(seed, step, b), sums gradients per fixed-size chunk of
// consecutive samples and adds the chunks in order. A sample's backward
// pass either runs right after it is drawn, while its activations are
// still in the worker (one pass), or — for networks whose kept activations
// would not fit in cache (model.GradWorker, sk_krsb at large N) — the batch
// is drawn first and every sample re-run with its coefficient known (two
// passes); see Reinforce. Results are bit-for-bit identical for any number
// of goroutines, gradient memory is O(workers × parameters) whatever the
// batch size (only the batch's spins, ln q and energies grow with it), and
// a training step allocates nothing after the first.
//
// Trainer.Train takes a context: cancelling it stops training between two
// steps, at a position that State, WriteCheckpoint and a later Train
// continue from exactly.
package grad
