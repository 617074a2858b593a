package main

import "errors"

// Temporary: train is wired once grad.Trainer exists.
var errPending = errors.New("not wired yet")

func runTrain(args []string, e *env) error { return errPending }
