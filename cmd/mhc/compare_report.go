package main

import "io"

// reportCompare writes the report of the compare in dir and prints its table.
func reportCompare(stdout io.Writer, dir string) error {
	return nil
}
