package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mhc-go/mhc/train"
)

// runVerify checks a checkpoint's integrity without loading a model (see
// train.Verify): "DIR: OK ..." on stdout and exit 0, or one line naming the
// damaged or mismatched file (and tensor) and exit 2.
func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage of mhc verify: mhc verify DIR")
		fmt.Fprintln(fs.Output(), "  checks every checksum, the step of every file and the tensors' count and shapes of the checkpoint in DIR")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return bad("want one checkpoint directory, got %d arguments", fs.NArg())
	}
	rep, err := train.Verify(fs.Arg(0))
	if err != nil {
		return badErr(err)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(stderr, "mhc verify: note:", n)
	}
	var files []string
	all := true
	for _, f := range rep.Files {
		s := f.Name
		if f.Tensors > 0 {
			s += fmt.Sprintf(" (%d tensors)", f.Tensors)
		}
		files = append(files, s)
		all = all && f.Checksummed
	}
	step := "no state.json"
	if rep.Step >= 0 {
		step = fmt.Sprintf("step %d, format %d", rep.Step, rep.Format)
	}
	sums := "every CRC-32C checksum matches"
	if !all {
		sums = "not every file has checksums (see the notes)"
	}
	fmt.Fprintf(stdout, "%s: OK: %s, %s parameters; %s; %s\n", rep.Dir, step, fmtParams(rep.Params), strings.Join(files, ", "), sums)
	return nil
}

// fmtParams renders a parameter count as "919936" or "25.5 M".
func fmtParams(n int64) string {
	if n < 1e6 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%.2f M", float64(n)/1e6)
}

// noteUnverified tells, on one line, that a checkpoint was loaded without
// checksums to verify it against (format 1, from an older mhc).
func noteUnverified(stderr io.Writer, ck *train.Checkpoint) {
	if !ck.State.Checksummed() {
		fmt.Fprintf(stderr, "mhc: note: checkpoint %s has no checksums (format %d, from an older mhc): loaded unverified\n", ck.Dir, ck.State.Format)
	}
}
