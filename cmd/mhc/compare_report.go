package main

import (
	"fmt"
	"io"

	"github.com/mhc-go/mhc/compare"
)

// reportCompare writes the report of the compare in dir and prints its table.
func reportCompare(stdout io.Writer, dir string) error {
	set, err := compare.Load(dir)
	if err != nil {
		return err
	}
	sum, err := compare.Report(dir, set)
	if err != nil {
		return err
	}
	if err := sum.WriteText(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s/%s (and %s, figures in %s/)\n", dir, compare.HTMLFile, compare.MarkdownFile, compare.FiguresDir)
	return nil
}
