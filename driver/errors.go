package driver

import (
	"errors"
	"fmt"
	"slices"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// argFlags maps the library's names of arguments (model.ArgError.Arg,
// grad.ConfigError.Field) to the flags that set them.
var argFlags = map[string]string{
	// model
	"N": "-n", "L": "-L", "J": "-J", "H": "-field", "Beta": "-beta", "K": "-k", "Depth": "-depth", "Width": "-width",
	"Model": "-model", "Arch": "-arch",
	// grad.Config
	"BetaStart": "-beta-range", "BetaEnd": "-beta-range", "BetaCount": "-beta-range", "Betas": "-beta-range",
	"InitSteps": "-init-steps", "MaxStep": "-max-step", "Batch": "-batch", "LR": "-lr", "StdLimit": "-std-limit",
	"StatsBatches": "-stats-batches", "EvalSamples": "-eval-samples", "Workers": "-workers",
}

// asUsage marks err (from the library: model constructors, file readers,
// the trainer's configuration) as the user's to fix, keeping it in the chain
// so that errors.Is and errors.As see the library's error through it. An
// argument error is said in terms of the flag that set the argument.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	var ae *model.ArgError
	if errors.As(err, &ae) {
		msg := ae.Reason
		if f, ok := argFlags[ae.Arg]; ok && ae.Value != nil {
			msg = fmt.Sprintf("%s %v: %s", f, ae.Value, ae.Reason)
		}
		if slices.Contains(model.Archs(), ae.Func) {
			msg = "-arch " + ae.Func + ": " + msg
		}
		return &usageError{msg: msg, err: err}
	}
	var ce *grad.ConfigError
	if errors.As(err, &ce) {
		msg := ce.Reason
		if f, ok := argFlags[ce.Field]; ok {
			msg = fmt.Sprintf("%s %v: %s", f, ce.Value, ce.Reason)
		}
		return &usageError{msg: msg, err: err}
	}
	return &usageError{msg: err.Error(), err: err}
}
