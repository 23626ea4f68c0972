//go:build linux

package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of the given size (mount(8) syntax, "700k") on
// a fresh directory, or skips the test where mounting is not allowed (not
// root, no CAP_SYS_ADMIN, not Linux).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func remount(t *testing.T, dir string, flags uintptr, data string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT|flags, data); err != nil {
		t.Fatalf("remount %s %s: %v", dir, data, err)
	}
}

// On a real full file system (a small tmpfs): the save that does not fit
// stops training with one line naming the cause and the step kept, the
// previous checkpoint stays complete and verifies, and once there is room
// the run resumes from it to the same bytes as a run that never hit the
// full disk.
func TestDiskFull(t *testing.T) {
	ref := ckptSpec(t, 1)
	ref.Options.CkptEvery = 2
	trainTo(t, ref, 8)
	want := readAll(t, ref.Dir)
	size := 0
	for _, b := range want {
		size += len(b)
	}

	// Room for one checkpoint (and the metrics), not for a second one
	// staged next to it.
	mnt := mountTmpfs(t, fmt.Sprintf("%dk", size*3/2/1024))
	spec := ref
	spec.Dir = filepath.Join(mnt, "run")
	r, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Train(context.Background(), Hooks{})
	r.Close()
	msg := fmtErr(err)
	if !errors.Is(err, syscall.ENOSPC) || strings.Contains(msg, "\n") ||
		!strings.Contains(msg, "step 4 not saved") || !strings.Contains(msg, "no space left on device") ||
		!strings.Contains(msg, "the previous checkpoint, step 2, is unchanged") {
		t.Fatalf("training into a full disk: %q", msg)
	}
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != 2 {
		t.Fatalf("after the failed save: %+v, %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(spec.Dir, StagingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed save left its staging directory: %v", err)
	}

	remount(t, mnt, 0, "size=8m")
	r, err = Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	got := readAll(t, spec.Dir)
	for _, name := range []string{ModelFile, OptimizerFile} {
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s after the full disk and a resume differs from the uninterrupted run's", name)
		}
	}
}

// On a read-only file system the save fails before writing anything and the
// checkpoint on disk stays as it was.
func TestReadOnlyDirectory(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	spec := ckptSpec(t, 1)
	spec.Dir = filepath.Join(mnt, "run")
	trainTo(t, spec, 2)
	before := readAll(t, spec.Dir)
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.TrainSteps(context.Background(), 1, Hooks{}); err != nil {
		t.Fatal(err)
	}
	r.Close()                     // no file open for writing, so that the file system can turn read-only
	writeAll(t, spec.Dir, before) // the step-2 checkpoint; the run is at step 3
	st, err := r.Trainer().State("byte", spec.Data)
	if err != nil {
		t.Fatal(err)
	}
	save := func() error { return SaveCheckpoint(spec.Dir, r.Model(), r.Trainer().Opt, st) }

	remount(t, mnt, unix.MS_RDONLY, "")
	err = save()
	msg := fmtErr(err)
	if !errors.Is(err, syscall.EROFS) || strings.Contains(msg, "\n") ||
		!strings.Contains(msg, "step 3 not saved") || !strings.Contains(msg, "the previous checkpoint, step 2, is unchanged") {
		t.Fatalf("save into a read-only directory: %q", msg)
	}
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != 2 {
		t.Fatalf("read-only, after the failed save: %+v, %v", rep, err)
	}
	remount(t, mnt, 0, "")
	if err := save(); err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != 3 {
		t.Fatalf("writable again: %+v, %v", rep, err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
