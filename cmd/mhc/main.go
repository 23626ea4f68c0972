// Command mhc trains, samples, evaluates and benchmarks decoder-only
// transformers with a plain residual, Hyper-Connections (HC) or
// Manifold-Constrained Hyper-Connections (mHC), on the CPU, in pure Go.
//
// Usage:
//
//	mhc train  [--preset tiny|small|base] [--steps N] [--data gostd|english|PATH] [--out DIR] [--resume DIR] ...
//	mhc sample --checkpoint DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S] [--no-cache]
//	mhc eval   --checkpoint DIR [--data PATH]
//	mhc bench  [gemm|train|all] [--preset LIST] [--conn LIST] [--json]
//	mhc gains  --checkpoint DIR [--layers 1,mid,last] [--out DIR] [--json]
//	mhc verify DIR
//	mhc upcycle --from DIR --conn mhc|hc|mhc-lite [--streams N] [--contract mean|learned] [--init split|symmetric|noise] --out DIR2
//	mhc plan   [--config 3b|9b|27b|tiny|small|base|FILE|DIR] [--conn C] [--streams N] [--device h200|cpu] [--pp-stages S] [--json]
//	mhc data   fetch english [--force] [--via auto|http|npm] | info
//	mhc version
//
// Run `mhc COMMAND -h` for every flag. Bad input prints one line naming the
// problem and exits with status 2.
//
// Fetched corpora and token caches live in a per-user cache directory, so
// every command works from any directory: $MHC_CACHE, else the "mhc"
// directory in the user cache directory (~/.cache/mhc on Linux); see
// data.CacheDir.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// usageError marks bad input: reported in one line, exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func bad(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// badErr wraps an error caused by user input.
func badErr(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

var commands = []struct {
	name, help string
	run        func(args []string, stdout, stderr io.Writer) error
}{
	{"train", "train a model (default: tiny preset on the Go standard library sources)", runTrain},
	{"sample", "generate text from a checkpoint", runSample},
	{"eval", "loss (nats/token) and bits/byte of a checkpoint on a corpus", runEval},
	{"bench", "GEMM GFLOP/s and training tokens/s", runBench},
	{"gains", "Amax gains and H_res heatmaps of an hc/mhc checkpoint (gains.png, hres.png)", runGains},
	{"verify", "check a checkpoint's checksums and consistency without loading a model", runVerify},
	{"data", "fetch the english corpus into the per-user cache (data fetch english); show the cache (data info)", runData},
	{"version", "module version, Go version and kernel path", runVersion},
	{"upcycle", "convert a residual checkpoint into an hc/mhc/mhc-lite run with the same function", runUpcycle},
	{"compare", "train a grid of variants × seeds (residual, hc, mhc, ablations, inits, depths) and report loss, gains and cost with error bars", runCompare},
	{"report", "the report (report.md, report.html, figures) of a compare directory or of any run directories", runReport},
	{"plan", "what a model costs with residual/HC/mHC at scale: parameters, I/O, memory, FLOPs, roofline step time", runPlan},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mhc COMMAND [flags]   (mhc COMMAND -h for flags)")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.help)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errInterrupted):
			fmt.Fprintln(stderr, "mhc:", err)
			return 130
		}
		fmt.Fprintln(stderr, "mhc "+c.name+":", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stderr, "mhc: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

var errInterrupted = errors.New("interrupted; checkpoint saved")

// newFlags returns a FlagSet whose parse errors are one line and exit 2, and
// whose -h output goes to stderr (the injected writer).
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mhc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, turning flag errors into usage errors and refusing
// positional arguments unless allowed.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // parse errors become one line, not the usage text
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return bad("%v", err)
	}
	if !positional && fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// flagErr marks an error from the library as bad input and, when it names a
// configuration field (config.json or options name) that a flag of fs sets,
// puts that flag in front: "--d-model: model: d_model 130 is not ...".
func flagErr(fs *flag.FlagSet, err error) error {
	if err == nil {
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	var field string
	var me *model.FieldError
	var he *hyper.FieldError
	var te *train.FieldError
	switch {
	case errors.As(err, &me):
		field = me.Field
	case errors.As(err, &he):
		field = he.Field
	case errors.As(err, &te):
		field = te.Field
	}
	name, ok := fieldFlags[field]
	if !ok {
		name = strings.ReplaceAll(field, "_", "-")
	}
	if field != "" && fs.Lookup(name) != nil {
		return bad("--%s: %w", name, err)
	}
	return badErr(err)
}

// fieldFlags maps configuration fields to flags where the names differ.
var fieldFlags = map[string]string{"vocab_size": "tokenizer", "n_layers": "layers", "n_heads": "heads", "seq_len": "seq"}
