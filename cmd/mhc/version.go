package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/mhc-go/mhc/kernels"
)

// runVersion prints the module version ("(devel)" when built from a
// checkout), the VCS revision if the binary records one, the Go version and
// platform, and the kernel paths in use.
func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionText())
	return nil
}

// versionText is what `mhc version` prints.
func versionText() string {
	mod, version := "github.com/mhc-go/mhc", "unknown"
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			mod = bi.Main.Path
		}
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
	}
	s := fmt.Sprintf("mhc     %s\nmodule  %s\n", version, mod)
	if rev != "" {
		s += fmt.Sprintf("commit  %s%s\n", rev, modified)
	}
	s += fmt.Sprintf("go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	s += fmt.Sprintf("kernels %s (GEMM), %s (vector kernels)", kernels.Path(), kernels.VectorPath())
	return s
}
