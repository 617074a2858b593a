// Package grad trains the networks of package model: the REINFORCE
// estimator of the gradient of the variational free energy (SPEC §4), the
// likelihood gradient for learning from data (SPEC §5), the Adam and SGD
// optimisers on flat parameter slices, and the annealing Trainer.
//
// Networks are seen only through model.Net and model.Worker. Every
// estimator draws sample b of a step from its own random stream
// model.SampleRNG(seed, step, b), runs the sample's backward pass while its
// activations are still in the worker, sums gradients per fixed-size chunk
// of consecutive samples and adds the chunks in order. Results are therefore
// bit-for-bit identical for any number of goroutines, gradient memory is
// O(workers × parameters) whatever the batch size (only the batch's spins,
// ln q and energies grow with it), and a training step allocates nothing
// after the first.
package grad
