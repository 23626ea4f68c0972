//go:build linux

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Training into a file system that fills up: the save that does not fit
// stops training with exit status 1 and one line naming the cause and the
// step kept; that checkpoint verifies, and the run resumes once there is
// room.
func TestTrainDiskFull(t *testing.T) {
	t.Setenv("MHC_CACHE", t.TempDir())
	mnt := t.TempDir()
	// Room for one checkpoint of the tiny run (about 400 KB), not for a
	// second one staged next to it.
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=600k,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	run := filepath.Join(mnt, "run")
	args := append([]string{"train", "--data", ckptCorpus(t, t.TempDir()), "--out", run, "--steps", "8", "--ckpt-every", "2"}, ckptArgs...)
	code, _, stderr := runCLI(args...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "mhc train: checkpoint "+run+": step 4 not saved") ||
		!strings.Contains(last, "no space left on device") || !strings.HasSuffix(last, "the previous checkpoint, step 2, is unchanged") {
		t.Fatalf("training into a full disk: exit %d, last line %q", code, last)
	}
	if code, stdout, stderr := runCLI("verify", run); code != 0 || !strings.Contains(stdout, "OK: step 2") {
		t.Fatalf("verify after the failed save: exit %d, %q %q", code, stdout, stderr)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_REMOUNT, "size=4m"); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI("train", "--resume", run, "--no-progress", "--sample-tokens", "0"); code != 0 {
		t.Fatalf("resume with room: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := runCLI("verify", run); code != 0 || !strings.Contains(stdout, "OK: step 8") {
		t.Fatalf("verify at the end: exit %d, %q", code, stdout)
	}
}
