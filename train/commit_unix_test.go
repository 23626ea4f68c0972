//go:build unix

package train

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The commit of a save happens under an exclusive lock on the directory,
// which readers take shared, so a reader never sees files of two saves: in
// the middle of a commit the shared lock is not available, and a reader
// started then sees the new checkpoint whole.
func TestReadersWaitForCommit(t *testing.T) {
	spec := ckptSpec(t, 1)
	trainTo(t, spec, 2)
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st, _ := r.Trainer().State("byte", spec.Data)
	st.Step = 7
	loaded := make(chan error, 1)
	cw := checkpointWriter{rename: func(a, b string) error {
		if strings.HasSuffix(b, ModelFile) {
			// Mid-commit: model moved, state.json not yet.
			d, err := os.Open(spec.Dir)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := unix.Flock(int(d.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != unix.EWOULDBLOCK {
				t.Errorf("shared lock during a commit: %v, want EWOULDBLOCK", err)
			}
			go func() {
				rep, err := Verify(spec.Dir)
				if err == nil && rep.Step != 7 {
					err = fmt.Errorf("reader saw step %d", rep.Step)
				}
				loaded <- err
			}()
		}
		return os.Rename(a, b)
	}}
	if err := cw.save(spec.Dir, r.Model(), r.Trainer().Opt, st); err != nil {
		t.Fatal(err)
	}
	if err := <-loaded; err != nil {
		t.Fatalf("reader during a commit: %v", err)
	}
}
