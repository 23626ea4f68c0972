package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/compare"
)

// runReport regenerates the comparison report (report.md, report.html and
// the figures) from a compare directory or from any set of run directories.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	out := fs.String("out", "", "directory for report.md, report.html and figures/ (default: the compare directory, when PATH is one; required otherwise)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mhc report [--out DIR] PATH...\n\nPATH is a compare directory (holding compare.json) or one or more run directories.")
		fs.PrintDefaults()
	}
	// Flags may come before or after the paths.
	var paths []string
	for rest := args; ; {
		if err := parse(fs, rest, true); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(paths) == 0 {
		return bad("no PATH: give a compare directory or run directories (mhc report -h)")
	}
	set, err := compare.Load(paths...)
	if err != nil {
		return badErr(err)
	}
	dir := *out
	if dir == "" {
		if set.Dir == "" {
			return bad("--out DIR is required when PATH is not a compare directory")
		}
		dir = set.Dir
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return bad("--out %s: not a directory", dir)
	}
	sum, err := compare.Report(dir, set)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s (%d figures in %s)\n\n", filepath.Join(dir, compare.HTMLFile), len(sum.Figures), filepath.Join(dir, compare.FiguresDir))
	return sum.WriteText(stdout)
}
