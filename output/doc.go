// Package output writes and reads the files of a run directory and draws
// the plots of one or several runs. The driver only wires these calls
// together: it checks the directory (CheckWritable) before training, appends
// one stats row per β (CreateStats, StatsWriter.Write), stores the overlap
// histogram of each β (WriteOverlaps), the samples (WriteNPYInt8 inside
// WriteFileAtomic) and the summary (WriteSummary), and draws the plots from
// what LoadRun reads back.
//
// Every file except stats.csv is written atomically: a temporary file in the
// same directory, fsynced, renamed over the target, directory fsynced. A
// reader (or a crash) therefore sees the old file or the new one, never half
// of one. stats.csv instead grows by one fsynced line per β, so that a crash
// loses no β already reported; ResumeStats truncates it to the rows a
// resumed run's checkpoint had finished.
//
// # File formats
//
// All CSV files are comma-separated with one header line, '\n' line ends,
// no quoting and no comment lines, so that pandas.read_csv and
// numpy.genfromtxt(..., delimiter=",", names=True) read them unchanged.
// Numbers are written in the shortest decimal form that parses back to the
// same float64; NaN and infinities as nan, inf and -inf.
//
// stats.csv, one row per β in the order the run visited them:
//
//	beta      inverse temperature β [1/J]
//	f         variational free energy per spin mean(L)/(βN) [J]
//	f_std     standard deviation of the per-sample free energy, std(L)/(βN) [J]
//	e         mean energy per spin <H>/N [J]
//	e_min     lowest sampled energy per spin [J]
//	s         entropy per spin -<ln q>/N [dimensionless]
//	m_abs     mean absolute magnetisation <|Σ_i x_i|>/N
//	steps     optimiser steps taken at this β (integer)
//	seconds   wall-clock time spent at this β [s]
//	f_exact   exact free energy per spin [J]            (only if the run has an exact reference)
//	rel_err   (f - f_exact) / |f_exact|, signed          (only with f_exact)
//
// overlaps_b<k>.csv, one per β, k its index in the schedule (PerBetaFile;
// its β is that of row k+1 of stats.csv), and overlaps.csv, a copy of the
// latest one:
// the overlap distribution P(q), q = (1/N) Σ_i x^a_i x^b_i over distinct
// sample pairs, as a density on equal bins of [-1, 1]:
//
//	q_low,q_high,density
//
// samples.npy: NumPy format 1.0, dtype int8 ('|i1'), C order, shape
// (samples, N), spins ±1; numpy.load reads it.
//
// summary.json: one indented JSON object with the run's configuration,
// versions and final figures. Its "label" (or else "arch") string names the
// run in plots.
//
// Plots, each as PNG and SVG: the free energy f against β with, in a second
// panel on a log axis, the relative error against the exact value (or the
// per-sample standard deviation when there is none); and the overlap
// distribution P(q) at one β.
package output
