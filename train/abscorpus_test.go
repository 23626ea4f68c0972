package train

import (
	"os"
	"path/filepath"
	"testing"
)

// A corpus named by a relative path is recorded absolute, so that the run
// resumes and evaluates from any working directory.
func TestAbsCorpus(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("corpus.txt", []byte("x"), 0o644)
	for spec, want := range map[string]string{
		"corpus.txt":   filepath.Join(dir, "corpus.txt"),
		".":            dir,
		"gostd":        "gostd",
		"english":      "english",
		"":             "",
		"missing.txt":  "missing.txt",
		"./corpus.txt": filepath.Join(dir, "corpus.txt"),
	} {
		if got := absCorpus(spec); got != want {
			t.Errorf("absCorpus(%q) = %q, want %q", spec, got, want)
		}
	}
}
